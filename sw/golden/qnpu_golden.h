/* qnpu_golden.h - the independent C golden model of qnpu's numerics.
 *
 * Plain loops, no knowledge of the hardware. Every other part of qnpu (RTL,
 * fast model, runtime) is checked bit for bit against these functions. The
 * contract they implement is written down in docs/numerics.md; in short:
 *
 *   real value         r = S * (q - Z)                    (Jacob et al. 2018)
 *   accumulator        acc = bias + sum (w - Zw) * (x - Zx), int32, wraps mod 2^32
 *   requantization     y = RDBPOT(SRDHM(sat32(acc << left), M0), right)
 *                      out = clamp(y + Zy, act_min, act_max)
 *                      (or ONNX's float scales: float_rne in double, ort_f32
 *                      in float32 exactly as ONNX Runtime)
 *
 * Tensors hold one value per int8_t element; int4 values are stored
 * sign-extended in [-8, 7] (pack them with qnpu_golden_pack_int4() for the
 * hardware). Layouts: activations NHWC, conv filters OHWI, depthwise filters
 * [1][KH][KW][O], fully-connected weights [O][K], GEMM A [M][K] and B [K][N].
 */
#ifndef QNPU_GOLDEN_H
#define QNPU_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Integer primitives (TFLite fixed-point semantics)
 * ------------------------------------------------------------------------- */

/* SaturatingRoundingDoublingHighMul: round((a * b) / 2^31), ties toward +inf.
 * The only overflow, a = b = INT32_MIN, saturates to INT32_MAX. */
int32_t qnpu_golden_srdhm(int32_t a, int32_t b);

/* RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from
 * zero. exponent must be in [0, 31]. */
int32_t qnpu_golden_rdbpot(int32_t x, int exponent);

/* MultiplyByQuantizedMultiplier with double rounding. shift in [-31, 30]
 * (>0 left, <0 right). The left shift saturates to int32 (qnpu's definition;
 * TFLite leaves it undefined). Returns the unclamped, zero-point-free value. */
int32_t qnpu_golden_mbqm(int32_t x, int32_t m0, int shift);

/* QuantizeMultiplier: real >= 0 -> (M0, shift) with real ~= M0 * 2^(shift-31),
 * M0 in [2^30, 2^31 - 1] or M0 = shift = 0 for real == 0 or real < 2^-32
 * (after rounding). Exactly TFLite's algorithm (frexp, round half away from
 * zero, M0 == 2^31 renormalised). QNPU_ERR_ARG for a negative, NaN or
 * infinite real, or one whose shift would exceed 30. */
qnpu_status_t qnpu_golden_quantize_multiplier(double real, int32_t *m0_out,
                                              int *shift_out) QNPU_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * Affine quantization of real values
 * ------------------------------------------------------------------------- */

typedef struct {
  double scale;       /* S: real value of one integer step (> 0)  */
  int32_t zero_point; /* Z: the integer that represents real 0.0 */
  int bits;           /* 2..16: q in [-2^(bits-1), 2^(bits-1)-1]  */
} qnpu_qparams_t;

typedef enum {
  /* Jacob et al. 2018 / MIT EfficientML: S = (rmax - rmin) / (qmax - qmin),
   * Z = round(qmin - rmin / S). rmin/rmax are first widened to include 0. */
  QNPU_RANGE_ASYMMETRIC,
  /* Wu et al. 2020 "affine": S = (rmax - rmin) / (2^bits - 1),
   * Z = 2^(bits-1) - round(rmax / S). Note Z is not clamped, so rmax
   * itself may quantize to qmax + 1 and saturate. */
  QNPU_RANGE_ASYMMETRIC_WU,
  /* Symmetric, restricted range (Wu et al. "scale"): S = max(|rmin|, |rmax|)
   * / (2^(bits-1) - 1), Z = 0, so q in [-qmax, qmax]. */
  QNPU_RANGE_SYMMETRIC
} qnpu_range_mode_t;

/* Scale and zero point for values in [rmin, rmax]. QNPU_ERR_ARG when
 * rmin > rmax, either is not finite, bits is outside [2, 16] or the range is
 * empty for a symmetric mode (max |r| == 0). */
qnpu_status_t qnpu_golden_qparams_from_range(double rmin, double rmax, int bits,
                                             qnpu_range_mode_t mode,
                                             qnpu_qparams_t *out) QNPU_MUST_CHECK;

/* q = clamp(round_half_away(r / S) + Z, qmin, qmax). */
int32_t qnpu_golden_quantize(double r, const qnpu_qparams_t *p);
/* r = S * (q - Z). */
double qnpu_golden_dequantize(int32_t q, const qnpu_qparams_t *p);

/* ---------------------------------------------------------------------------
 * int4 packing: element 2k in the low nibble of byte k, 2k+1 in the high one.
 * ------------------------------------------------------------------------- */

/* Bytes needed for n packed int4 values: ceil(n / 2). */
size_t qnpu_golden_int4_packed_size(size_t n);
/* Packs n values in [-8, 7]; an odd n leaves the last high nibble 0.
 * QNPU_ERR_ARG (dst untouched) when a value is out of range. */
qnpu_status_t qnpu_golden_pack_int4(const int8_t *src, size_t n,
                                    uint8_t *dst) QNPU_MUST_CHECK;
/* Unpacks n values, sign-extending each nibble. */
void qnpu_golden_unpack_int4(const uint8_t *src, size_t n, int8_t *dst);

/* ---------------------------------------------------------------------------
 * Requantization of int32 accumulators
 * ------------------------------------------------------------------------- */

typedef enum {
  QNPU_REQUANT_TFLITE_Q31, /* MBQM (double rounding), the default contract  */
  QNPU_REQUANT_FLOAT_RNE,  /* ONNX: round_half_even(acc * scale), in double */
  QNPU_REQUANT_NONE,       /* raw int32 accumulators, no requantization     */
  QNPU_REQUANT_ORT_F32     /* ONNX Runtime (MLAS MlasRequantizeOutput), all in
                              float32: round_half_even(float32(acc) * s), s a
                              float32, the product rounded to float32        */
} qnpu_requant_mode_t;

typedef struct {
  qnpu_requant_mode_t mode;
  int per_channel;           /* 0: index 0 of the arrays serves every channel */
  const int32_t *multiplier; /* Q31 M0 per channel (tflite_q31)              */
  const int32_t *shift;      /* shift per channel, [-31, 30] (tflite_q31)     */
  const double *scale;       /* real scale per channel (float_rne)           */
  int32_t output_zero_point; /* Zy                                           */
  int32_t act_min, act_max;  /* clamp; ReLU/ReLU6 are expressed through them */
  const float *scale_f32;    /* float32 scale per channel (ort_f32): ONNX
                                Runtime's (x_scale * w_scale) / y_scale, each
                                operation in float32                        */
} qnpu_requant_t;

/* ort_f32 before the zero point and the clamp: round_half_even(float32(acc)
 * * s) with both float32 roundings, as a double (exact; +-infinity when the
 * float32 product overflows). The golden model, the fast model and the RTL
 * test bench share this one definition. */
double qnpu_golden_ort_round(int32_t acc, float s);

/* ort_f32's scale as ONNX Runtime computes it: (x_scale * w_scale) /
 * y_scale, the product and the quotient each rounded to float32. */
float qnpu_golden_ort_scale(float x_scale, float w_scale, float y_scale);

/* Checks a requant description for `channels` channels (shift range, finite
 * non-negative scales, act_min <= act_max, arrays present). */
qnpu_status_t qnpu_golden_requant_check(const qnpu_requant_t *rq,
                                        size_t channels) QNPU_MUST_CHECK;

/* One value of channel c: MBQM / float RNE / ort_f32, + Zy, clamp. For mode
 * NONE the accumulator is returned unchanged (no clamp). ort_f32 rounds
 * twice in float32 and once to an integer, all half to even:
 *   f = float32(acc)   (24 significant bits)
 *   v = float32(f * s) (the product of two float32s, to 24 bits)
 *   y = round_half_even(v) + Zy, clamped (an infinite v clamps too) */
int32_t qnpu_golden_requantize(int32_t acc, size_t c, const qnpu_requant_t *rq);

/* Requantizes a [rows][channels] accumulator matrix into out (int32 so that
 * every mode fits; the callers narrow it). */
void qnpu_golden_requantize_rows(const int32_t *acc, size_t rows,
                                 size_t channels, const qnpu_requant_t *rq,
                                 int32_t *out);

/* ---------------------------------------------------------------------------
 * Layers. Every layer writes int32 results: requantized values (which fit
 * the output type after the clamp) or raw accumulators for QNPU_REQUANT_NONE.
 * ------------------------------------------------------------------------- */

typedef struct {
  int32_t n, h, w, c;             /* input NHWC                               */
  int32_t out_c;                  /* O                                        */
  int32_t kh, kw;                 /* kernel size                              */
  int32_t stride_h, stride_w;     /* >= 1                                     */
  int32_t dil_h, dil_w;           /* >= 1                                     */
  int32_t pad_top, pad_left, pad_bottom, pad_right; /* >= 0, taps skipped   */
  int32_t groups;                 /* conv2d: C/groups input channels per filter */
  int32_t depth_multiplier;       /* depthwise: O = C * depth_multiplier       */
  int32_t input_zero_point;       /* Zx                                       */
  int32_t filter_zero_point;      /* Zw (0 for symmetric weights)             */
} qnpu_conv_params_t;

/* Output spatial size: floor((H + top + bottom - dil*(K-1) - 1) / stride) + 1,
 * or 0 when the (dilated) kernel does not fit. */
int32_t qnpu_golden_conv_out_dim(int32_t in, int32_t k, int32_t stride,
                                 int32_t dil, int32_t pad_a, int32_t pad_b);

/* conv2d: input [N][H][W][C], filter [O][KH][KW][C/groups], bias [O] or NULL,
 * out [N][OH][OW][O]. QNPU_ERR_ARG for an inconsistent shape or groups. */
qnpu_status_t qnpu_golden_conv2d(const qnpu_conv_params_t *p,
                                 const qnpu_requant_t *rq, const int8_t *input,
                                 const int8_t *filter, const int32_t *bias,
                                 int32_t *out) QNPU_MUST_CHECK;

/* depthwise conv2d: filter [1][KH][KW][O], O = C * depth_multiplier,
 * output channel oc reads input channel oc / depth_multiplier. */
qnpu_status_t qnpu_golden_depthwise_conv2d(const qnpu_conv_params_t *p,
                                           const qnpu_requant_t *rq,
                                           const int8_t *input,
                                           const int8_t *filter,
                                           const int32_t *bias,
                                           int32_t *out) QNPU_MUST_CHECK;

/* fully-connected: input [N][K], weights [O][K], out [N][O];
 * acc = bias + sum_k (w - Zw)(x - Zx). */
qnpu_status_t qnpu_golden_fully_connected(int32_t n, int32_t k, int32_t o,
                                          int32_t input_zero_point,
                                          int32_t filter_zero_point,
                                          const qnpu_requant_t *rq,
                                          const int8_t *input,
                                          const int8_t *weights,
                                          const int32_t *bias,
                                          int32_t *out) QNPU_MUST_CHECK;

/* GEMM: A [M][K] (activations, zero point za), B [K][N] (weights, zb),
 * bias [N], requant per column, out [M][N]. */
qnpu_status_t qnpu_golden_gemm(int32_t m, int32_t k, int32_t n, int32_t za,
                               int32_t zb, const qnpu_requant_t *rq,
                               const int8_t *a, const int8_t *b,
                               const int32_t *bias,
                               int32_t *out) QNPU_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * Pooling and elementwise add (TFLite int8 reference semantics)
 * ------------------------------------------------------------------------- */

typedef struct {
  int32_t n, h, w, c;
  int32_t kh, kw, stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right; /* padded taps ignored */
  int32_t act_min, act_max;
} qnpu_pool_params_t;

/* max over the in-input taps of each window, then clamp. */
qnpu_status_t qnpu_golden_max_pool(const qnpu_pool_params_t *p,
                                   const int8_t *input,
                                   int8_t *out) QNPU_MUST_CHECK;
/* sum / count rounded half away from zero, count = in-input taps, clamp.
 * A window without any in-input tap is an error (QNPU_ERR_ARG). */
qnpu_status_t qnpu_golden_avg_pool(const qnpu_pool_params_t *p,
                                   const int8_t *input,
                                   int8_t *out) QNPU_MUST_CHECK;

/* Quantized ADD as TFLite int8: both inputs rescaled to a common scale with
 * a left shift of 20, summed, rescaled to the output, + Zy, clamp. */
typedef struct {
  int32_t input1_offset, input2_offset; /* -Z1, -Z2 */
  int32_t output_offset;                /* +Zy      */
  int left_shift;                       /* 20 for int8 */
  int32_t input1_multiplier, input2_multiplier, output_multiplier;
  int input1_shift, input2_shift, output_shift; /* all <= 0 */
  int32_t act_min, act_max;
} qnpu_add_params_t;

/* Derives the ADD parameters from float scales exactly as TFLite's Prepare. */
qnpu_status_t qnpu_golden_add_params(double s1, int32_t z1, double s2,
                                     int32_t z2, double sy, int32_t zy,
                                     int32_t act_min, int32_t act_max,
                                     qnpu_add_params_t *out) QNPU_MUST_CHECK;
void qnpu_golden_add(const qnpu_add_params_t *p, const int8_t *in1,
                     const int8_t *in2, size_t n, int8_t *out);

/* ---------------------------------------------------------------------------
 * ONNX Runtime's int8 CPU kernels (MLAS on x86-64 with AVX2), float32 step
 * by step, for the host operations of a network imported from a quantized
 * ONNX model; checked against ONNX Runtime 1.32 (docs/onnx.md). Every
 * rounding is float32, half to even.
 * ------------------------------------------------------------------------- */

/* QuantizeLinear: q = clamp(round_half_even(x / scale) + zp, lo, hi), the
 * quotient a float32 and the clamp applied before the rounding. */
int32_t qnpu_golden_ort_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi);

/* The quantization of one ONNX Runtime operand: scale, zero point, and
 * whether the ONNX tensor is uint8 (its value u and zero point then held
 * as u - 128). The float32 kernels below compute in the ONNX type's own
 * values, so the uint8 offset changes their roundings. */
typedef struct {
  float scale;
  int32_t zp;
  int u8;
} qnpu_ort_q_t;

/* QLinearAdd (com.microsoft), MLAS's AVX2 kernel: with rA = sa / sc and
 * rB = sb / sc, fixed = zc - fma(rA, za, rB * zb) and, per element,
 * y = sat(sat16(round(fma(a, rA, fma(b, rB, fixed))))), values and zero
 * points in their ONNX types, sat to c's type. */
typedef struct {
  qnpu_ort_q_t a, b, c;
} qnpu_ort_add_t;
void qnpu_golden_ort_add(const qnpu_ort_add_t *p, const int8_t *a, const int8_t *b, size_t n, int8_t *out);

/* QLinearAveragePool (com.microsoft): x dequantized as sx * (x - zx), the
 * window's in-input taps summed in row order, divided by their count (the
 * whole kernel's if count_include_pad), then y = clamp(round(sum / sy +
 * zy)) - the zero point (in y's ONNX type) added before the rounding. p's
 * clamp is ignored (y's type's range). */
qnpu_status_t qnpu_golden_ort_avg_pool(const qnpu_pool_params_t *p, int count_include_pad, const qnpu_ort_q_t *x,
                                       const qnpu_ort_q_t *y, const int8_t *input, int8_t *out) QNPU_MUST_CHECK;

/* QLinearGlobalAveragePool (com.microsoft): per image and channel the
 * int32 sum of x - zx over the h*w positions, then ort_f32's rounding with
 * s = sx / (sy * float32(h*w)) (qnpu_golden_ort_round), + zy, clamp to
 * int8. Input and output NHWC ([n][hw][c] and [n][c]). Like MLAS, an s
 * outside [2^-32, 256) or hw >= 2^24 is refused (QNPU_ERR_ARG). */
qnpu_status_t qnpu_golden_ort_global_avg_pool(int32_t n, int32_t hw, int32_t c, float sx, int32_t zx, float sy,
                                              int32_t zy, const int8_t *input, int8_t *out) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_GOLDEN_H */
