/* qnpu_net_float.c - the float reference path (qnpu_net.h): a float
 * network run in plain float32 loops, NHWC, for the float accuracy and for
 * calibration. Pools and padding skip the taps outside the input (ONNX's
 * count_include_pad = 0, as the quantized average pool counts). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"
#include "qnpu_net.h"

static float activate(float v, qnpu_act_t a) {
  if (a == QNPU_ACT_NONE) return v;
  if (v < 0) v = 0;
  if (a == QNPU_ACT_RELU6 && v > 6) v = 6;
  return v;
}

/* conv: the weights regrouped as [g][ky][kx][ci][o] so that the innermost
 * loop runs over a group's output channels, contiguous in both arrays. */
static void conv(const qnpu_net_t *net, const qnpu_net_node_t *nd, const float *wt, int32_t n, const float *x, float *y,
                 float *acc) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
  const int32_t g = nd->groups, cpg = in->c / g, opg = out->c / g;
  for (int32_t b = 0; b < n; b++)
    for (int32_t oy = 0; oy < out->h; oy++)
      for (int32_t ox = 0; ox < out->w; ox++) {
        for (int32_t o = 0; o < out->c; o++) acc[o] = nd->bf ? nd->bf[o] : 0.0f;
        for (int32_t ky = 0; ky < nd->kh; ky++) {
          const int32_t iy = oy * nd->stride_h - nd->pad_top + ky * nd->dil_h;
          if (iy < 0 || iy >= in->h) continue;
          for (int32_t kx = 0; kx < nd->kw; kx++) {
            const int32_t ix = ox * nd->stride_w - nd->pad_left + kx * nd->dil_w;
            if (ix < 0 || ix >= in->w) continue;
            const float *xp = x + (((size_t)b * in->h + iy) * in->w + ix) * in->c;
            for (int32_t gi = 0; gi < g; gi++) {
              const float *wg = wt + ((((size_t)gi * nd->kh + ky) * nd->kw + kx) * cpg) * opg;
              float *ag = acc + (size_t)gi * opg;
              for (int32_t ci = 0; ci < cpg; ci++) {
                const float v = xp[gi * cpg + ci];
                const float *wr = wg + (size_t)ci * opg;
                for (int32_t o = 0; o < opg; o++) ag[o] += v * wr[o];
              }
            }
          }
        }
        float *yp = y + (((size_t)b * out->h + oy) * out->w + ox) * out->c;
        for (int32_t o = 0; o < out->c; o++) yp[o] = activate(acc[o], nd->act);
      }
}

static void fc(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t n, const float *x, float *y) {
  const size_t k = qnpu_net_tensor_size(net, nd->in[0]);
  const int32_t o = net->tensors[nd->out].c;
  for (int32_t b = 0; b < n; b++)
    for (int32_t j = 0; j < o; j++) {
      const float *w = nd->wf + (size_t)j * k, *xb = x + (size_t)b * k;
      float s = nd->bf ? nd->bf[j] : 0.0f;
      for (size_t i = 0; i < k; i++) s += w[i] * xb[i];
      y[(size_t)b * o + j] = activate(s, nd->act);
    }
}

static void pool(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t n, const float *x, float *y) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
  const int avg = nd->kind == QNPU_NODE_AVGPOOL;
  for (int32_t b = 0; b < n; b++)
    for (int32_t oy = 0; oy < out->h; oy++)
      for (int32_t ox = 0; ox < out->w; ox++)
        for (int32_t c = 0; c < in->c; c++) {
          float s = 0, m = -FLT_MAX;
          int count = 0;
          for (int32_t ky = 0; ky < nd->kh; ky++) {
            const int32_t iy = oy * nd->stride_h - nd->pad_top + ky;
            if (iy < 0 || iy >= in->h) continue;
            for (int32_t kx = 0; kx < nd->kw; kx++) {
              const int32_t ix = ox * nd->stride_w - nd->pad_left + kx;
              if (ix < 0 || ix >= in->w) continue;
              const float v = x[(((size_t)b * in->h + iy) * in->w + ix) * in->c + c];
              s += v, count++;
              if (v > m) m = v;
            }
          }
          y[(((size_t)b * out->h + oy) * out->w + ox) * out->c + c] = avg ? (count ? s / (float)count : 0) : m;
        }
}

qnpu_status_t qnpu_net_float_run(const qnpu_net_t *net, const uint8_t *pixels, int32_t n, float *logits,
                                 qnpu_net_tap_fn tap, void *ctx, char *err, size_t errlen) {
  if (!net || net->quantized || !pixels || !logits || n < 1)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "float run: needs a float network, pixels, logits and n >= 1");
  float **buf = calloc((size_t)net->n_tensors, sizeof *buf);
  float *wt = NULL, *acc = NULL;
  qnpu_status_t st = buf ? QNPU_OK : QNPU_ERR_NOMEM;
  int32_t max_c = 1;
  size_t max_w = 1;
  for (int t = 0; t < net->n_tensors && !st; t++) {
    buf[t] = malloc((size_t)n * qnpu_net_tensor_size(net, t) * sizeof(float));
    if (!buf[t]) st = QNPU_ERR_NOMEM;
    if (net->tensors[t].c > max_c) max_c = net->tensors[t].c;
  }
  for (int i = 0; i < net->n_nodes; i++)
    if (net->nodes[i].kind == QNPU_NODE_CONV && qnpu_net_weight_count(net, &net->nodes[i]) > max_w)
      max_w = qnpu_net_weight_count(net, &net->nodes[i]);
  if (!st && (!(wt = malloc(max_w * sizeof *wt)) || !(acc = malloc((size_t)max_c * sizeof *acc)))) st = QNPU_ERR_NOMEM;
  if (st) {
    qnpu_error(st, err, errlen, "float run: out of memory for a batch of %d", n);
    goto done;
  }
  const size_t in_n = (size_t)n * qnpu_net_tensor_size(net, net->input);
  for (size_t i = 0; i < in_n; i++) buf[net->input][i] = (float)pixels[i] * net->in_scale + net->in_offset;
  if (tap && (st = tap(ctx, net->input, buf[net->input], in_n))) goto done;
  for (int i = 0; i < net->n_nodes; i++) {
    const qnpu_net_node_t *nd = &net->nodes[i];
    const float *x = buf[nd->in[0]];
    float *y = buf[nd->out];
    const size_t ny = (size_t)n * qnpu_net_tensor_size(net, nd->out);
    switch (nd->kind) {
      case QNPU_NODE_CONV: {
        const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]];
        const int32_t g = nd->groups, cpg = in->c / g, opg = net->tensors[nd->out].c / g;
        for (int32_t o = 0; o < g * opg; o++) /* [O][KH][KW][cpg] -> [g][KH][KW][cpg][opg] */
          for (int32_t k = 0; k < nd->kh * nd->kw * cpg; k++)
            wt[((size_t)(o / opg) * nd->kh * nd->kw * cpg + (size_t)k) * opg + (size_t)(o % opg)] =
                nd->wf[(size_t)o * nd->kh * nd->kw * cpg + (size_t)k];
        conv(net, nd, wt, n, x, y, acc);
        break;
      }
      case QNPU_NODE_FC:
        fc(net, nd, n, x, y);
        break;
      case QNPU_NODE_MAXPOOL:
      case QNPU_NODE_AVGPOOL:
      case QNPU_NODE_GAVGPOOL: /* its kernel is the whole input */
        pool(net, nd, n, x, y);
        break;
      case QNPU_NODE_ADD:
        for (size_t k = 0; k < ny; k++) y[k] = activate(x[k] + buf[nd->in[1]][k], nd->act);
        break;
      case QNPU_NODE_RELU:
        for (size_t k = 0; k < ny; k++) y[k] = activate(x[k], nd->act);
        break;
    }
    if (tap && (st = tap(ctx, nd->out, y, ny))) goto done;
  }
  memcpy(logits, buf[net->output], (size_t)n * (size_t)net->classes * sizeof *logits);
done:
  for (int t = 0; buf && t < net->n_tensors; t++) free(buf[t]);
  free(buf), free(wt), free(acc);
  return st;
}
