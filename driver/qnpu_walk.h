/* qnpu_walk.h - the DMA address walk of LOAD and STORE in C: the one
 * description of which DRAM bytes a transfer touches, for the fast model
 * and for the driver's byte accounting (the RTL twin is rtl/qnpu_agen.sv).
 *
 * A walk is count3 x count2 x count1 rows of len bytes; row (i1, i2, i3),
 * the (i3*count2 + i2)*count1 + i1-th, starts at
 * addr + i1*stride1 + i2*stride2 + i3*stride3 (modulo 2^32). Rows whose i2
 * is among the first pad_xlo or last pad_xhi iterations, or whose i3 is
 * among the first pad_ylo or last pad_yhi, are padding: they touch no DRAM
 * (a LOAD fills them). Every other row is read or written as the 16-byte
 * beats it overlaps. */
#ifndef QNPU_WALK_H
#define QNPU_WALK_H

#include <stdint.h>

#include "qnpu_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t addr, len;
  uint32_t count1, count2, count3;
  uint32_t stride1, stride2, stride3;
  uint32_t pad_xlo, pad_xhi, pad_ylo, pad_yhi;
} qnpu_walk_t;

/* The walk of a LOAD or STORE command (words as in qnpu_cmd_t). */
qnpu_walk_t qnpu_walk_of_cmd(const uint32_t *cmd);

/* Rows of the walk: count1 * count2 * count3. */
uint64_t qnpu_walk_rows(const qnpu_walk_t *w);

/* Calls fn for every row in walk order: its index, DRAM address and whether
 * it is padding. Stops at, and returns, the first nonzero fn result. */
typedef int (*qnpu_walk_fn)(void *ctx, uint32_t row, uint32_t addr, int pad);
int qnpu_walk_each(const qnpu_walk_t *w, qnpu_walk_fn fn, void *ctx);

/* Beats one row of len >= 1 bytes at addr overlaps. */
static inline uint32_t qnpu_row_beats(uint32_t addr, uint32_t len) {
  const uint64_t first = addr / QNPU_BEAT_BYTES, last = ((uint64_t)addr + len - 1) / QNPU_BEAT_BYTES;
  return (uint32_t)(last - first + 1);
}

/* Beats the whole walk reads or writes (padding rows take none). */
uint64_t qnpu_walk_beats(const qnpu_walk_t *w);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_WALK_H */
