/* qnpu_prec.h - the one precision type: W8A8, W4A8, W4A4.
 *
 * Its values are the hardware's COMPUTE.MODE codes (regs/qnpu.json, through
 * qnpu_regs.h), so a precision goes into a command, a CONFIG0.PRECISIONS
 * bit test, a layer case or a report without conversion. The layer-case
 * loader, the CLI, the tile helpers and the runtime all speak it; the bit
 * widths of a layer case map onto it with qnpu_prec_of_bits(). */
#ifndef QNPU_PREC_H
#define QNPU_PREC_H

#include <stdint.h>

#include "qnpu_regs.h"
#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QNPU_PREC_W8A8 = QNPU_MODE_W8A8, /* int8 weights x int8 activations             */
  QNPU_PREC_W4A8 = QNPU_MODE_W4A8, /* int4 weights x int8 activations             */
  QNPU_PREC_W4A4 = QNPU_MODE_W4A4, /* int4 x int4: two MACs per PE per cycle      */
} qnpu_prec_t;

#define QNPU_PREC_COUNT 3

typedef struct {
  qnpu_prec_t prec;
  const char *name;        /* "W8A8" ...                                        */
  int weight_bits, input_bits, output_bits;
  int macs_per_pe;         /* MACs one PE does per cycle                        */
} qnpu_prec_info_t;

/* The description of p, or NULL when p is not a precision. */
const qnpu_prec_info_t *qnpu_prec_info(qnpu_prec_t p);

/* "W8A8", ..., or "?" for a value that is not a precision. */
const char *qnpu_prec_name(qnpu_prec_t p);

/* The precision of a layer with these input/weight/output widths;
 * QNPU_ERR_UNSUPPORTED for any other combination. */
qnpu_status_t qnpu_prec_of_bits(int input_bits, int weight_bits, int output_bits, qnpu_prec_t *p);

/* "w8a8" / "W8A8" (any case) -> p; QNPU_ERR_ARG for anything else. */
qnpu_status_t qnpu_prec_parse(const char *s, qnpu_prec_t *p);

/* Whether p is built into a device whose CONFIG0.PRECISIONS field is mask. */
int qnpu_prec_built(qnpu_prec_t p, uint32_t mask);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_PREC_H */
