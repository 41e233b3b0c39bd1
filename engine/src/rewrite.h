/* Load-time graph rewrites, applied after weights are bound. */
#ifndef CNN_REWRITE_H
#define CNN_REWRITE_H

#include "graph.h"

/* In order: dropout becomes identity; batch norm following a conv whose only
 * consumer it is folds into the conv's weights and bias (remaining BNs stay);
 * relu/leaky_relu/elu/sigmoid/tanh following a conv, dense or add whose only
 * consumer it is becomes that node's post_act; an add one of whose inputs is
 * a conv (only consumer: the add, no post_act yet) becomes that conv's
 * residual input. Fused nodes keep their names with fused_into set. */
cnn_status_t cnn_graph_rewrite(cnn_graph_t *g, cnn_error_t *err);

#endif
