/* net_fixture.h - a small float network built in C with seeded random
 * weights, for the network tests: every node kind the runtime knows, a
 * grouped and a strided convolution, a residual add, both pools.
 *
 *   x 8x8x3 -> conv1 3x3 3->8 pad 1, ReLU -> maxpool 2 -> conv2 3x3 8->8 pad 1
 *   groups 2, ReLU -> conv3 3x3 8->8 pad 1 -> add(conv3, pool1), ReLU ->
 *   avgpool 2 -> relu (a host ReLU) -> conv4 1x1 stride 2 8->6 -> fc 6->10 */
#ifndef QNPU_NET_FIXTURE_H
#define QNPU_NET_FIXTURE_H

#include <math.h>

#include "qnpu_net.h"
#include "test_util.h"

static inline float fixture_normal(test_rng_t *r) { /* Box-Muller */
  const double u = ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
  const double v = ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static inline void fixture_tensor(qnpu_net_t *n, int t, const char *name, int32_t h, int32_t w, int32_t c) {
  snprintf(n->tensors[t].name, QNPU_NET_NAME_MAX, "%s", name);
  n->tensors[t].h = h, n->tensors[t].w = w, n->tensors[t].c = c;
}

static inline qnpu_net_node_t *fixture_node(qnpu_net_t *n, int i, qnpu_node_kind_t kind, const char *name, int in,
                                            int out, qnpu_act_t act) {
  qnpu_net_node_t *nd = &n->nodes[i];
  nd->kind = kind, nd->act = act, nd->n_in = 1, nd->in[0] = in, nd->out = out;
  snprintf(nd->name, QNPU_NET_NAME_MAX, "%s", name);
  nd->kh = nd->kw = nd->stride_h = nd->stride_w = nd->dil_h = nd->dil_w = nd->groups = 1;
  return nd;
}

/* Random weights N(0, 2 / fan_in) and biases N(0, 0.1) for a conv/fc node. */
static inline void fixture_weights(qnpu_net_t *n, qnpu_net_node_t *nd, test_rng_t *r) {
  const size_t nw = qnpu_net_weight_count(n, nd), o = (size_t)n->tensors[nd->out].c;
  nd->wf = malloc(nw * sizeof *nd->wf);
  nd->bf = malloc(o * sizeof *nd->bf);
  const float sd = sqrtf(2.0f / (float)(nw / o));
  for (size_t i = 0; i < nw; i++) nd->wf[i] = sd * fixture_normal(r);
  for (size_t i = 0; i < o; i++) nd->bf[i] = 0.1f * fixture_normal(r);
}

/* The fixture network into *n (float, checked by the caller). */
static inline void fixture_net(qnpu_net_t *n, uint64_t seed) {
  test_rng_t r = {seed};
  if (qnpu_net_alloc(n, 10, 9)) abort();
  fixture_tensor(n, 0, "x", 8, 8, 3);
  fixture_tensor(n, 1, "c1", 8, 8, 8);
  fixture_tensor(n, 2, "p1", 4, 4, 8);
  fixture_tensor(n, 3, "c2", 4, 4, 8);
  fixture_tensor(n, 4, "c3", 4, 4, 8);
  fixture_tensor(n, 5, "sum", 4, 4, 8);
  fixture_tensor(n, 6, "p2", 2, 2, 8);
  fixture_tensor(n, 7, "r", 2, 2, 8);
  fixture_tensor(n, 8, "c4", 1, 1, 6);
  fixture_tensor(n, 9, "y", 1, 1, 10);
  qnpu_net_node_t *nd = fixture_node(n, 0, QNPU_NODE_CONV, "conv1", 0, 1, QNPU_ACT_RELU);
  nd->kh = nd->kw = 3, nd->pad_top = nd->pad_left = nd->pad_bottom = nd->pad_right = 1;
  fixture_weights(n, nd, &r);
  nd = fixture_node(n, 1, QNPU_NODE_MAXPOOL, "pool1", 1, 2, QNPU_ACT_NONE);
  nd->kh = nd->kw = nd->stride_h = nd->stride_w = 2;
  nd = fixture_node(n, 2, QNPU_NODE_CONV, "conv2", 2, 3, QNPU_ACT_RELU);
  nd->kh = nd->kw = 3, nd->pad_top = nd->pad_left = nd->pad_bottom = nd->pad_right = 1, nd->groups = 2;
  fixture_weights(n, nd, &r);
  nd = fixture_node(n, 3, QNPU_NODE_CONV, "conv3", 3, 4, QNPU_ACT_NONE);
  nd->kh = nd->kw = 3, nd->pad_top = nd->pad_left = nd->pad_bottom = nd->pad_right = 1;
  fixture_weights(n, nd, &r);
  nd = fixture_node(n, 4, QNPU_NODE_ADD, "add", 4, 5, QNPU_ACT_RELU);
  nd->n_in = 2, nd->in[1] = 2;
  nd = fixture_node(n, 5, QNPU_NODE_AVGPOOL, "pool2", 5, 6, QNPU_ACT_NONE);
  nd->kh = nd->kw = nd->stride_h = nd->stride_w = 2;
  fixture_node(n, 6, QNPU_NODE_RELU, "relu", 6, 7, QNPU_ACT_RELU6);
  nd = fixture_node(n, 7, QNPU_NODE_CONV, "conv4", 7, 8, QNPU_ACT_NONE);
  nd->stride_h = nd->stride_w = 2;
  fixture_weights(n, nd, &r);
  nd = fixture_node(n, 8, QNPU_NODE_FC, "fc", 8, 9, QNPU_ACT_NONE);
  fixture_weights(n, nd, &r);
  n->input = 0, n->output = 9, n->classes = 10;
  n->in_scale = 1.0f / 255.0f, n->in_offset = 0.0f;
  snprintf(n->meta, sizeof n->meta, "source=net_fixture");
}

/* n random images of the fixture's input. */
static inline uint8_t *fixture_images(int32_t n, uint64_t seed) {
  test_rng_t r = {seed};
  uint8_t *p = malloc((size_t)n * 8 * 8 * 3);
  for (size_t i = 0; i < (size_t)n * 8 * 8 * 3; i++) p[i] = (uint8_t)rng_range(&r, 0, 255);
  return p;
}

#endif /* QNPU_NET_FIXTURE_H */
