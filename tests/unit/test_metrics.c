/* The /metrics exposition: Prometheus text format 0.0.4 details (HELP/TYPE
 * before each family's samples, families not split, label escaping,
 * cumulative buckets with +Inf = _count, _sum), request counts by model,
 * route and code, gauges, process metrics, and exact counts under
 * concurrent updates. */
#define _GNU_SOURCE /* open_memstream */
#include "test_support.h"

#include "metrics.h"
#include "prom_text.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *render(int in_flight)
{
    srv_metrics_gauges_t g = {.in_flight = in_flight};
    size_t len = 0;
    char *text = srv_metrics_render(&g, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_true(len > 0 && text[len - 1] == '\n');
    return text;
}

/* Fails unless `line` (without its newline) is a whole line of text. */
static void expect_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("line not found: %s\n--- in ---\n%s", line, text);
}

static void expect_no_substring(const char *text, const char *s)
{
    if (strstr(text, s))
        fail_msg("unexpected '%s' in:\n%s", s, text);
}

/* A sample's family: its name without _bucket/_sum/_count when the family
 * declared by the last TYPE line is a histogram of that base name. */
static void sample_family(const char *name, size_t n, const char *type_name, const char *type, char *out)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    snprintf(out, 128, "%.*s", (int)n, name);
    if (strcmp(type, "histogram") != 0)
        return;
    for (int i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]), tl = strlen(type_name);
        if (n == tl + sl && strncmp(name, type_name, tl) == 0 && strncmp(name + tl, suffixes[i], sl) == 0)
            snprintf(out, 128, "%s", type_name);
    }
}

/* Structure: each line is "# HELP name text", "# TYPE name type" right
 * after it, or a sample of the family the last TYPE line declared; no
 * family appears twice; every sample value parses whole as a number. */
static void check_structure(const char *text)
{
    char seen[64][128];
    int n_seen = 0;
    char fam[128] = "", type[32] = "", help_name[128] = "";
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        char line[512];
        assert_true((size_t)(end - p) < sizeof line);
        memcpy(line, p, (size_t)(end - p));
        line[end - p] = '\0';
        p = end + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s", help_name), 1);
            for (int i = 0; i < n_seen; i++)
                if (strcmp(seen[i], help_name) == 0)
                    fail_msg("family %s appears twice", help_name);
            assert_true(n_seen < 64);
            snprintf(seen[n_seen++], sizeof seen[0], "%s", help_name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s %31s", fam, type), 2);
            assert_string_equal(fam, help_name);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            continue;
        }
        size_t name_len = strcspn(line, "{ ");
        char family[128];
        sample_family(line, name_len, fam, type, family);
        if (strcmp(family, fam) != 0)
            fail_msg("sample '%s' outside its family (current: %s)", line, fam);
        const char *value = strrchr(line, ' ');
        assert_non_null(value);
        char *vend;
        double v = strtod(value + 1, &vend);
        if (*vend != '\0' || isnan(v))
            fail_msg("bad value in '%s'", line);
    }
}

static void test_number_and_escape(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    const double values[] = {0.0005, 1, 2.5, 0.1, 30, 1e-7, 123456789.125, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        srv_prom_number(f, values[i]);
        fputc(' ', f);
    }
    fclose(f);
    assert_string_equal(buf, "0.0005 1 2.5 0.1 30 1e-07 123456789.125 +Inf -Inf NaN ");
    free(buf);
    char *esc = srv_prom_escape_label("a\"b\\c\nd");
    assert_string_equal(esc, "a\\\"b\\\\c\\nd");
    free(esc);
}

static void test_histograms_cumulative(void **state)
{
    (void)state;
    const char *names[] = {"m0", "we\"ird\\na\nme"};
    assert_true(srv_metrics_init(names, 2));
    const double totals[] = {0.0004, 0.0005, 0.003, 100};
    for (int i = 0; i < 4; i++) {
        srv_request_stats_t st = {.route = "classify", .model = 0, .status = 200, .total_s = totals[i],
                                  .ran = i < 2, .preprocessed = i == 0, .queue_s = 0.002,
                                  .inference_s = 0.25, .preprocess_s = 0.0001};
        srv_metrics_request(&st);
    }
    srv_metrics_batch(0, 1, 0.01);
    srv_metrics_batch(0, 3, 0.02);
    srv_metrics_batch(0, 8, 0.03);
    srv_metrics_batch(0, 300, 0.04);
    char *text = render(3);
    check_structure(text);
    /* Bounds are inclusive (le); buckets count everything at or below. */
    expect_line(text, "cnnserve_request_duration_seconds_bucket{model=\"m0\",le=\"0.0005\"} 2");
    expect_line(text, "cnnserve_request_duration_seconds_bucket{model=\"m0\",le=\"0.001\"} 2");
    expect_line(text, "cnnserve_request_duration_seconds_bucket{model=\"m0\",le=\"0.005\"} 3");
    expect_line(text, "cnnserve_request_duration_seconds_bucket{model=\"m0\",le=\"30\"} 3");
    expect_line(text, "cnnserve_request_duration_seconds_bucket{model=\"m0\",le=\"+Inf\"} 4");
    expect_line(text, "cnnserve_request_duration_seconds_count{model=\"m0\"} 4");
    expect_line(text, "cnnserve_request_duration_seconds_sum{model=\"m0\"} 100.0039");
    expect_line(text, "cnnserve_queue_duration_seconds_bucket{model=\"m0\",le=\"0.001\"} 0");
    expect_line(text, "cnnserve_queue_duration_seconds_bucket{model=\"m0\",le=\"0.0025\"} 2");
    expect_line(text, "cnnserve_queue_duration_seconds_count{model=\"m0\"} 2");
    expect_line(text, "cnnserve_inference_duration_seconds_bucket{model=\"m0\",le=\"0.1\"} 0");
    expect_line(text, "cnnserve_inference_duration_seconds_bucket{model=\"m0\",le=\"0.25\"} 2");
    expect_line(text, "cnnserve_inference_duration_seconds_sum{model=\"m0\"} 0.5");
    expect_line(text, "cnnserve_preprocess_duration_seconds_count{model=\"m0\"} 1");
    expect_line(text, "cnnserve_preprocess_duration_seconds_sum{model=\"m0\"} 0.0001");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"1\"} 1");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"2\"} 1");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"4\"} 2");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"8\"} 3");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"256\"} 3");
    expect_line(text, "cnnserve_batch_size_bucket{model=\"m0\",le=\"+Inf\"} 4");
    expect_line(text, "cnnserve_batch_size_sum{model=\"m0\"} 312");
    expect_line(text, "cnnserve_batch_duration_seconds_sum{model=\"m0\"} 0.1");
    /* The second model: escaped name, empty series. */
    expect_line(text, "cnnserve_batch_size_bucket{model=\"we\\\"ird\\\\na\\nme\",le=\"+Inf\"} 0");
    expect_line(text, "cnnserve_batch_size_count{model=\"we\\\"ird\\\\na\\nme\"} 0");
    expect_line(text, "# TYPE cnnserve_batch_size histogram");
    expect_line(text, "cnnserve_in_flight_requests 3");
    free(text);
    srv_metrics_shutdown();
}

static void test_requests_and_gauges(void **state)
{
    (void)state;
    const char *names[] = {"lenet"};
    assert_true(srv_metrics_init(names, 1));
    const struct { const char *route; int model, status; } reqs[] = {
        {"classify", 0, 200}, {"classify", 0, 200}, {"classify", 0, 415}, {"classify", 0, 0},
        {"health", -1, 200},  {"unknown", -1, 404}, {"classify", 7, 404}, /* unregistered: no model */
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        srv_request_stats_t st = {.route = reqs[i].route, .model = reqs[i].model, .status = reqs[i].status};
        srv_metrics_request(&st);
    }
    srv_metrics_batch(7, 4, 0.1); /* ignored */
    srv_metrics_queue(0, 1);
    srv_metrics_queue(0, 1);
    srv_metrics_queue(0, -1);
    char *text = render(1);
    check_structure(text);
    expect_line(text, "# TYPE cnnserve_requests_total counter");
    expect_line(text, "cnnserve_requests_total{model=\"lenet\",route=\"classify\",code=\"200\"} 2");
    expect_line(text, "cnnserve_requests_total{model=\"lenet\",route=\"classify\",code=\"415\"} 1");
    expect_line(text, "cnnserve_requests_total{model=\"lenet\",route=\"classify\",code=\"client_gone\"} 1");
    expect_line(text, "cnnserve_requests_total{route=\"health\",code=\"200\"} 1");
    expect_line(text, "cnnserve_requests_total{route=\"unknown\",code=\"404\"} 1");
    expect_line(text, "cnnserve_requests_total{route=\"classify\",code=\"404\"} 1");
    expect_line(text, "cnnserve_request_duration_seconds_count{model=\"lenet\"} 4");
    expect_line(text, "cnnserve_batch_size_count{model=\"lenet\"} 0");
    expect_line(text, "cnnserve_queue_depth{model=\"lenet\"} 1");
    expect_line(text, "# TYPE cnnserve_queue_depth gauge");
    expect_line(text, "cnnserve_in_flight_requests 1");
    expect_no_substring(text, "model=\"\"");
    free(text);
    srv_metrics_shutdown();
    /* After shutdown everything is zero again. */
    assert_true(srv_metrics_init(names, 1));
    text = render(0);
    expect_no_substring(text, "cnnserve_requests_total{");
    expect_line(text, "cnnserve_queue_depth{model=\"lenet\"} 0");
    free(text);
    srv_metrics_shutdown();
}

static void test_process_metrics(void **state)
{
    (void)state;
    assert_true(srv_metrics_init(NULL, 0));
    char *text = render(0);
    check_structure(text);
    const char *rss = strstr(text, "\nprocess_resident_memory_bytes ");
    assert_non_null(rss);
    assert_true(strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL) > 1e5);
    const char *start = strstr(text, "\nprocess_start_time_seconds ");
    assert_non_null(start);
    double t = strtod(start + strlen("\nprocess_start_time_seconds "), NULL);
    double now = (double)time(NULL);
    assert_true(t <= now + 1 && t > now - 24 * 3600.0);
    expect_line(text, "# TYPE process_cpu_seconds_total counter");
    /* No model: histogram families are declared, with no series. */
    expect_line(text, "# TYPE cnnserve_request_duration_seconds histogram");
    expect_no_substring(text, "_bucket{");
    free(text);
    srv_metrics_shutdown();
}

#define THREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        srv_request_stats_t st = {.route = "classify", .model = i % 2, .status = 200, .total_s = 0.001,
                                  .ran = true, .queue_s = 0.001, .inference_s = 0.001};
        srv_metrics_request(&st);
        srv_metrics_batch(i % 2, 2, 0.001);
        srv_metrics_queue(i % 2, 1);
        srv_metrics_queue(i % 2, -1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    const char *names[] = {"a", "b"};
    assert_true(srv_metrics_init(names, 2));
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int r = 0; r < 20; r++)
        free(render(0)); /* rendering while others update */
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *text = render(0);
    check_structure(text);
    char line[160];
    int per_model = THREADS * PER_THREAD / 2;
    for (int m = 0; m < 2; m++) {
        snprintf(line, sizeof line, "cnnserve_requests_total{model=\"%s\",route=\"classify\",code=\"200\"} %d",
                 names[m], per_model);
        expect_line(text, line);
        snprintf(line, sizeof line, "cnnserve_batch_size_bucket{model=\"%s\",le=\"2\"} %d", names[m], per_model);
        expect_line(text, line);
        snprintf(line, sizeof line, "cnnserve_batch_size_sum{model=\"%s\"} %d", names[m], 2 * per_model);
        expect_line(text, line);
        snprintf(line, sizeof line, "cnnserve_queue_depth{model=\"%s\"} 0", names[m]);
        expect_line(text, line);
    }
    free(text);
    srv_metrics_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_and_escape),
        cmocka_unit_test(test_histograms_cumulative),
        cmocka_unit_test(test_requests_and_gauges),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_concurrent_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
