/* The server's lifecycle: start, serve, drain on a signal, stop. */
#include "server.h"

#include "http_server.h"
#include "metrics.h"
#include "model_repo.h"
#include "scheduler.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

/* How often the drain checks whether everything is answered. */
#define SRV_DRAIN_POLL_MS 5

typedef struct server {
    const srv_config_t *cfg;
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t drain_timer;
    srv_http_t http;
    srv_model_repo_t repo;
    srv_scheduler_t *sched;
    bool draining;
} server_t;

static void close_own_handles(server_t *sv)
{
    uv_close((uv_handle_t *)&sv->sigterm, NULL);
    uv_close((uv_handle_t *)&sv->sigint, NULL);
    uv_close((uv_handle_t *)&sv->drain_timer, NULL);
}

/* Drain step: once nothing is admitted and every started request is
 * complete, close the loop's handles so that uv_run returns. */
static void drain_cb(uv_timer_t *t)
{
    server_t *sv = t->data;
    if (srv_scheduler_pending(sv->sched) > 0 || srv_http_live(&sv->http) > 0)
        return;
    uv_timer_stop(t);
    srv_scheduler_close(sv->sched);
    close_own_handles(sv);
}

/* Registers the loaded models with the metrics (model index = metrics
 * index); false when out of memory. */
static bool metrics_init(const srv_model_repo_t *repo)
{
    const char **names = malloc((size_t)repo->count * sizeof *names);
    if (!names)
        return false;
    for (int i = 0; i < repo->count; i++)
        names[i] = repo->models[i].name;
    bool ok = srv_metrics_init(names, repo->count);
    free(names);
    return ok;
}

static void signal_cb(uv_signal_t *sig, int signum)
{
    server_t *sv = sig->data;
    if (sv->draining)
        return;
    sv->draining = true;
    fprintf(stderr, "cnnserve serve: %s: draining (%d requests queued, %d open)\n",
            signum == SIGTERM ? "SIGTERM" : "SIGINT", srv_scheduler_pending(sv->sched),
            srv_http_live(&sv->http));
    srv_http_drain(&sv->http);
    uv_timer_start(&sv->drain_timer, drain_cb, 0, SRV_DRAIN_POLL_MS);
}

int srv_server_run(const srv_config_t *cfg)
{
    static server_t sv; /* signal handles point here for the process's life */
    char msg[512];
    sv = (server_t){.cfg = cfg};
    if (!srv_http_start(&sv.http, cfg, msg, sizeof msg)) {
        fprintf(stderr, "cnnserve serve: %s\n", msg);
        return 1;
    }
    fprintf(stderr, "cnnserve serve: listening on http://%s:%d\n", cfg->host, sv.http.port);
    uv_loop_init(&sv.loop);
    uv_signal_init(&sv.loop, &sv.sigterm);
    uv_signal_init(&sv.loop, &sv.sigint);
    uv_timer_init(&sv.loop, &sv.drain_timer);
    sv.sigterm.data = sv.sigint.data = sv.drain_timer.data = &sv;
    uv_signal_start(&sv.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&sv.sigint, signal_cb, SIGINT);
    int rc = 0;
    bool ok = srv_model_repo_load(cfg, &sv.repo, msg, sizeof msg);
    if (ok && !metrics_init(&sv.repo)) {
        snprintf(msg, sizeof msg, "out of memory for the metrics");
        ok = false;
    }
    if (ok)
        ok = (sv.sched = srv_scheduler_create(&sv.loop, cfg, &sv.repo, srv_http_resume, &sv.http, msg,
                                              sizeof msg)) != NULL;
    if (!ok) {
        fprintf(stderr, "cnnserve serve: %s\n", msg);
        close_own_handles(&sv);
        rc = 1;
    } else {
        srv_http_set_ready(&sv.http, &sv.repo, sv.sched, &sv.loop);
        fprintf(stderr, "cnnserve serve: ready: %d model(s), default %s\n", sv.repo.count,
                sv.repo.models[sv.repo.default_index].name);
    }
    uv_run(&sv.loop, UV_RUN_DEFAULT);
    srv_http_stop(&sv.http);
    srv_scheduler_free(sv.sched);
    srv_model_repo_free(&sv.repo);
    srv_metrics_shutdown();
    uv_loop_close(&sv.loop);
    if (rc == 0)
        fprintf(stderr, "cnnserve serve: stopped\n");
    return rc;
}
