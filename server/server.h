/* `cnnserve serve` once its options are parsed: listen, load the models,
 * serve until SIGTERM or SIGINT, then drain and stop. */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include "serve_config.h"

/* Runs the server. Lifecycle: listens first (readiness 503 while loading),
 * loads the models, serves; on SIGTERM/SIGINT readiness turns 503, the
 * listening socket stops accepting, every admitted request is answered and
 * every response sent, then it returns 0. Returns 1 when it cannot listen or
 * load any model (message on stderr). */
int srv_server_run(const srv_config_t *cfg);

#endif
