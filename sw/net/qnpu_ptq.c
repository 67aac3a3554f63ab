/* qnpu_ptq.c - post-training quantization (qnpu_ptq.h). */
#include "qnpu_ptq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"

typedef struct {
  const qnpu_net_t *net;
  qnpu_hist_t *hist; /* one per tensor                                        */
  double **sum;      /* per tensor a conv/fc reads (else NULL): the sum of
                        each element over the images, for bias correction   */
} tap_ctx_t;

static qnpu_status_t tap(void *ctx, int tensor, const float *x, size_t count) {
  tap_ctx_t *c = ctx;
  double *s = c->sum[tensor];
  if (s) {
    const size_t per = qnpu_net_tensor_size(c->net, tensor);
    for (size_t i = 0; i < count; i++) s[i % per] += x[i];
  }
  return qnpu_hist_add(&c->hist[tensor], x, count);
}

static void free_taps(tap_ctx_t *c) {
  for (int t = 0; c->sum && t < c->net->n_tensors; t++) free(c->sum[t]);
  free(c->sum), free(c->hist);
}

static int32_t qmin_of(int bits) { return -(1 << (bits - 1)); }
static int32_t qmax_of(int bits) { return (1 << (bits - 1)) - 1; }

static int32_t round_clamp(double v, int32_t lo, int32_t hi) {
  const double r = round(v); /* half away from zero */
  return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

/* Scale and zero point of tensor t for the range [lo, hi]. */
static qnpu_status_t set_qparams(qnpu_net_tensor_t *t, double lo, double hi, int bits) {
  if (hi - lo < 1e-12) hi = lo + 1.0; /* a constant tensor: any scale represents it */
  qnpu_qparams_t q;
  const qnpu_status_t st = qnpu_golden_qparams_from_range(lo, hi, bits, QNPU_RANGE_ASYMMETRIC, &q);
  if (st) return st;
  t->bits = bits;
  t->scale = (float)q.scale;
  t->zero_point = q.zero_point;
  return QNPU_OK;
}

/* The output clamp of a fused activation on tensor t. */
static void clamp_of(const qnpu_net_tensor_t *t, qnpu_act_t act, int32_t *lo, int32_t *hi) {
  *lo = qmin_of(t->bits), *hi = qmax_of(t->bits);
  if (act == QNPU_ACT_NONE) return;
  if (t->zero_point > *lo) *lo = t->zero_point;
  if (act == QNPU_ACT_RELU6) {
    const double six = t->zero_point + round(6.0 / (double)t->scale);
    if (six < *hi) *hi = six < *lo ? *lo : (int32_t)six;
  }
}

qnpu_status_t qnpu_wscale_parse(const char *s, qnpu_wscale_t *w) {
  if (!s || !w) return QNPU_ERR_ARG;
  if (!strcmp(s, "max")) return *w = QNPU_WSCALE_MAX, QNPU_OK;
  if (!strcmp(s, "mse")) return *w = QNPU_WSCALE_MSE, QNPU_OK;
  return QNPU_ERR_ARG;
}

const char *qnpu_wscale_name(qnpu_wscale_t w) { return w == QNPU_WSCALE_MSE ? "mse" : "max"; }

/* The scale of one output channel's weights w[n] for integers in [-qmax, qmax]. */
static float weight_scale(const float *w, size_t n, int32_t qmax, qnpu_wscale_t rule) {
  double amax = 0;
  for (size_t k = 0; k < n; k++) amax = fmax(amax, fabs((double)w[k]));
  if (amax == 0) return 1.0f; /* all zero: any scale represents them */
  float best = (float)(amax / qmax);
  if (rule != QNPU_WSCALE_MSE) return best;
  double best_err = INFINITY;
  for (int r = 100; r >= 50; r--) {
    const float s = (float)(amax * r / 100.0 / qmax);
    double err = 0;
    for (size_t k = 0; k < n; k++) {
      const double d = w[k] - (double)s * round_clamp(w[k] / (double)s, -qmax, qmax);
      err += d * d;
    }
    if (err < best_err) best_err = err, best = s;
  }
  return best;
}

/* The expected input of each of node nd's taps, averaged over its output
 * positions (a tap outside the input reads 0), from mean, the expected
 * input tensor: [KH][KW][C] for a conv, [K] for an fc. */
static double *expected_taps(const qnpu_net_t *f, const qnpu_net_node_t *nd, const double *mean) {
  const qnpu_net_tensor_t *in = &f->tensors[nd->in[0]], *out = &f->tensors[nd->out];
  const size_t k =
      nd->kind == QNPU_NODE_FC ? qnpu_net_tensor_size(f, nd->in[0]) : (size_t)nd->kh * (size_t)nd->kw * (size_t)in->c;
  double *e = calloc(k, sizeof *e);
  if (!e || nd->kind == QNPU_NODE_FC) {
    if (e) memcpy(e, mean, k * sizeof *e);
    return e;
  }
  for (int32_t oy = 0; oy < out->h; oy++)
    for (int32_t ox = 0; ox < out->w; ox++)
      for (int32_t ky = 0; ky < nd->kh; ky++)
        for (int32_t kx = 0; kx < nd->kw; kx++) {
          const int32_t iy = oy * nd->stride_h - nd->pad_top + ky * nd->dil_h;
          const int32_t ix = ox * nd->stride_w - nd->pad_left + kx * nd->dil_w;
          if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w) continue;
          const double *m = mean + ((size_t)iy * (size_t)in->w + (size_t)ix) * (size_t)in->c;
          double *d = e + ((size_t)ky * (size_t)nd->kw + (size_t)kx) * (size_t)in->c;
          for (int32_t c = 0; c < in->c; c++) d[c] += m[c];
        }
  for (size_t i = 0; i < k; i++) e[i] /= (double)out->h * (double)out->w;
  return e;
}

/* Weights, bias and requantization of conv/fc node i; mean (NULL: no bias
 * correction) is the expected float input of the node. */
static qnpu_status_t quantize_layer(const qnpu_net_t *f, qnpu_net_t *q, int i, qnpu_wscale_t rule, const double *mean,
                                    char *err, size_t errlen) {
  const qnpu_net_node_t *fn = &f->nodes[i];
  qnpu_net_node_t *nd = &q->nodes[i];
  const qnpu_net_tensor_t *in = &q->tensors[nd->in[0]], *out = &q->tensors[nd->out];
  const int32_t o = out->c, wmax = qmax_of(qnpu_prec_info(nd->prec)->weight_bits);
  const size_t nw = qnpu_net_weight_count(f, fn), per = nw / (size_t)o;
  nd->wq = malloc(nw);
  nd->wscale = malloc((size_t)o * sizeof *nd->wscale);
  nd->m0 = malloc((size_t)o * sizeof *nd->m0);
  nd->shift = malloc((size_t)o * sizeof *nd->shift);
  nd->bq = fn->bf || mean ? malloc((size_t)o * sizeof *nd->bq) : NULL;
  double *etap = mean ? expected_taps(f, fn, mean) : NULL;
  if (!nd->wq || !nd->wscale || !nd->m0 || !nd->shift || (!nd->bq && (fn->bf || mean)) || (mean && !etap)) {
    free(etap);
    return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of memory");
  }
  const int32_t cpg = fn->kind == QNPU_NODE_FC ? 0 : in->c / fn->groups, opg = o / fn->groups;
  for (int32_t c = 0; c < o; c++) {
    const float *w = fn->wf + (size_t)c * per;
    const float s = weight_scale(w, per, wmax, rule);
    nd->wscale[c] = s;
    for (size_t k = 0; k < per; k++) nd->wq[(size_t)c * per + k] = (int8_t)round_clamp(w[k] / (double)s, -wmax, wmax);
    const double acc_scale = (double)in->scale * (double)s;
    double b = fn->bf ? fn->bf[c] : 0.0;
    if (etap) { /* bias correction: remove the expected error the quantized weights add */
      const double *et = etap + (fn->kind == QNPU_NODE_FC ? 0 : (size_t)(c / opg) * (size_t)cpg);
      const size_t stride = fn->kind == QNPU_NODE_FC ? per : (size_t)in->c; /* per kernel tap */
      const size_t taps_c = fn->kind == QNPU_NODE_FC ? per : (size_t)cpg;
      for (size_t k = 0; k < per; k++)
        b -= ((double)s * nd->wq[(size_t)c * per + k] - (double)w[k]) * et[(k / taps_c) * stride + k % taps_c];
    }
    if (nd->bq) nd->bq[c] = round_clamp(b / acc_scale, INT32_MIN, INT32_MAX);
    const double m = acc_scale / (double)out->scale;
    int sh;
    if (qnpu_golden_quantize_multiplier(m, &nd->m0[c], &sh)) {
      free(etap);
      return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen, "node %s channel %d: the scale %g has no Q31 multiplier",
                        nd->name, c, m);
    }
    nd->shift[c] = sh;
  }
  free(etap);
  clamp_of(out, nd->act, &nd->act_min, &nd->act_max);
  return QNPU_OK;
}

qnpu_status_t qnpu_ptq(const qnpu_net_t *f, const uint8_t *pixels, int32_t n, const qnpu_ptq_options_t *opt,
                       qnpu_net_t *q, qnpu_ptq_range_t *ranges, char *err, size_t errlen) {
  if (!f || f->quantized || !pixels || n < 1 || !opt || !q || !qnpu_prec_info(opt->prec))
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "quantize: needs a float network, calibration images and a precision");
  memset(q, 0, sizeof *q);
  const qnpu_prec_info_t *pi = qnpu_prec_info(opt->prec);
  const int bits = pi->input_bits; /* every activation tensor */
  const qnpu_wscale_t wrule = opt->wscale;
  const int32_t batch = opt->batch > 0 ? opt->batch : 100;
  tap_ctx_t tc = {f, calloc((size_t)f->n_tensors, sizeof(qnpu_hist_t)), calloc((size_t)f->n_tensors, sizeof(double *))};
  float *logits = malloc((size_t)batch * (size_t)f->classes * sizeof *logits);
  qnpu_status_t st = tc.hist && tc.sum && logits ? QNPU_OK : qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of memory");
  for (int i = 0; !st && !opt->no_bias_correction && i < f->n_nodes; i++) {
    const int t = f->nodes[i].in[0];
    if (qnpu_node_on_array(&f->nodes[i]) && !tc.sum[t] &&
        !(tc.sum[t] = calloc(qnpu_net_tensor_size(f, t), sizeof(double))))
      st = qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of memory");
  }
  for (int t = 0; !st && t < f->n_tensors; t++) qnpu_hist_init(&tc.hist[t]);
  const size_t img = qnpu_net_tensor_size(f, f->input);
  for (int32_t b = 0; !st && b < n; b += batch) {
    const int32_t m = n - b < batch ? n - b : batch;
    st = qnpu_net_float_run(f, pixels + (size_t)b * img, m, logits, tap, &tc, err, errlen);
    if (st == QNPU_ERR_ARG) qnpu_error(st, err, errlen, "calibration: a float activation is NaN or infinite");
  }
  free(logits);
  for (int t = 0; !st && t < f->n_tensors; t++) /* sums -> means */
    for (size_t k = 0; tc.sum[t] && k < qnpu_net_tensor_size(f, t); k++) tc.sum[t][k] /= n;
  if (!st && qnpu_net_alloc(q, f->n_tensors, f->n_nodes)) st = qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of memory");
  if (st) {
    free_taps(&tc);
    return st;
  }
  memcpy(q->tensors, f->tensors, (size_t)f->n_tensors * sizeof *q->tensors);
  int first = -1, last = -1; /* the first and the last conv/fc node */
  for (int i = 0; i < f->n_nodes; i++) {
    q->nodes[i] = f->nodes[i];
    q->nodes[i].wf = q->nodes[i].bf = NULL;
    q->nodes[i].prec = opt->prec;
    if (qnpu_node_on_array(&f->nodes[i])) last = i, first = first < 0 ? i : first;
  }
  if (opt->int8_ends && first >= 0) q->nodes[first].prec = q->nodes[last].prec = QNPU_PREC_W8A8;
  q->quantized = 1;
  q->input = f->input, q->output = f->output, q->classes = f->classes;
  q->in_scale = f->in_scale, q->in_offset = f->in_offset;
  q->out_rank = f->out_rank;
  if (ranges) memset(ranges, 0, (size_t)f->n_tensors * sizeof *ranges);

  /* the input: its exact range */
  const double in_lo = f->in_offset, in_hi = 255.0 * f->in_scale + f->in_offset;
  qnpu_net_tensor_t *tin = &q->tensors[q->input];
  const int in_bits = opt->int8_ends ? 8 : bits;
  st = set_qparams(tin, fmin(in_lo, in_hi), fmax(in_lo, in_hi), in_bits);
  if (ranges) ranges[q->input] = (qnpu_ptq_range_t){tc.hist[q->input].min, tc.hist[q->input].max, in_lo, in_hi, 0};
  qnpu_net_make_lut(q);

  /* every node's output, in order, then its parameters */
  for (int i = 0; !st && i < q->n_nodes; i++) {
    qnpu_net_node_t *nd = &q->nodes[i];
    qnpu_net_tensor_t *out = &q->tensors[nd->out];
    const qnpu_hist_t *h = &tc.hist[nd->out];
    if (nd->kind == QNPU_NODE_MAXPOOL || nd->kind == QNPU_NODE_AVGPOOL || nd->kind == QNPU_NODE_RELU) {
      const qnpu_net_tensor_t *in = &q->tensors[nd->in[0]];
      out->bits = in->bits, out->scale = in->scale, out->zero_point = in->zero_point;
      if (ranges) ranges[nd->out] = (qnpu_ptq_range_t){h->min, h->max, ranges[nd->in[0]].lo, ranges[nd->in[0]].hi, 0};
    } else {
      qnpu_calib_t c = opt->calib;
      const int ob = opt->int8_ends && i == last ? 8 : bits; /* int8 ends: 8-bit logits */
      /* entropy: levels over |x| are all 2^b - 1 steps for a one-signed range */
      if (c.kind == QNPU_CALIB_ENTROPY && !c.levels) c.levels = h->min >= 0 ? (1 << ob) - 1 : 1 << (ob - 1);
      double lo, hi;
      st = qnpu_calib_range(h, &c, &lo, &hi);
      if (!st) st = set_qparams(out, lo, hi, ob);
      if (st) {
        qnpu_error(QNPU_ERR_ARG, err, errlen, "node %s: cannot calibrate its output", nd->name);
        break;
      }
      if (ranges) ranges[nd->out] = (qnpu_ptq_range_t){h->min, h->max, lo, hi, 1};
    }
    switch (nd->kind) {
      case QNPU_NODE_CONV:
      case QNPU_NODE_FC:
        st = quantize_layer(f, q, i, wrule, tc.sum[nd->in[0]], err, errlen);
        break;
      case QNPU_NODE_ADD: {
        const qnpu_net_tensor_t *a = &q->tensors[nd->in[0]], *b = &q->tensors[nd->in[1]];
        clamp_of(out, nd->act, &nd->act_min, &nd->act_max);
        st = qnpu_golden_add_params(a->scale, a->zero_point, b->scale, b->zero_point, out->scale, out->zero_point,
                                    nd->act_min, nd->act_max, &nd->add);
        if (st) qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen, "node %s: no integer ADD for these scales", nd->name);
        break;
      }
      case QNPU_NODE_RELU:
        clamp_of(out, nd->act, &nd->act_min, &nd->act_max);
        break;
      default:
        clamp_of(out, QNPU_ACT_NONE, &nd->act_min, &nd->act_max);
        break;
    }
  }
  free_taps(&tc);
  char cal[48];
  if (opt->calib.kind == QNPU_CALIB_PERCENTILE)
    snprintf(cal, sizeof cal, "percentile:%g", opt->calib.percentile);
  else
    snprintf(cal, sizeof cal, "%s", opt->calib.kind == QNPU_CALIB_MAX ? "max" : "entropy");
  snprintf(q->meta, sizeof q->meta, "%.300s calib=%s weights=%s%s precision=%s%s calib_images=%d", f->meta, cal,
           qnpu_wscale_name(wrule), opt->no_bias_correction ? "" : "+bias-correction", pi->name,
           opt->int8_ends ? " int8-ends" : "", n);
  char why[256];
  if (!st && (st = qnpu_net_check(q, why, sizeof why))) qnpu_error(st, err, errlen, "quantize: %s", why);
  if (st) qnpu_net_free(q);
  return st;
}
