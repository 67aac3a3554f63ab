/* rand_layer.h - seeded random layers for the runtime tests and make
 * regress: conv2d (stride, padding up to beyond what a LOAD pads, dilation,
 * groups), depthwise (depth multiplier), fully-connected, batch, every
 * precision the device has, input and weight zero points across their
 * range, saturating and ReLU clamps, positive and negative shifts,
 * per-tensor and per-channel requantization (TFLite's Q31, or ONNX Runtime's
 * float32 when the device has it), raw int32 output, no bias; and
 * runtime options that force small tiles, streamed weights and K splits.
 * One seed gives one layer, on every machine. */
#ifndef QNPU_RAND_LAYER_H
#define QNPU_RAND_LAYER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_layer.h"
#include "qnpu_rt.h"
#include "test_util.h"

typedef struct {
  qnpu_layer_t l;
  qnpu_rt_options_t opt;
  int8_t *input, *filter;
  int32_t *bias, *m0, *shift;
  float *scale;                /* ort_f32 scales                */
  char desc[340];              /* one line: what the layer is */
} rand_layer_t;

static inline int32_t rl_pick(test_rng_t *r, const int32_t *v, int n) { return v[rng_range(r, 0, n - 1)]; }

/* Fills *x with the layer of seed for a device with CONFIG0.PRECISIONS
 * mask prec_mask and (req_f32) the float32 requantization; returns 0, or -1
 * when out of memory. */
static inline int rand_layer_make(rand_layer_t *x, uint64_t seed, uint32_t prec_mask, int req_f32) {
  memset(x, 0, sizeof *x);
  test_rng_t r = {seed * 0x9E3779B97F4A7C15ull + 12345};
  qnpu_layer_t *l = &x->l;
  qnpu_conv_params_t *p = &l->p;
  /* precision among those built */
  do l->prec = (qnpu_prec_t)rng_range(&r, 0, 2);
  while (!qnpu_prec_built(l->prec, prec_mask));
  const qnpu_prec_info_t *pi = qnpu_prec_info(l->prec);
  const int32_t alo = -(1 << (pi->input_bits - 1)), ahi = -alo - 1;
  const int32_t wlo = -(1 << (pi->weight_bits - 1)), whi = -wlo - 1;
  const int32_t olo = -(1 << (pi->output_bits - 1)), ohi = -olo - 1;
  const int kind = rng_range(&r, 0, 9); /* 0-5 conv2d, 6-7 depthwise, 8-9 fully-connected */
  p->stride_h = p->stride_w = p->dil_h = p->dil_w = 1;
  p->groups = p->depth_multiplier = 1;
  if (kind >= 8) {
    l->op = QNPU_OP_FULLY_CONNECTED;
    p->n = rng_range(&r, 1, 40);
    p->h = p->w = p->kh = p->kw = 1;
    p->c = rng_range(&r, 1, rng_range(&r, 0, 3) ? 80 : 600);
    p->out_c = rng_range(&r, 1, 70);
  } else {
    l->op = kind >= 6 ? QNPU_OP_DEPTHWISE_CONV2D : QNPU_OP_CONV2D;
    p->n = rng_range(&r, 0, 4) ? 1 : rng_range(&r, 2, 3);
    p->kh = rng_range(&r, 1, 4);
    p->kw = rng_range(&r, 1, 4);
    if (!rng_range(&r, 0, 9)) p->kh = 1, p->kw = rng_range(&r, 5, 20); /* 1 x n */
    p->stride_h = rng_range(&r, 1, 3);
    p->stride_w = rng_range(&r, 1, 3);
    if (!rng_range(&r, 0, 3)) p->dil_h = rng_range(&r, 1, 3), p->dil_w = rng_range(&r, 1, 3);
    const int32_t span_h = p->dil_h * (p->kh - 1) + 1, span_w = p->dil_w * (p->kw - 1) + 1;
    p->h = rng_range(&r, 1, 20);
    p->w = rng_range(&r, 1, 24);
    const int big_pad = !rng_range(&r, 0, 19); /* beyond a LOAD's 15 */
    p->pad_top = rng_range(&r, 0, big_pad ? 18 : 3);
    p->pad_bottom = rng_range(&r, 0, big_pad ? 18 : 3);
    p->pad_left = rng_range(&r, 0, big_pad ? 18 : 3);
    p->pad_right = rng_range(&r, 0, big_pad ? 18 : 3);
    /* make the kernel fit the padded input */
    if (p->h + p->pad_top + p->pad_bottom < span_h) p->pad_bottom += span_h - (p->h + p->pad_top + p->pad_bottom);
    if (p->w + p->pad_left + p->pad_right < span_w) p->pad_right += span_w - (p->w + p->pad_left + p->pad_right);
    if (l->op == QNPU_OP_DEPTHWISE_CONV2D) {
      p->c = rng_range(&r, 1, 40);
      p->depth_multiplier = rng_range(&r, 0, 2) ? 1 : rng_range(&r, 2, 3);
      p->out_c = p->c * p->depth_multiplier;
    } else {
      static const int32_t gs[] = {1, 1, 1, 1, 2, 3, 4, 8};
      p->groups = rl_pick(&r, gs, 8);
      p->c = p->groups * rng_range(&r, 1, p->groups > 1 ? 12 : 70);
      p->out_c = p->groups * rng_range(&r, 1, p->groups > 1 ? 12 : 40);
    }
  }
  p->input_zero_point = rng_range(&r, alo, ahi);
  p->filter_zero_point = rng_range(&r, 0, 4) ? 0 : rng_range(&r, wlo, whi);
  l->rq.mode = rng_range(&r, 0, 9) ? QNPU_REQUANT_TFLITE_Q31 : QNPU_REQUANT_NONE;
  l->rq.per_channel = rng_range(&r, 0, 3) != 0;
  const int32_t zp = rng_range(&r, olo, ohi);
  l->rq.output_zero_point = zp;
  const int clamp = rng_range(&r, 0, 3);
  l->rq.act_min = clamp == 1 ? zp : clamp == 2 ? rng_range(&r, olo, zp) : olo;          /* ReLU, random */
  l->rq.act_max = clamp == 2 ? rng_range(&r, l->rq.act_min, ohi) : ohi;
  const size_t ni = qnpu_layer_in_count(l), nf = qnpu_layer_filter_count(l), O = (size_t)p->out_c;
  x->input = malloc(ni);
  x->filter = malloc(nf);
  x->bias = malloc(O * sizeof *x->bias);
  x->m0 = malloc(O * sizeof *x->m0);
  x->shift = malloc(O * sizeof *x->shift);
  x->scale = malloc(O * sizeof *x->scale);
  if (!x->input || !x->filter || !x->bias || !x->m0 || !x->shift || !x->scale) return -1;
  for (size_t i = 0; i < ni; i++) x->input[i] = (int8_t)rng_range(&r, alo, ahi);
  for (size_t i = 0; i < nf; i++) x->filter[i] = (int8_t)rng_range(&r, wlo, whi);
  /* shifts around the accumulator's spread, some positive (left) */
  const int32_t taps = (int32_t)(nf / O);
  int lg = 0;
  while ((1 << lg) < taps) lg++;
  const int spread = pi->input_bits + pi->weight_bits - 2 + lg / 2 - (pi->output_bits - 1);
  for (size_t o = 0; o < O; o++) {
    x->bias[o] = rng_range(&r, 0, 3) ? rng_range(&r, -(1 << 14), 1 << 14) : rng_range(&r, INT32_MIN / 2, INT32_MAX / 2);
    x->m0[o] = rng_range(&r, 0, 9) ? rng_range(&r, 1 << 30, INT32_MAX) : rng_range(&r, 0, 1 << 30);
    int32_t s = -spread + rng_range(&r, -2, 2);
    if (!rng_range(&r, 0, 9)) s = rng_range(&r, 0, 6);
    x->shift[o] = s < -31 ? -31 : s > 30 ? 30 : s;
  }
  l->input = x->input;
  l->filter = x->filter;
  l->bias = rng_range(&r, 0, 5) ? x->bias : NULL;
  l->rq.multiplier = x->m0;
  l->rq.shift = x->shift;
  /* runtime options: small tiles, small slots (K splits), streamed weights */
  if (!rng_range(&r, 0, 3)) x->opt.max_tile_pixels = (uint32_t)rng_range(&r, 1, 40);
  if (!rng_range(&r, 0, 3)) x->opt.act_slot_rows = (uint32_t)rng_range(&r, 64, 400);
  if (!rng_range(&r, 0, 3)) x->opt.wgt_slot_rows = (uint32_t)rng_range(&r, 64, 600), x->opt.no_resident = 1;
  x->opt.no_packing = !rng_range(&r, 0, 3); /* taps packed into channels when it pays, or never */
  /* one in three Q31 layers becomes ort_f32 at the same real scale, as a
   * float32; per channel, one scale in twenty is 0, one 1e30 (the product
   * overflows float32, or saturates) and one 0.5 (odd sums are exact ties) */
  if (req_f32 && l->rq.mode == QNPU_REQUANT_TFLITE_Q31 && !rng_range(&r, 0, 2)) {
    l->rq.mode = QNPU_REQUANT_ORT_F32;
    for (size_t o = 0; o < O; o++) {
      x->scale[o] = (float)ldexp((double)x->m0[o], x->shift[o] - 31);
      const int odd = rng_range(&r, 0, 19);
      if (!odd) x->scale[o] = 0.0f;
      if (odd == 1) x->scale[o] = 1e30f;
      if (odd == 2) x->scale[o] = 0.5f; /* exact ties */
    }
    l->rq.scale_f32 = x->scale;
  }
  snprintf(x->desc, sizeof x->desc,
           "%s %s n%d %dx%dx%d -> %d, k%dx%d s%dx%d d%dx%d pad %d/%d/%d/%d g%d dm%d zx %d zw %d %s%s "
           "clamp [%d, %d] opts px%u act%u wgt%u%s%s%s",
           qnpu_op_name(l->op), pi->name, p->n, p->h, p->w, p->c, p->out_c, p->kh, p->kw, p->stride_h, p->stride_w,
           p->dil_h, p->dil_w, p->pad_top, p->pad_left, p->pad_bottom, p->pad_right, p->groups,
           p->depth_multiplier, p->input_zero_point, p->filter_zero_point,
           l->rq.mode == QNPU_REQUANT_NONE ? "raw-int32" : l->rq.per_channel ? "per-channel" : "per-tensor",
           l->bias ? "" : " no-bias", l->rq.act_min, l->rq.act_max, x->opt.max_tile_pixels, x->opt.act_slot_rows,
           x->opt.wgt_slot_rows, x->opt.no_resident ? " streamed" : "", x->opt.no_packing ? " no-packing" : "",
           l->rq.mode == QNPU_REQUANT_ORT_F32 ? " ort_f32" : "");
  return 0;
}

static inline void rand_layer_free(rand_layer_t *x) {
  free(x->input);
  free(x->filter);
  free(x->bias);
  free(x->m0);
  free(x->shift);
  free(x->scale);
  memset(x, 0, sizeof *x);
}

#endif /* QNPU_RAND_LAYER_H */
