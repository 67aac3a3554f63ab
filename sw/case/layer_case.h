/* layer_case.h - one quantized layer on disk (docs/layer-case.md, the format
 * of ../shared/reference/layer-case.md): load and validate, run on the golden
 * model, save. Every validation failure names the file and the field. */
#ifndef QNPU_LAYER_CASE_H
#define QNPU_LAYER_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "npy.h"
#include "qnpu_prec.h"
#include "qnpu_golden.h"
#include "qnpu_layer.h"

#define QNPU_CASE_FORMAT "qnpu-layer-case/1"

typedef struct {
  char name[128];
  char source[512];
  qnpu_op_t op;
  int rank;                      /* 4 for convolutions, 2 for fully_connected */
  int64_t input_shape[4], filter_shape[4], output_shape[4];
  int32_t stride[2], dilation[2], padding[4]; /* [h,w], [h,w], [t,l,b,r] */
  int32_t groups, depth_multiplier;
  int32_t input_zero_point, filter_zero_point, output_zero_point;
  int32_t act_min, act_max;
  int input_bits, weight_bits, output_bits;
  qnpu_prec_t precision;         /* what the three widths mean (qnpu_prec.h) */
  qnpu_requant_mode_t requant;
  int output_int32;              /* "output": "int32" (requant none) */
  /* Tensors; bias and expected may be absent (data == NULL). The requant
   * arrays hold [O] values, or [1] for a per-tensor value. */
  qnpu_npy_t input, filter, bias, multiplier, shift, requant_scale, expected;
} qnpu_case_t;

const char *qnpu_case_requant_name(qnpu_requant_mode_t m);

/* Loads and validates CASE_DIR. QNPU_ERR_FORMAT / _IO / _UNSUPPORTED with a
 * one-line "FILE: field 'x': reason" message in err. *c is always safe to
 * pass to qnpu_case_free() afterwards. */
qnpu_status_t qnpu_case_load(const char *dir, qnpu_case_t *c, char *err,
                             size_t errlen) QNPU_MUST_CHECK;

/* Element i of expected.npy as int32 (int8 or int32 on disk); the case must
 * have one (c->expected.data != NULL). */
int32_t qnpu_case_expected_at(const qnpu_case_t *c, size_t i);

/* Number of output elements (product of output_shape). */
size_t qnpu_case_output_count(const qnpu_case_t *c);

/* The case as a layer (qnpu_layer.h): views into c's tensors, valid while c
 * is. Run it with qnpu_layer_golden() or the runtime. */
qnpu_layer_t qnpu_case_layer(const qnpu_case_t *c);

/* Writes layer.json and the .npy files of *c into dir (which must exist). */
qnpu_status_t qnpu_case_save(const qnpu_case_t *c, const char *dir, char *err,
                             size_t errlen) QNPU_MUST_CHECK;

void qnpu_case_free(qnpu_case_t *c);

#endif /* QNPU_LAYER_CASE_H */
