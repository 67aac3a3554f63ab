/* qnpu_net_run.c - the network runtime (qnpu_net_run.h). */
#include "qnpu_net_run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnpu_errmsg.h"

struct qnpu_net_exec {
  const qnpu_net_t *net;
  int32_t max_batch;
  int8_t **buf;                 /* per tensor, max_batch images            */
  int32_t *acc;                 /* the runtime's int32 output of one layer */
  qnpu_net_node_stats_t *stats; /* per node                                */
  int32_t n;                    /* images of the last run                  */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void qnpu_net_exec_destroy(qnpu_net_exec_t *e) {
  if (!e) return;
  for (int t = 0; e->buf && t < e->net->n_tensors; t++) free(e->buf[t]);
  free(e->buf), free(e->acc), free(e->stats), free(e);
}

qnpu_status_t qnpu_net_exec_create(const qnpu_net_t *net, int32_t max_batch, qnpu_net_exec_t **out) {
  if (!out) return QNPU_ERR_ARG;
  *out = NULL;
  if (!net || !net->quantized || max_batch < 1) return QNPU_ERR_ARG;
  qnpu_net_exec_t *e = calloc(1, sizeof *e);
  if (!e) return QNPU_ERR_NOMEM;
  e->net = net;
  e->max_batch = max_batch;
  e->buf = calloc((size_t)net->n_tensors, sizeof *e->buf);
  e->stats = calloc((size_t)net->n_nodes, sizeof *e->stats);
  size_t acc = 1;
  for (int i = 0; i < net->n_nodes; i++)
    if (qnpu_node_on_array(&net->nodes[i]) && qnpu_net_tensor_size(net, net->nodes[i].out) > acc)
      acc = qnpu_net_tensor_size(net, net->nodes[i].out);
  e->acc = malloc((size_t)max_batch * acc * sizeof *e->acc);
  int ok = e->buf && e->stats && e->acc;
  for (int t = 0; ok && t < net->n_tensors; t++)
    ok = (e->buf[t] = malloc((size_t)max_batch * qnpu_net_tensor_size(net, t))) != NULL;
  if (!ok) {
    qnpu_net_exec_destroy(e);
    return QNPU_ERR_NOMEM;
  }
  *out = e;
  return QNPU_OK;
}

static qnpu_pool_params_t pool_params(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t n) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]];
  return (qnpu_pool_params_t){.n = n,
                              .h = in->h,
                              .w = in->w,
                              .c = in->c,
                              .kh = nd->kh,
                              .kw = nd->kw,
                              .stride_h = nd->stride_h,
                              .stride_w = nd->stride_w,
                              .pad_top = nd->pad_top,
                              .pad_left = nd->pad_left,
                              .pad_bottom = nd->pad_bottom,
                              .pad_right = nd->pad_right,
                              .act_min = nd->act_min,
                              .act_max = nd->act_max};
}

static qnpu_status_t run_node(qnpu_net_exec_t *e, qnpu_session_t *s, const qnpu_net_node_t *nd, int32_t n, char *err,
                              size_t errlen) {
  const qnpu_net_t *net = e->net;
  qnpu_net_node_stats_t *ns = &e->stats[nd - net->nodes];
  const int8_t *x = e->buf[nd->in[0]];
  int8_t *y = e->buf[nd->out];
  const size_t ny = (size_t)n * qnpu_net_tensor_size(net, nd->out);
  char why[1024];
  qnpu_status_t st = QNPU_OK;
  switch (nd->kind) {
    case QNPU_NODE_CONV:
    case QNPU_NODE_FC: {
      const qnpu_layer_t l = qnpu_net_layer(net, nd, n, x);
      qnpu_rt_stats_t rs;
      memset(&rs, 0, sizeof rs);
      st = qnpu_session_run(s, &l, NULL, e->acc, &rs, why, sizeof why);
      if (st) return qnpu_error(st, err, errlen, "node %s (%s): %s", nd->name, qnpu_node_kind_name(nd->kind), why);
      for (size_t i = 0; i < ny; i++) y[i] = (int8_t)e->acc[i]; /* the clamp keeps them in range */
      ns->macs += rs.macs, ns->issued_macs += rs.issued_macs, ns->cycles += rs.cycles;
      ns->rd_bytes += rs.rd_bytes, ns->wr_bytes += rs.wr_bytes;
      qnpu_energy_add(&ns->energy, &rs.energy);
      break;
    }
    case QNPU_NODE_MAXPOOL:
    case QNPU_NODE_AVGPOOL:
    case QNPU_NODE_GAVGPOOL: {
      const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
      qnpu_pool_params_t p = pool_params(net, nd, n);
      if (nd->kind == QNPU_NODE_GAVGPOOL) p.kh = in->h, p.kw = in->w, p.stride_h = p.stride_w = 1;
      if (nd->kind == QNPU_NODE_MAXPOOL)
        st = qnpu_golden_max_pool(&p, x, y);
      else if (net->semantics != QNPU_SEM_ORT)
        st = qnpu_golden_avg_pool(&p, x, y);
      else if (nd->kind == QNPU_NODE_AVGPOOL)
        st = qnpu_golden_ort_avg_pool(&p, nd->count_include_pad, &(qnpu_ort_q_t){in->scale, in->zero_point, in->uint8},
                                      &(qnpu_ort_q_t){out->scale, out->zero_point, out->uint8}, x, y);
      else
        st = qnpu_golden_ort_global_avg_pool(n, in->h * in->w, in->c, in->scale, in->zero_point, out->scale,
                                             out->zero_point, x, y);
      if (st)
        return qnpu_error(st, err, errlen, "node %s (%s): the golden model rejected it", nd->name,
                          qnpu_node_kind_name(nd->kind));
      break;
    }
    case QNPU_NODE_ADD:
      if (net->semantics == QNPU_SEM_ORT) {
        const qnpu_net_tensor_t *a = &net->tensors[nd->in[0]], *b = &net->tensors[nd->in[1]],
                                *c = &net->tensors[nd->out];
        const qnpu_ort_add_t p = {{a->scale, a->zero_point, a->uint8},
                                  {b->scale, b->zero_point, b->uint8},
                                  {c->scale, c->zero_point, c->uint8}};
        qnpu_golden_ort_add(&p, x, e->buf[nd->in[1]], ny, y);
      } else {
        qnpu_golden_add(&nd->add, x, e->buf[nd->in[1]], ny, y);
      }
      break;
    case QNPU_NODE_RELU:
      for (size_t i = 0; i < ny; i++)
        y[i] = (int8_t)(x[i] < nd->act_min ? nd->act_min : x[i] > nd->act_max ? nd->act_max : x[i]);
      break;
  }
  ns->images += (uint64_t)n;
  return QNPU_OK;
}

static qnpu_status_t run_nodes(qnpu_net_exec_t *e, qnpu_session_t *s, int32_t n, char *err, size_t errlen) {
  const qnpu_net_t *net = e->net;
  e->n = n;
  for (int i = 0; i < net->n_nodes; i++) {
    const double t0 = now();
    const qnpu_status_t st = run_node(e, s, &net->nodes[i], n, err, errlen);
    e->stats[i].seconds += now() - t0;
    if (st) return st;
  }
  return QNPU_OK;
}

qnpu_status_t qnpu_net_exec_run(qnpu_net_exec_t *e, qnpu_session_t *s, const uint8_t *pixels, int32_t n, char *err,
                                size_t errlen) {
  if (!e || !s || !pixels || n < 1 || n > e->max_batch)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "network run: needs a session, pixels and 1 to %d images",
                      e ? e->max_batch : 0);
  const qnpu_net_t *net = e->net;
  if (net->in_type == QNPU_IN_INT8)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "network run: the model's input is int8, not 8-bit pixels");
  const size_t in_n = (size_t)n * qnpu_net_tensor_size(net, net->input);
  int8_t *x = e->buf[net->input];
  for (size_t i = 0; i < in_n; i++) x[i] = net->in_lut[pixels[i]];
  return run_nodes(e, s, n, err, errlen);
}

qnpu_status_t qnpu_net_exec_run_q(qnpu_net_exec_t *e, qnpu_session_t *s, const int8_t *input, int32_t n, char *err,
                                  size_t errlen) {
  if (!e || !s || !input || n < 1 || n > e->max_batch)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "network run: needs a session, an input and 1 to %d images",
                      e ? e->max_batch : 0);
  memcpy(e->buf[e->net->input], input, (size_t)n * qnpu_net_tensor_size(e->net, e->net->input));
  return run_nodes(e, s, n, err, errlen);
}

const int8_t *qnpu_net_exec_tensor(const qnpu_net_exec_t *e, int t) {
  return e && t >= 0 && t < e->net->n_tensors ? e->buf[t] : NULL;
}

const int8_t *qnpu_net_exec_logits(const qnpu_net_exec_t *e) { return e ? e->buf[e->net->output] : NULL; }

const qnpu_net_node_stats_t *qnpu_net_exec_stats(const qnpu_net_exec_t *e) { return e ? e->stats : NULL; }

qnpu_net_diff_t qnpu_net_exec_compare(const qnpu_net_exec_t *a, const qnpu_net_exec_t *b, int32_t n) {
  qnpu_net_diff_t d = {.node = -1};
  const qnpu_net_t *net = a->net;
  for (int i = 0; i < net->n_nodes; i++) {
    const int t = net->nodes[i].out;
    const size_t per = qnpu_net_tensor_size(net, t);
    for (size_t k = 0; k < (size_t)n * per; k++)
      if (a->buf[t][k] != b->buf[t][k]) {
        d.node = i, d.image = (int32_t)(k / per), d.element = k % per, d.a = a->buf[t][k], d.b = b->buf[t][k];
        return d;
      }
  }
  return d;
}
