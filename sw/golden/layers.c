/* layers.c - golden conv2d, depthwise conv2d, fully-connected, GEMM, pooling
 * and elementwise add. Plain loops over the definitions in docs/numerics.md;
 * nothing here knows how the hardware tiles or orders the work.
 *
 * Accumulation is modulo 2^32 (two's-complement wrap-around): it is
 * associative, so every tiling and summation order gives the same int32. */
#include "qnpu_golden.h"

#include <math.h>

/* acc + v modulo 2^32, without signed-overflow undefined behaviour. */
static int32_t wrap_add(int32_t acc, int64_t v) { return (int32_t)(uint32_t)((uint32_t)acc + (uint32_t)(uint64_t)v); }

int32_t qnpu_golden_conv_out_dim(int32_t in, int32_t k, int32_t stride, int32_t dil, int32_t pad_a, int32_t pad_b) {
  const int64_t span = (int64_t)in + pad_a + pad_b - (int64_t)dil * (k - 1) - 1;
  if (span < 0 || stride < 1) return 0;
  return (int32_t)(span / stride + 1);
}

static int conv_params_ok(const qnpu_conv_params_t *p) {
  return p && p->n > 0 && p->h > 0 && p->w > 0 && p->c > 0 && p->out_c > 0 && p->kh > 0 && p->kw > 0 &&
         p->stride_h > 0 && p->stride_w > 0 && p->dil_h > 0 && p->dil_w > 0 && p->pad_top >= 0 && p->pad_left >= 0 &&
         p->pad_bottom >= 0 && p->pad_right >= 0;
}

/* Shared loop nest of conv2d and depthwise: `in_ch(oc, j)` is the input
 * channel of the j-th of `taps_c` channel taps of output channel oc and
 * `f_idx` the filter element, both computed by the two callers below. */
typedef struct {
  int depthwise;
  int32_t cin_per_group, cout_per_group; /* conv2d */
} conv_kind_t;

static qnpu_status_t conv_common(const qnpu_conv_params_t *p, const conv_kind_t *kind, const qnpu_requant_t *rq,
                                 const int8_t *input, const int8_t *filter, const int32_t *bias, int32_t *out) {
  const int32_t oh = qnpu_golden_conv_out_dim(p->h, p->kh, p->stride_h, p->dil_h, p->pad_top, p->pad_bottom);
  const int32_t ow = qnpu_golden_conv_out_dim(p->w, p->kw, p->stride_w, p->dil_w, p->pad_left, p->pad_right);
  if (oh < 1 || ow < 1) return QNPU_ERR_ARG;
  if (qnpu_golden_requant_check(rq, (size_t)p->out_c) != QNPU_OK) return QNPU_ERR_ARG;
  const int32_t taps_c = kind->depthwise ? 1 : kind->cin_per_group;
  for (int32_t b = 0; b < p->n; b++)
    for (int32_t y = 0; y < oh; y++)
      for (int32_t x = 0; x < ow; x++)
        for (int32_t oc = 0; oc < p->out_c; oc++) {
          int32_t acc = bias ? bias[oc] : 0;
          for (int32_t ky = 0; ky < p->kh; ky++) {
            const int32_t iy = y * p->stride_h - p->pad_top + ky * p->dil_h;
            if (iy < 0 || iy >= p->h) continue;
            for (int32_t kx = 0; kx < p->kw; kx++) {
              const int32_t ix = x * p->stride_w - p->pad_left + kx * p->dil_w;
              if (ix < 0 || ix >= p->w) continue;
              const int8_t *px = input + (((size_t)b * p->h + iy) * p->w + ix) * p->c;
              for (int32_t j = 0; j < taps_c; j++) {
                int32_t ic;
                size_t fi;
                if (kind->depthwise) {
                  ic = oc / p->depth_multiplier;
                  fi = ((size_t)ky * p->kw + kx) * p->out_c + oc;
                } else {
                  ic = (oc / kind->cout_per_group) * kind->cin_per_group + j;
                  fi = (((size_t)oc * p->kh + ky) * p->kw + kx) * kind->cin_per_group + j;
                }
                const int64_t wv = (int64_t)filter[fi] - p->filter_zero_point;
                const int64_t xv = (int64_t)px[ic] - p->input_zero_point;
                acc = wrap_add(acc, wv * xv);
              }
            }
          }
          const size_t o = (((size_t)b * oh + y) * ow + x) * p->out_c + oc;
          out[o] = qnpu_golden_requantize(acc, (size_t)oc, rq);
        }
  return QNPU_OK;
}

qnpu_status_t qnpu_golden_conv2d(const qnpu_conv_params_t *p, const qnpu_requant_t *rq, const int8_t *input,
                                 const int8_t *filter, const int32_t *bias, int32_t *out) {
  if (!conv_params_ok(p) || !input || !filter || !out) return QNPU_ERR_ARG;
  if (p->groups < 1 || p->c % p->groups || p->out_c % p->groups) return QNPU_ERR_ARG;
  const conv_kind_t kind = {0, p->c / p->groups, p->out_c / p->groups};
  return conv_common(p, &kind, rq, input, filter, bias, out);
}

qnpu_status_t qnpu_golden_depthwise_conv2d(const qnpu_conv_params_t *p, const qnpu_requant_t *rq, const int8_t *input,
                                           const int8_t *filter, const int32_t *bias, int32_t *out) {
  if (!conv_params_ok(p) || !input || !filter || !out) return QNPU_ERR_ARG;
  if (p->depth_multiplier < 1 || p->out_c != p->c * p->depth_multiplier) return QNPU_ERR_ARG;
  const conv_kind_t kind = {1, 1, 1};
  return conv_common(p, &kind, rq, input, filter, bias, out);
}

qnpu_status_t qnpu_golden_fully_connected(int32_t n, int32_t k, int32_t o, int32_t input_zero_point,
                                          int32_t filter_zero_point, const qnpu_requant_t *rq, const int8_t *input,
                                          const int8_t *weights, const int32_t *bias, int32_t *out) {
  if (n < 1 || k < 1 || o < 1 || !input || !weights || !out) return QNPU_ERR_ARG;
  if (qnpu_golden_requant_check(rq, (size_t)o) != QNPU_OK) return QNPU_ERR_ARG;
  for (int32_t b = 0; b < n; b++)
    for (int32_t oc = 0; oc < o; oc++) {
      int32_t acc = bias ? bias[oc] : 0;
      for (int32_t i = 0; i < k; i++) {
        const int64_t wv = (int64_t)weights[(size_t)oc * k + i] - filter_zero_point;
        const int64_t xv = (int64_t)input[(size_t)b * k + i] - input_zero_point;
        acc = wrap_add(acc, wv * xv);
      }
      out[(size_t)b * o + oc] = qnpu_golden_requantize(acc, (size_t)oc, rq);
    }
  return QNPU_OK;
}

qnpu_status_t qnpu_golden_gemm(int32_t m, int32_t k, int32_t n, int32_t za, int32_t zb, const qnpu_requant_t *rq,
                               const int8_t *a, const int8_t *b, const int32_t *bias, int32_t *out) {
  if (m < 1 || k < 1 || n < 1 || !a || !b || !out) return QNPU_ERR_ARG;
  if (qnpu_golden_requant_check(rq, (size_t)n) != QNPU_OK) return QNPU_ERR_ARG;
  for (int32_t i = 0; i < m; i++)
    for (int32_t j = 0; j < n; j++) {
      int32_t acc = bias ? bias[j] : 0;
      for (int32_t l = 0; l < k; l++) {
        const int64_t av = (int64_t)a[(size_t)i * k + l] - za;
        const int64_t bv = (int64_t)b[(size_t)l * n + j] - zb;
        acc = wrap_add(acc, av * bv);
      }
      out[(size_t)i * n + j] = qnpu_golden_requantize(acc, (size_t)j, rq);
    }
  return QNPU_OK;
}

/* ---- pooling ------------------------------------------------------------ */

static int pool_params_ok(const qnpu_pool_params_t *p) {
  return p && p->n > 0 && p->h > 0 && p->w > 0 && p->c > 0 && p->kh > 0 && p->kw > 0 && p->stride_h > 0 &&
         p->stride_w > 0 && p->pad_top >= 0 && p->pad_left >= 0 && p->pad_bottom >= 0 && p->pad_right >= 0 &&
         p->act_min <= p->act_max;
}

/* Visits every output of a pooling layer; `avg` selects the reduction. */
static qnpu_status_t pool(const qnpu_pool_params_t *p, const int8_t *input, int8_t *out, int avg) {
  if (!pool_params_ok(p) || !input || !out) return QNPU_ERR_ARG;
  const int32_t oh = qnpu_golden_conv_out_dim(p->h, p->kh, p->stride_h, 1, p->pad_top, p->pad_bottom);
  const int32_t ow = qnpu_golden_conv_out_dim(p->w, p->kw, p->stride_w, 1, p->pad_left, p->pad_right);
  if (oh < 1 || ow < 1) return QNPU_ERR_ARG;
  for (int32_t b = 0; b < p->n; b++)
    for (int32_t y = 0; y < oh; y++)
      for (int32_t x = 0; x < ow; x++)
        for (int32_t c = 0; c < p->c; c++) {
          int32_t sum = 0, count = 0, mx = INT32_MIN;
          for (int32_t ky = 0; ky < p->kh; ky++) {
            const int32_t iy = y * p->stride_h - p->pad_top + ky;
            if (iy < 0 || iy >= p->h) continue;
            for (int32_t kx = 0; kx < p->kw; kx++) {
              const int32_t ix = x * p->stride_w - p->pad_left + kx;
              if (ix < 0 || ix >= p->w) continue;
              const int32_t v = input[(((size_t)b * p->h + iy) * p->w + ix) * p->c + c];
              sum += v;
              count++;
              if (v > mx) mx = v;
            }
          }
          if (count == 0) return QNPU_ERR_ARG;
          int32_t r = mx;
          if (avg) /* TFLite: round half away from zero */
            r = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
          if (r < p->act_min) r = p->act_min;
          if (r > p->act_max) r = p->act_max;
          out[(((size_t)b * oh + y) * ow + x) * p->c + c] = (int8_t)r;
        }
  return QNPU_OK;
}

qnpu_status_t qnpu_golden_max_pool(const qnpu_pool_params_t *p, const int8_t *input, int8_t *out) {
  return pool(p, input, out, 0);
}

qnpu_status_t qnpu_golden_avg_pool(const qnpu_pool_params_t *p, const int8_t *input, int8_t *out) {
  return pool(p, input, out, 1);
}

/* ---- elementwise add ---------------------------------------------------- */

qnpu_status_t qnpu_golden_add_params(double s1, int32_t z1, double s2, int32_t z2, double sy, int32_t zy,
                                     int32_t act_min, int32_t act_max, qnpu_add_params_t *out) {
  if (!out || !(s1 > 0.0) || !(s2 > 0.0) || !(sy > 0.0) || act_min > act_max) return QNPU_ERR_ARG;
  qnpu_add_params_t p = {0};
  p.input1_offset = -z1;
  p.input2_offset = -z2;
  p.output_offset = zy;
  p.left_shift = 20;
  p.act_min = act_min;
  p.act_max = act_max;
  const double twice_max = 2.0 * (s1 > s2 ? s1 : s2);
  const double r1 = s1 / twice_max, r2 = s2 / twice_max;
  const double ry = twice_max / ((double)(1 << p.left_shift) * sy);
  if (qnpu_golden_quantize_multiplier(r1, &p.input1_multiplier, &p.input1_shift) ||
      qnpu_golden_quantize_multiplier(r2, &p.input2_multiplier, &p.input2_shift) ||
      qnpu_golden_quantize_multiplier(ry, &p.output_multiplier, &p.output_shift))
    return QNPU_ERR_ARG;
  /* TFLite's QuantizeMultiplierSmallerThanOneExp: every shift must be <= 0. */
  if (p.input1_shift > 0 || p.input2_shift > 0 || p.output_shift > 0) return QNPU_ERR_UNSUPPORTED;
  *out = p;
  return QNPU_OK;
}

void qnpu_golden_add(const qnpu_add_params_t *p, const int8_t *in1, const int8_t *in2, size_t n, int8_t *out) {
  for (size_t i = 0; i < n; i++) {
    const int32_t v1 = (p->input1_offset + in1[i]) * (1 << p->left_shift);
    const int32_t v2 = (p->input2_offset + in2[i]) * (1 << p->left_shift);
    const int32_t s1 = qnpu_golden_mbqm(v1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = qnpu_golden_mbqm(v2, p->input2_multiplier, p->input2_shift);
    int32_t r = qnpu_golden_mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
    if (r < p->act_min) r = p->act_min;
    if (r > p->act_max) r = p->act_max;
    out[i] = (int8_t)r;
  }
}

/* ---- ONNX Runtime's int8 kernels (MLAS, x86-64 AVX2) ------------------------------- */

int32_t qnpu_golden_ort_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
  float v = x / scale;
  const float vlo = (float)(lo - zp), vhi = (float)(hi - zp);
  if (!(v >= vlo)) v = vlo; /* MAXPS: a NaN quotient takes the bound */
  if (v > vhi) v = vhi;
  return (int32_t)nearbyintf(v) + zp;
}

/* The value ONNX holds for int8-domain v of a uint8 (u8) or int8 tensor. */
static int32_t onnx_val(int32_t v, int u8) { return u8 ? v + 128 : v; }

void qnpu_golden_ort_add(const qnpu_ort_add_t *p, const int8_t *a, const int8_t *b, size_t n, int8_t *out) {
  const float ra = p->a.scale / p->c.scale, rb = p->b.scale / p->c.scale;
  const float za = (float)onnx_val(p->a.zp, p->a.u8), zb = (float)onnx_val(p->b.zp, p->b.u8);
  const float fixed = (float)onnx_val(p->c.zp, p->c.u8) - fmaf(ra, za, rb * zb);
  const int32_t lo = p->c.u8 ? 0 : -128, hi = lo + 255;
  for (size_t i = 0; i < n; i++) {
    const float x = (float)onnx_val(a[i], p->a.u8), y = (float)onnx_val(b[i], p->b.u8);
    const float r = nearbyintf(fmaf(x, ra, fmaf(y, rb, fixed)));
    /* a NaN (a scale ratio that overflowed) becomes INT32_MIN, as CVTPS2DQ makes it */
    int32_t v = r != r ? INT32_MIN : r >= 2147483647.0f ? INT32_MAX : r <= -2147483648.0f ? INT32_MIN : (int32_t)r;
    v = v < -32768 ? -32768 : v > 32767 ? 32767 : v; /* packs_epi32 */
    v = v < lo ? lo : v > hi ? hi : v;               /* packs/packus_epi16 */
    out[i] = (int8_t)(p->c.u8 ? v - 128 : v);
  }
}

qnpu_status_t qnpu_golden_ort_avg_pool(const qnpu_pool_params_t *p, int count_include_pad, const qnpu_ort_q_t *xq,
                                       const qnpu_ort_q_t *yq, const int8_t *input, int8_t *out) {
  if (!pool_params_ok(p) || !xq || !yq || !input || !out) return QNPU_ERR_ARG;
  const int32_t oh = qnpu_golden_conv_out_dim(p->h, p->kh, p->stride_h, 1, p->pad_top, p->pad_bottom);
  const int32_t ow = qnpu_golden_conv_out_dim(p->w, p->kw, p->stride_w, 1, p->pad_left, p->pad_right);
  if (oh < 1 || ow < 1) return QNPU_ERR_ARG;
  const float lo = yq->u8 ? 0.0f : -128.0f, hi = lo + 255.0f, zy = (float)onnx_val(yq->zp, yq->u8);
  for (int32_t b = 0; b < p->n; b++)
    for (int32_t y = 0; y < oh; y++) {
      const int32_t hs = y * p->stride_h - p->pad_top, he = hs + p->kh < p->h ? hs + p->kh : p->h;
      for (int32_t x = 0; x < ow; x++) {
        const int32_t ws = x * p->stride_w - p->pad_left, we = ws + p->kw < p->w ? ws + p->kw : p->w;
        const int32_t h0 = hs > 0 ? hs : 0, w0 = ws > 0 ? ws : 0;
        if (he <= h0 || we <= w0) return QNPU_ERR_ARG;
        const int32_t count = count_include_pad ? p->kh * p->kw : (he - h0) * (we - w0);
        for (int32_t c = 0; c < p->c; c++) {
          float sum = 0.0f;
          for (int32_t iy = h0; iy < he; iy++)
            for (int32_t ix = w0; ix < we; ix++) {
              const int32_t q = input[(((size_t)b * p->h + iy) * p->w + ix) * p->c + c];
              sum += xq->scale * (float)(q - xq->zp); /* the same difference in either type */
            }
          sum /= (float)count;
          float r = nearbyintf(sum / yq->scale + zy);
          r = r < lo ? lo : r > hi ? hi : r;
          out[(((size_t)b * oh + y) * ow + x) * p->c + c] = (int8_t)((r == r ? (int32_t)r : 0) - (yq->u8 ? 128 : 0));
        }
      }
    }
  return QNPU_OK;
}

qnpu_status_t qnpu_golden_ort_global_avg_pool(int32_t n, int32_t hw, int32_t c, float sx, int32_t zx, float sy,
                                              int32_t zy, const int8_t *input, int8_t *out) {
  if (n < 1 || hw < 1 || hw >= (1 << 24) || c < 1 || !input || !out) return QNPU_ERR_ARG;
  const float s = sx / (sy * (float)hw);
  if (!(s >= 0x1.0p-32f && s < 256.0f)) return QNPU_ERR_ARG;
  for (int32_t b = 0; b < n; b++)
    for (int32_t ch = 0; ch < c; ch++) {
      int32_t acc = wrap_add(0, -(int64_t)zx * hw); /* int32 wrap-around, as MLAS's adds */
      for (int32_t i = 0; i < hw; i++) acc = wrap_add(acc, input[((size_t)b * hw + i) * c + ch]);
      const double r = qnpu_golden_ort_round(acc, s) + zy;
      out[(size_t)b * c + ch] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
    }
  return QNPU_OK;
}
