/* qnpu_layer.h - the one layer type: a quantized conv2d, depthwise conv2d or
 * fully-connected layer, apart from any file format. The layer-case loader
 * produces it (qnpu_case_layer), the golden model runs it
 * (qnpu_layer_golden), the runtime tiles it onto the hardware (qnpu_rt.h),
 * and a network loader will build it. It owns nothing: the tensors are
 * views into the caller's arrays.
 *
 * A GEMM out[M][N] = A[M][K] x B[K][N] is a fully-connected layer with
 * batch M, K inputs and N outputs, whose weights are B transposed. */
#ifndef QNPU_LAYER_H
#define QNPU_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_golden.h"
#include "qnpu_prec.h"
#include "qnpu_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QNPU_OP_CONV2D,
  QNPU_OP_DEPTHWISE_CONV2D,
  QNPU_OP_FULLY_CONNECTED
} qnpu_op_t;

typedef struct {
  qnpu_op_t op;
  qnpu_prec_t prec;
  /* Shape, stride, padding, dilation, groups, depth multiplier and the
   * input/filter zero points. Fully-connected: n = batch, h = w = 1,
   * c = inputs, out_c = outputs, a 1x1 kernel, strides and dilations 1. */
  qnpu_conv_params_t p;
  /* Requantization (per-tensor or per-channel, ReLU/ReLU6 through act_min/
   * act_max); mode QNPU_REQUANT_NONE gives the raw int32 accumulators. */
  qnpu_requant_t rq;
  const int8_t *input;   /* [n][h][w][c] (int4 values in [-8, 7] for W4A4)        */
  const int8_t *filter;  /* conv2d [O][KH][KW][C/groups]; depthwise [1][KH][KW][O];
                            fully-connected [O][K]                                  */
  const int32_t *bias;   /* [O], or NULL for none                                  */
} qnpu_layer_t;

const char *qnpu_op_name(qnpu_op_t op);

/* A fully-connected layer (or a GEMM: weights = B transposed) of batch n,
 * k inputs and o outputs: unit strides and dilations, no padding, zero
 * points 0 and no requantization yet; the caller sets those it needs. */
qnpu_layer_t qnpu_layer_fully_connected(qnpu_prec_t prec, int32_t n, int32_t k, int32_t o, const int8_t *input,
                                        const int8_t *weights, const int32_t *bias);

/* Output height and width (0 when the kernel does not fit the padded input). */
int32_t qnpu_layer_out_h(const qnpu_layer_t *l);
int32_t qnpu_layer_out_w(const qnpu_layer_t *l);
/* Output elements: n x oh x ow x O. */
size_t qnpu_layer_out_count(const qnpu_layer_t *l);
/* Input and filter elements. */
size_t qnpu_layer_in_count(const qnpu_layer_t *l);
size_t qnpu_layer_filter_count(const qnpu_layer_t *l);
/* The layer's true multiply-accumulates (no padding, no tiling waste). */
uint64_t qnpu_layer_macs(const qnpu_layer_t *l);
/* The least DRAM traffic the layer can have: input, filter, bias and output
 * once each, at their widths (int4 packed two per byte). */
uint64_t qnpu_layer_min_bytes(const qnpu_layer_t *l);

/* Checks shapes, groups, zero points, value ranges of the precision and the
 * requantization; QNPU_ERR_ARG with a one-line reason in err. */
qnpu_status_t qnpu_layer_check(const qnpu_layer_t *l, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Runs the layer on the golden model: out holds qnpu_layer_out_count()
 * int32 values (requantized values, or raw accumulators for mode NONE). */
qnpu_status_t qnpu_layer_golden(const qnpu_layer_t *l, int32_t *out) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_LAYER_H */
