/* graph_random: the graph fuzzer's generator and checker (graph_check.h)
 * without libFuzzer, so the plain and sanitizer ctest runs cover them
 * (unit.graph_random).
 *
 * Usage: graph_random [N [FIRST [PATH...]]]
 *   runs N deterministic pseudo-random inputs FIRST .. FIRST+N-1 (default
 *   200 from 0; input i is 64 to 575 bytes of a splitmix64 stream seeded
 *   with i), then each PATH as an input: a file (a fuzz_graph artifact), or
 *   every file of a directory (tests/fuzz/seeds/graph: the seeds and the
 *   reproducers of past findings).
 * A finding aborts with the model.json and says which input it was: rerun
 * it with `graph_random 1 i` or `graph_random 0 0 FILE`.
 */
#include "graph_check.h"
#include "graph_gen.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_INPUT 65536

/* What runs now, for the message on a finding: an input number, or a file. */
static volatile long current = -1;
static const char *volatile current_file;

static void write_str(const char *s)
{
    if (write(STDERR_FILENO, s, strlen(s)) < 0) {
        /* nothing more to do on the way down */
    }
}

/* On a finding (abort) or a crash: which input it was. Async-signal-safe. */
static void say_input(int sig)
{
    if (current_file) {
        write_str("graph_random: the failing input is the file ");
        write_str(current_file);
    } else {
        char digits[24];
        int n = 0;
        long v = current;
        do {
            digits[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0 && n < 20);
        char num[24];
        for (int i = 0; i < n; i++)
            num[i] = digits[n - 1 - i];
        num[n] = '\0';
        write_str("graph_random: the failing input is number ");
        write_str(num);
    }
    write_str("\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs the file at `path` as one input; returns 0, or -1 when it cannot be read. */
static int run_file(const char *path, uint8_t *buf, gc_stats_t *st)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t len = fread(buf, 1, MAX_INPUT, f);
    fclose(f);
    current_file = path;
    gc_run_case(buf, len, st);
    current_file = NULL;
    return 0;
}

/* Runs `path`: a file, or each regular file of a directory (sorted by name). */
static int run_path(const char *path, uint8_t *buf, gc_stats_t *st, long *count)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        (*count)++;
        return run_file(path, buf, st);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
        bool skip = names[i]->d_name[0] == '.' || strstr(names[i]->d_name, ".md") != NULL;
        free(names[i]);
        if (skip)
            continue;
        (*count)++;
        if (run_file(file, buf, st) != 0)
            rc = -1;
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
    long first = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (n < 0 || first < 0) {
        fprintf(stderr, "usage: %s [N [FIRST [PATH...]]]\n", argv[0]);
        return 2;
    }
    static uint8_t buf[MAX_INPUT];
    gc_stats_t st = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGABRT, say_input);
    signal(SIGSEGV, say_input);
    long expected = n;
    for (long i = first; i < first + n; i++) {
        current = i;
        uint64_t rng = (uint64_t)i * 0x9E3779B97F4A7C15ull ^ 0xC0FFEEull;
        size_t len = 64 + (size_t)(gg_rand(&rng) % 512);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)gg_rand(&rng);
        gc_run_case(buf, len, &st);
    }
    int rc = 0;
    for (int a = 3; a < argc; a++)
        if (run_path(argv[a], buf, &st, &expected) != 0)
            rc = 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("graph_random: %ld models (%ld nodes, %ld layers), %ld runs (%ld bf16), %ld fetches (%ld checked "
           "against the reference) in %.1f s; largest error / scale: fp32 %.3g (limit 1e-4), bf16 %.3g (limit 0.25)\n",
           st.cases, st.nodes, st.layers, st.runs, st.bf16_runs, st.fetches, st.fetches_checked, secs, st.worst_fp32,
           st.worst_bf16);
    printf("graph_random: nodes per op:");
    for (int op = 0; op < GS_OP_COUNT; op++)
        printf(" %s %ld", gs_op_name((gs_op_t)op), st.ops[op]);
    printf("; layers with batch norm folded %ld, activation fused %ld, residual add fused %ld\n", st.fused_bn,
           st.fused_act, st.fused_add);
    return rc == 0 && st.cases == expected ? 0 : 1;
}
