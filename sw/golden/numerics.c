/* numerics.c - fixed-point primitives, quantization and requantization.
 * The rules are in docs/numerics.md; this file is their executable form. */
#include <float.h>
#include <math.h>

#include "qnpu_golden.h"

const char *qnpu_status_str(qnpu_status_t s) {
  switch (s) {
    case QNPU_OK: return "ok";
    case QNPU_ERR_ARG: return "invalid argument";
    case QNPU_ERR_TIMEOUT: return "timeout";
    case QNPU_ERR_HW: return "hardware error";
    case QNPU_ERR_NOMEM: return "out of memory";
    case QNPU_ERR_UNSUPPORTED: return "unsupported";
    case QNPU_ERR_FORMAT: return "malformed input";
    case QNPU_ERR_IO: return "i/o error";
  }
  return "unknown status";
}

int32_t qnpu_golden_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
  /* C division truncates toward zero: this is TFLite's exact expression. */
  return (int32_t)((ab + nudge) / (INT64_C(1) << 31));
}

int32_t qnpu_golden_rdbpot(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t qnpu_golden_mbqm(int32_t x, int32_t m0, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  int64_t shifted = (int64_t)x * (INT64_C(1) << left);
  if (shifted > INT32_MAX) shifted = INT32_MAX; /* qnpu: saturate, see numerics.md */
  if (shifted < INT32_MIN) shifted = INT32_MIN;
  return qnpu_golden_rdbpot(qnpu_golden_srdhm((int32_t)shifted, m0), right);
}

qnpu_status_t qnpu_golden_quantize_multiplier(double real, int32_t *m0_out,
                                              int *shift_out) {
  if (!m0_out || !shift_out || !isfinite(real) || real < 0.0) return QNPU_ERR_ARG;
  if (real == 0.0) {
    *m0_out = 0;
    *shift_out = 0;
    return QNPU_OK;
  }
  int shift;
  const double q = frexp(real, &shift);
  int64_t q_fixed = (int64_t)round(q * (double)(INT64_C(1) << 31));
  if (q_fixed == (INT64_C(1) << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  if (shift < -31) {
    shift = 0;
    q_fixed = 0;
  }
  if (shift > 30) return QNPU_ERR_ARG;
  *m0_out = (int32_t)q_fixed;
  *shift_out = shift;
  return QNPU_OK;
}

static int32_t qmin_of(int bits) { return -(INT32_C(1) << (bits - 1)); }
static int32_t qmax_of(int bits) { return (INT32_C(1) << (bits - 1)) - 1; }

qnpu_status_t qnpu_golden_qparams_from_range(double rmin, double rmax, int bits,
                                             qnpu_range_mode_t mode,
                                             qnpu_qparams_t *out) {
  if (!out || !isfinite(rmin) || !isfinite(rmax) || rmin > rmax || bits < 2 ||
      bits > 16)
    return QNPU_ERR_ARG;
  const int32_t qmin = qmin_of(bits), qmax = qmax_of(bits);
  qnpu_qparams_t p = {0.0, 0, bits};
  switch (mode) {
    case QNPU_RANGE_ASYMMETRIC: {
      if (rmin > 0.0) rmin = 0.0; /* zero must be exactly representable */
      if (rmax < 0.0) rmax = 0.0;
      if (rmax == rmin) return QNPU_ERR_ARG;
      p.scale = (rmax - rmin) / (double)(qmax - qmin);
      double z = round((double)qmin - rmin / p.scale);
      if (z < qmin) z = qmin;
      if (z > qmax) z = qmax;
      p.zero_point = (int32_t)z;
      break;
    }
    case QNPU_RANGE_ASYMMETRIC_WU: {
      if (rmax == rmin) return QNPU_ERR_ARG;
      const double s = (double)((INT64_C(1) << bits) - 1) / (rmax - rmin);
      p.scale = 1.0 / s;
      p.zero_point = (int32_t)((INT64_C(1) << (bits - 1)) - (int64_t)round(rmax * s));
      break;
    }
    case QNPU_RANGE_SYMMETRIC: {
      const double amax = fmax(fabs(rmin), fabs(rmax));
      if (amax == 0.0) return QNPU_ERR_ARG;
      p.scale = amax / (double)qmax;
      p.zero_point = 0;
      break;
    }
    default:
      return QNPU_ERR_ARG;
  }
  *out = p;
  return QNPU_OK;
}

int32_t qnpu_golden_quantize(double r, const qnpu_qparams_t *p) {
  const double q = round(r / p->scale) + (double)p->zero_point;
  if (q < qmin_of(p->bits)) return qmin_of(p->bits);
  if (q > qmax_of(p->bits)) return qmax_of(p->bits);
  return (int32_t)q;
}

double qnpu_golden_dequantize(int32_t q, const qnpu_qparams_t *p) {
  return p->scale * (double)((int64_t)q - p->zero_point);
}

size_t qnpu_golden_int4_packed_size(size_t n) { return n / 2 + (n & 1); }

qnpu_status_t qnpu_golden_pack_int4(const int8_t *src, size_t n, uint8_t *dst) {
  if ((!src || !dst) && n) return QNPU_ERR_ARG;
  for (size_t i = 0; i < n; i++)
    if (src[i] < -8 || src[i] > 7) return QNPU_ERR_ARG;
  for (size_t i = 0; i < n; i += 2) {
    const unsigned lo = (unsigned)src[i] & 0xFu;
    const unsigned hi = i + 1 < n ? (unsigned)src[i + 1] & 0xFu : 0u;
    dst[i / 2] = (uint8_t)(lo | (hi << 4));
  }
  return QNPU_OK;
}

void qnpu_golden_unpack_int4(const uint8_t *src, size_t n, int8_t *dst) {
  for (size_t i = 0; i < n; i++) {
    const unsigned nib = (i & 1) ? (src[i / 2] >> 4) : (src[i / 2] & 0xFu);
    dst[i] = (int8_t)((int)nib - ((nib & 0x8u) ? 16 : 0));
  }
}

qnpu_status_t qnpu_golden_requant_check(const qnpu_requant_t *rq,
                                        size_t channels) {
  if (!rq) return QNPU_ERR_ARG;
  if (rq->mode == QNPU_REQUANT_NONE) return QNPU_OK;
  if (rq->act_min > rq->act_max) return QNPU_ERR_ARG;
  const size_t n = rq->per_channel ? channels : 1;
  if (rq->mode == QNPU_REQUANT_TFLITE_Q31) {
    if (!rq->multiplier || !rq->shift) return QNPU_ERR_ARG;
    for (size_t c = 0; c < n; c++)
      if (rq->shift[c] < -31 || rq->shift[c] > 30 || rq->multiplier[c] < 0)
        return QNPU_ERR_ARG;
    return QNPU_OK;
  }
  if (rq->mode == QNPU_REQUANT_FLOAT_RNE) {
    if (!rq->scale) return QNPU_ERR_ARG;
    for (size_t c = 0; c < n; c++)
      if (!isfinite(rq->scale[c]) || rq->scale[c] < 0.0) return QNPU_ERR_ARG;
    return QNPU_OK;
  }
  if (rq->mode == QNPU_REQUANT_ORT_F32) {
    if (!rq->scale_f32) return QNPU_ERR_ARG;
    for (size_t c = 0; c < n; c++)
      if (!isfinite(rq->scale_f32[c]) || !(rq->scale_f32[c] >= 0.0f)) return QNPU_ERR_ARG;
    return QNPU_OK;
  }
  return QNPU_ERR_ARG;
}

/* float32 arithmetic must be float32: no wider evaluation (x87). */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qnpu's ort_f32 needs FLT_EVAL_METHOD == 0 (SSE float arithmetic)"
#endif

double qnpu_golden_ort_round(int32_t acc, float s) {
  const float f = (float)acc; /* int32 -> float32, half to even */
  const float v = f * s;      /* float32 product, half to even  */
  return nearbyint((double)v); /* v is exact in double; half to even */
}

float qnpu_golden_ort_scale(float x_scale, float w_scale, float y_scale) {
  const float xw = x_scale * w_scale;
  return xw / y_scale;
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

int32_t qnpu_golden_requantize(int32_t acc, size_t c, const qnpu_requant_t *rq) {
  const size_t i = rq->per_channel ? c : 0;
  switch (rq->mode) {
    case QNPU_REQUANT_TFLITE_Q31: {
      const int32_t y = qnpu_golden_mbqm(acc, rq->multiplier[i], rq->shift[i]);
      return clamp32((int64_t)y + rq->output_zero_point, rq->act_min, rq->act_max);
    }
    case QNPU_REQUANT_FLOAT_RNE: {
      /* nearbyint() rounds half to even in the default rounding mode. */
      double y = nearbyint((double)acc * rq->scale[i]) + (double)rq->output_zero_point;
      if (y < (double)rq->act_min) y = rq->act_min;
      if (y > (double)rq->act_max) y = rq->act_max;
      return (int32_t)y;
    }
    case QNPU_REQUANT_ORT_F32: {
      double y = qnpu_golden_ort_round(acc, rq->scale_f32[i]) + (double)rq->output_zero_point;
      if (!(y >= (double)rq->act_min)) y = rq->act_min;
      if (y > (double)rq->act_max) y = rq->act_max;
      return (int32_t)y;
    }
    case QNPU_REQUANT_NONE:
      break;
  }
  return acc;
}

void qnpu_golden_requantize_rows(const int32_t *acc, size_t rows,
                                 size_t channels, const qnpu_requant_t *rq,
                                 int32_t *out) {
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < channels; c++)
      out[r * channels + c] = qnpu_golden_requantize(acc[r * channels + c], c, rq);
}
