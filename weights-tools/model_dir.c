/* File helpers for writing model directories (see model_dir.h). */
#include "model_dir.h"

#include "array_grow.h"
#include "cli.h"
#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p */
static cnn_status_t make_dirs(const char *dir, cnn_error_t *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "path too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return cnn_error_set(err, CNN_E_IO, "cannot create %s: %s", path, strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cnn_error_set(err, CNN_E_IO, "%s is not a directory", dir);
    return CNN_OK;
}

cnn_status_t tools_dir_prepare(const char *dir, bool force, cnn_error_t *err)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                empty = false;
        closedir(d);
        if (!empty && !force)
            return cnn_error_set(err, CNN_E_INVALID_ARGUMENT,
                                 "%s is not empty (use --force to write into it)", dir);
        return CNN_OK;
    }
    if (errno != ENOENT)
        return cnn_error_set(err, CNN_E_IO, "cannot open %s: %s", dir, strerror(errno));
    return make_dirs(dir, err);
}

cnn_status_t tools_write_text_file(const char *path, const char *data, size_t len, cnn_error_t *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return cnn_error_set(err, CNN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s", path);
    }
    return CNN_OK;
}

bool tools_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

cnn_status_t tools_copy_file(const char *src, const char *dst, cnn_error_t *err)
{
    if (tools_same_file(src, dst))
        return CNN_OK;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    FILE *in = fopen(src, "rb");
    if (!in)
        return cnn_error_set(err, CNN_E_IO, "cannot read %s: %s", src, strerror(errno));
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fclose(in);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    static char buf[1 << 20];
    bool ok = true;
    size_t got;
    while (ok && (got = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, got, out) == got;
    ok = ok && !ferror(in);
    fclose(in);
    ok = (fclose(out) == 0) && ok;
    if (!ok || rename(tmp, dst) != 0) {
        unlink(tmp);
        return cnn_error_set(err, CNN_E_IO, "cannot copy %s to %s", src, dst);
    }
    return CNN_OK;
}

cnn_status_t tools_model_dir_write(const char *dir, bool force, const char *json, tools_weights_write_fn write_weights,
                                   void *ctx, const char *preserve, cnn_error_t *err)
{
    char json_path[4096], weights_path[4096];
    if (snprintf(json_path, sizeof json_path, "%s/model.json", dir) >= (int)sizeof json_path ||
        snprintf(weights_path, sizeof weights_path, "%s/weights.safetensors", dir) >= (int)sizeof weights_path)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "output path too long: %s", dir);
    cnn_status_t st = tools_dir_prepare(dir, force, err);
    if (st != CNN_OK)
        return st;
    st = tools_write_text_file(json_path, json, strlen(json), err);
    if (st == CNN_OK)
        st = write_weights(weights_path, ctx, err);
    cnn_model_t *model = NULL;
    if (st == CNN_OK && (st = cnn_model_load(dir, &model, err)) != CNN_OK)
        cnn_error_prefix(err, "the written model does not load");
    cnn_model_free(model);
    if (st != CNN_OK) { /* leave no half-written model behind */
        unlink(json_path);
        if (!preserve || !tools_same_file(preserve, weights_path))
            unlink(weights_path);
    }
    return st;
}

const char *tools_dir_basename(const char *dir, char *buf, size_t size)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(buf, size, "%.*s", (int)(len - start), dir + start);
    return buf;
}

void tools_labels_free(char **labels, int n)
{
    for (int i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
}

cnn_status_t tools_labels_read(const char *path, char ***labels, int *n, cnn_error_t *err)
{
    *labels = NULL;
    *n = 0;
    uint8_t *data;
    size_t len;
    cnn_status_t st = cli_read_file(path, &data, &len, err);
    if (st != CNN_OK)
        return st;
    char *p = (char *)data, *end = p + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    char **list = NULL;
    int count = 0, cap = 0;
    for (int line = 1; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (stop > p && stop[-1] == '\r')
            stop--;
        *stop = '\0';
        if (*p == '\0') {
            st = cnn_error_set(err, CNN_E_FORMAT, "%s: line %d is empty", path, line);
            break;
        }
        char **grown = cnn_array_grow(list, &cap, count, sizeof *list);
        if (!grown || !(grown[count] = strdup(p))) {
            list = grown ? grown : list;
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
            break;
        }
        list = grown;
        count++;
        p = nl ? nl + 1 : end;
    }
    free(data);
    if (st != CNN_OK) {
        tools_labels_free(list, count);
        return st;
    }
    *labels = list;
    *n = count;
    return CNN_OK;
}
