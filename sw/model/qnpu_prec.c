/* qnpu_prec.c - the precision type (qnpu_prec.h). */
#include "qnpu_prec.h"

#include <ctype.h>
#include <stddef.h>

static const qnpu_prec_info_t kPrec[QNPU_PREC_COUNT] = {
    {QNPU_PREC_W8A8, "W8A8", 8, 8, 8, 1},
    {QNPU_PREC_W4A8, "W4A8", 4, 8, 8, 1},
    {QNPU_PREC_W4A4, "W4A4", 4, 4, 4, 2},
};

const qnpu_prec_info_t *qnpu_prec_info(qnpu_prec_t p) {
  for (size_t i = 0; i < QNPU_PREC_COUNT; i++)
    if (kPrec[i].prec == p) return &kPrec[i];
  return NULL;
}

const char *qnpu_prec_name(qnpu_prec_t p) {
  const qnpu_prec_info_t *in = qnpu_prec_info(p);
  return in ? in->name : "?";
}

qnpu_status_t qnpu_prec_of_bits(int input_bits, int weight_bits, int output_bits, qnpu_prec_t *p) {
  for (size_t i = 0; i < QNPU_PREC_COUNT; i++)
    if (kPrec[i].input_bits == input_bits && kPrec[i].weight_bits == weight_bits &&
        kPrec[i].output_bits == output_bits) {
      if (p) *p = kPrec[i].prec;
      return QNPU_OK;
    }
  return QNPU_ERR_UNSUPPORTED;
}

qnpu_status_t qnpu_prec_parse(const char *s, qnpu_prec_t *p) {
  if (!s || !p) return QNPU_ERR_ARG;
  for (size_t i = 0; i < QNPU_PREC_COUNT; i++) {
    const char *n = kPrec[i].name;
    size_t k = 0;
    while (n[k] && s[k] && toupper((unsigned char)s[k]) == n[k]) k++;
    if (!n[k] && !s[k]) {
      *p = kPrec[i].prec;
      return QNPU_OK;
    }
  }
  return QNPU_ERR_ARG;
}

int qnpu_prec_built(qnpu_prec_t p, uint32_t mask) {
  return qnpu_prec_info(p) != NULL && ((mask >> (unsigned)p) & 1u);
}
