/* qnpu_ptq.h - post-training quantization of a float network (qnpu_net.h)
 * into an integer-only one (Jacob et al. 2018; Wu et al. 2020, "Integer
 * Quantization for Deep Learning Inference"):
 *
 *   weights      symmetric per output channel: S_w[c] = max|w[c]| / qmax
 *                (qmax 127 for int8, 7 for int4), q = round(w / S_w[c]),
 *                or the clipping that minimises their squared error
 *                (QNPU_WSCALE_MSE)
 *   activations  asymmetric per tensor over the calibrated range [lo, hi]
 *                (widened to include 0): S = (hi - lo) / (2^b - 1),
 *                Z = round(qmin - lo / S); the range comes from a
 *                calibrator (qnpu_calib.h: max, percentile, entropy) over
 *                the float network's activations on calibration images
 *   input        the raw pixels' exact range [offset, 255 scale + offset]
 *   pools, ReLU  keep their input's scale and zero point
 *   bias         int32: round(b' / (S_x S_w[c])), b' the float bias less
 *                the error the quantized weights add on average (empirical
 *                bias correction, Nagel et al. 2019, "Data-Free
 *                Quantization", sec. 4.2): b' = b - sum_k (S_w q_k - w_k)
 *                E[x_k], E[x_k] the mean of tap k's float input over the
 *                calibration images and the layer's output positions
 *   requant      M = S_x S_w[c] / S_y -> (M0, shift) by QuantizeMultiplier;
 *                a fused ReLU/ReLU6 is the clamp [max(qmin, Z_y), ...]
 *   add          TFLite's integer ADD parameters from the three scales
 *
 * Scales are float32 (as TFLite stores them); every derived integer uses
 * them as doubles. Every conv/fc node gets the one precision asked for; a
 * W4A4 network's activations, input and logits included, are 4-bit; with
 * int8_ends the first and the last conv/fc layer are W8A8, the input image
 * and the logits 8-bit (the first layer's output and the last one's input
 * keep the network's activation width). */
#ifndef QNPU_PTQ_H
#define QNPU_PTQ_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_calib.h"
#include "qnpu_net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QNPU_WSCALE_MAX, /* S_w[c] = max|w[c]| / qmax (the default)              */
  QNPU_WSCALE_MSE  /* S_w[c] = a max|w[c]| / qmax, the clipping ratio a in
                      {1, 0.99, ..., 0.50} that minimises the squared error
                      of the channel's quantized weights (Nagel et al. 2021,
                      "A White Paper on Neural Network Quantization", 3.4) */
} qnpu_wscale_t;

typedef struct {
  qnpu_prec_t prec;       /* of every conv/fc layer                            */
  qnpu_calib_t calib;     /* activation calibrator                             */
  qnpu_wscale_t wscale;   /* weight scale rule                                 */
  int no_bias_correction; /* 1: biases as trained, without the correction    */
  int int8_ends;          /* 1: the first and the last conv/fc stay W8A8, with
                             an 8-bit input image and 8-bit logits (the usual
                             practice of 4-bit work)                          */
  int32_t batch;          /* calibration images per float run (0 = 100)        */
} qnpu_ptq_options_t;

/* "max" / "mse" -> *w; QNPU_ERR_ARG otherwise. */
qnpu_status_t qnpu_wscale_parse(const char *s, qnpu_wscale_t *w) QNPU_MUST_CHECK;
const char *qnpu_wscale_name(qnpu_wscale_t w);

/* What calibration saw of one tensor and the range it chose. */
typedef struct {
  double min, max; /* of the float activations                          */
  double lo, hi;   /* the quantized range                               */
  int calibrated;  /* 0: inherited (pool, relu) or fixed (the input)    */
} qnpu_ptq_range_t;

/* Quantizes the float network fnet with n calibration images (raw pixels,
 * [n][h][w][c] of the input tensor) into *qnet (a quantized network,
 * checked). ranges, when not NULL, gets fnet->n_tensors entries.
 * QNPU_ERR_ARG for bad options or no images, QNPU_ERR_UNSUPPORTED when a
 * scale has no Q31 multiplier, with one line in err. */
qnpu_status_t qnpu_ptq(const qnpu_net_t *fnet, const uint8_t *pixels, int32_t n, const qnpu_ptq_options_t *opt,
                       qnpu_net_t *qnet, qnpu_ptq_range_t *ranges, char *err, size_t errlen) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_PTQ_H */
