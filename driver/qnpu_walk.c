/* qnpu_walk.c - the DMA address walk (qnpu_walk.h). */
#include "qnpu_walk.h"

qnpu_walk_t qnpu_walk_of_cmd(const uint32_t *c) {
  qnpu_walk_t w;
  w.addr = QNPU_CMD_GET(c, DRAM_ADDR);
  w.len = QNPU_CMD_GET(c, LEN);
  w.count1 = QNPU_CMD_GET(c, COUNT1);
  w.count2 = QNPU_CMD_GET(c, COUNT2);
  w.count3 = QNPU_CMD_GET(c, COUNT3);
  w.stride1 = QNPU_CMD_GET(c, STRIDE1);
  w.stride2 = QNPU_CMD_GET(c, STRIDE2);
  w.stride3 = QNPU_CMD_GET(c, STRIDE3);
  const int load = QNPU_CMD_GET(c, OPCODE) == QNPU_OP_LOAD;
  w.pad_xlo = load ? QNPU_CMD_GET(c, PAD_X_LO) : 0;
  w.pad_xhi = load ? QNPU_CMD_GET(c, PAD_X_HI) : 0;
  w.pad_ylo = load ? QNPU_CMD_GET(c, PAD_Y_LO) : 0;
  w.pad_yhi = load ? QNPU_CMD_GET(c, PAD_Y_HI) : 0;
  return w;
}

uint64_t qnpu_walk_rows(const qnpu_walk_t *w) { return (uint64_t)w->count1 * w->count2 * w->count3; }

int qnpu_walk_each(const qnpu_walk_t *w, qnpu_walk_fn fn, void *ctx) {
  uint32_t row = 0;
  for (uint32_t i3 = 0; i3 < w->count3; i3++) {
    const int pad3 = i3 < w->pad_ylo || i3 + w->pad_yhi >= w->count3;
    for (uint32_t i2 = 0; i2 < w->count2; i2++) {
      const int pad = pad3 || i2 < w->pad_xlo || i2 + w->pad_xhi >= w->count2;
      for (uint32_t i1 = 0; i1 < w->count1; i1++, row++) {
        const uint32_t a = w->addr + i1 * w->stride1 + i2 * w->stride2 + i3 * w->stride3;
        const int r = fn(ctx, row, a, pad);
        if (r) return r;
      }
    }
  }
  return 0;
}

static int count_beats(void *ctx, uint32_t row, uint32_t addr, int pad) {
  uint64_t *n = ctx;
  (void)row;
  if (!pad) n[0] += qnpu_row_beats(addr, (uint32_t)n[1]);
  return 0;
}

uint64_t qnpu_walk_beats(const qnpu_walk_t *w) {
  uint64_t n[2] = {0, w->len};
  (void)qnpu_walk_each(w, count_beats, n);
  return n[0];
}
