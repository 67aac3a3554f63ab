/* qnpu_calib.h - activation range calibration for post-training
 * quantization (Wu et al. 2020, "Integer Quantization for Deep Learning
 * Inference", section 4.1): a histogram of |x| over the calibration data,
 * then a clipping threshold T from one of three calibrators:
 *
 *   max         T = max |x|
 *   percentile  T = the p-th percentile of |x| (p = 99.9, 99.99, 99.999)
 *   entropy     T minimizing KL(P || Q) between the clipped reference
 *               distribution P of the histogram's first i bins (outliers
 *               folded into the last) and its quantization Q to `levels`
 *               levels, for i from `levels` to the histogram's bins (the
 *               TensorRT method the paper describes; 2048 bins; both
 *               distributions smoothed as MXNet does, so that an empty
 *               level does not make the divergence infinite)
 *
 * The range is then [max(min x, -T), min(max x, T)]: a ReLU output (min 0)
 * gets [0, T]. The histogram grows by doubling its range as larger values
 * arrive, so any number of batches can be added. */
#ifndef QNPU_CALIB_H
#define QNPU_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { QNPU_CALIB_MAX, QNPU_CALIB_PERCENTILE, QNPU_CALIB_ENTROPY } qnpu_calib_kind_t;

typedef struct {
  qnpu_calib_kind_t kind;
  double percentile;   /* percentile: in (0, 100], e.g. 99.99           */
  int levels;          /* entropy: quantization levels of |x| (128 for
                          int8, 8 for int4); 0 = 128                   */
} qnpu_calib_t;

#define QNPU_CALIB_BINS 2048

typedef struct {
  double width;                  /* bin width (0 until a nonzero |x|)  */
  double min, max;               /* of x                               */
  uint64_t count;                /* values seen                        */
  uint64_t hist[QNPU_CALIB_BINS];/* bin b holds |x| in [b w, (b+1) w)  */
} qnpu_hist_t;

void qnpu_hist_init(qnpu_hist_t *h);
/* Adds n values; QNPU_ERR_ARG for a NaN or infinity. */
qnpu_status_t qnpu_hist_add(qnpu_hist_t *h, const float *x, size_t n) QNPU_MUST_CHECK;

/* The clipping threshold T >= 0 of calibrator c. QNPU_ERR_ARG for an empty
 * histogram or a bad calibrator. */
qnpu_status_t qnpu_calib_threshold(const qnpu_hist_t *h, const qnpu_calib_t *c, double *t) QNPU_MUST_CHECK;

/* The range [*lo, *hi] to quantize: the data's own range clipped to +-T. */
qnpu_status_t qnpu_calib_range(const qnpu_hist_t *h, const qnpu_calib_t *c, double *lo,
                               double *hi) QNPU_MUST_CHECK;

/* "max", "percentile:99.99", "entropy" -> c; QNPU_ERR_ARG otherwise. */
qnpu_status_t qnpu_calib_parse(const char *s, qnpu_calib_t *c) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_CALIB_H */
