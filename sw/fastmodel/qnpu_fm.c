/* qnpu_fm.c - the fast functional model (qnpu_fm.h).
 *
 * It mirrors the RTL's observable behaviour: the dispatcher's field checks,
 * the 6-bit shift field, the in-order DMA error report (the first failing
 * beat), the dependency tokens (a command that would wait for a token no
 * earlier command gives deadlocks the RTL until its watchdog fires; here it
 * raises ERR_WATCHDOG at once) and the byte counters (reads count whole
 * 16-byte beats, writes the enabled bytes, fetches 32 bytes a command). */
#include "qnpu_fm.h"

#include <stdlib.h>
#include <string.h>

#include "qnpu_golden.h"
#include "qnpu_regs.h"

#define BEAT 16u

typedef struct {
  int32_t bias, m0, shift, zp, act_min, act_max;
  int bypass;
} prm_t;

struct qnpu_fm {
  qnpu_fm_config_t cfg;
  uint8_t *dram;
  uint8_t *act, *wgt;        /* act_rows x rows, wgt_rows x cols      */
  int32_t *out;              /* out_rows x cols                       */
  int32_t *acc;              /* acc_depth x cols                      */
  prm_t *prm[2];             /* cols each                             */
  /* registers */
  uint32_t ctrl, irq, err_status, err_info, ring_base, ring_size, ring_head, ring_tail, watchdog;
  uint32_t push[QNPU_CMD_WORDS];
  int halted;
  uint32_t tokens[4];        /* ld->ex, ex->ld, ex->st, st->ex        */
  uint64_t macs, cmds, cmd_index;
  uint32_t rd_bytes, wr_bytes, sat, hi_latch;
};

void qnpu_fm_config_default(qnpu_fm_config_t *c) {
  c->rows = 4;
  c->cols = 4;
  c->acc_depth = 64;
  c->act_rows = 1024;
  c->wgt_rows = 512;
  c->out_rows = 128;
  c->dram_bytes = 16u << 20;
}

static void reset_state(qnpu_fm_t *f) {
  f->irq = f->err_status = f->err_info = 0;
  f->ring_tail = 0;
  f->halted = 0;
  memset(f->tokens, 0, sizeof f->tokens);
  f->cmd_index = 0;
}

qnpu_status_t qnpu_fm_create(const qnpu_fm_config_t *cfg, qnpu_fm_t **out) {
  if (!out) return QNPU_ERR_ARG;
  *out = NULL;
  qnpu_fm_config_t c;
  if (cfg) c = *cfg;
  else qnpu_fm_config_default(&c);
  if (c.rows < 2 || c.cols < 2 || (c.rows & 1) || (c.cols & 1) || c.rows > 255 || c.cols > 255 ||
      c.acc_depth == 0 || c.act_rows == 0 || c.wgt_rows == 0 || c.out_rows == 0 || c.act_rows > 65535 ||
      c.wgt_rows > 65535 || c.out_rows > 65535 || c.acc_depth > 65535 || c.dram_bytes == 0 ||
      c.dram_bytes > (1ull << 32))
    return QNPU_ERR_ARG;
  qnpu_fm_t *f = calloc(1, sizeof *f);
  if (!f) return QNPU_ERR_NOMEM;
  f->cfg = c;
  f->dram = calloc(c.dram_bytes, 1);
  f->act = calloc((size_t)c.act_rows * c.rows, 1);
  f->wgt = calloc((size_t)c.wgt_rows * c.cols, 1);
  f->out = calloc((size_t)c.out_rows * c.cols, sizeof(int32_t));
  f->acc = calloc((size_t)c.acc_depth * c.cols, sizeof(int32_t));
  f->prm[0] = calloc(c.cols, sizeof(prm_t));
  f->prm[1] = calloc(c.cols, sizeof(prm_t));
  if (!f->dram || !f->act || !f->wgt || !f->out || !f->acc || !f->prm[0] || !f->prm[1]) {
    qnpu_fm_destroy(f);
    return QNPU_ERR_NOMEM;
  }
  f->ring_size = 2;
  f->watchdog = QNPU_WATCHDOG_RESET;
  *out = f;
  return QNPU_OK;
}

void qnpu_fm_destroy(qnpu_fm_t *f) {
  if (!f) return;
  free(f->dram);
  free(f->act);
  free(f->wgt);
  free(f->out);
  free(f->acc);
  free(f->prm[0]);
  free(f->prm[1]);
  free(f);
}

uint64_t qnpu_fm_commands(const qnpu_fm_t *f) { return f ? f->cmds : 0; }

static void raise(qnpu_fm_t *f, uint32_t code, uint32_t engine, uint32_t info) {
  if (f->halted) return;
  f->halted = 1;
  f->err_status = code | engine << QNPU_ERR_STATUS_ENGINE_SHIFT;
  f->err_info = info;
  f->irq |= 1u << QNPU_IRQ_STATUS_ERROR_SHIFT;
}

static int beat_ok(const qnpu_fm_t *f, uint32_t beat) { return (uint64_t)beat + BEAT <= f->cfg.dram_bytes; }

/* ---- validation: the dispatcher's rules (rtl/qnpu_ctrl.sv) ---------------- */
static int legal(const qnpu_fm_t *f, const uint32_t *w, int *known_op) {
  const uint32_t op = QNPU_CMD_GET(w, OPCODE), tgt = QNPU_CMD_GET(w, TARGET);
  const uint64_t len = QNPU_CMD_GET(w, LEN), c1 = QNPU_CMD_GET(w, COUNT1), c2 = QNPU_CMD_GET(w, COUNT2);
  const uint64_t srow = QNPU_CMD_GET(w, SPAD_ROW), nrows = c1 * c2, span = srow + nrows;
  const qnpu_fm_config_t *c = &f->cfg;
  *known_op = 1;
  switch (op) {
    case QNPU_OP_NOP:
    case QNPU_OP_FENCE:
      return 1;
    case QNPU_OP_LOAD: {
      int ok = c1 && c2 && len && !QNPU_CMD_GET(w, POP_PREV) && !QNPU_CMD_GET(w, PUSH_PREV);
      if (tgt == QNPU_TGT_LOAD_ACT) return ok && len <= c->rows && span <= c->act_rows;
      if (tgt == QNPU_TGT_LOAD_WGT) return ok && len <= c->cols && span <= c->wgt_rows;
      if (tgt == QNPU_TGT_LOAD_PRM0 || tgt == QNPU_TGT_LOAD_PRM1)
        return ok && len == 16u * c->cols && nrows == 1 && (QNPU_CMD_GET(w, DRAM_ADDR) & 15u) == 0;
      return 0;
    }
    case QNPU_OP_COMPUTE: {
      const uint32_t mode = QNPU_CMD_GET(w, MODE);
      const uint64_t wr_need = mode == 1 ? c->rows / 2 : c->rows;
      return mode <= 2 && len && len <= c->acc_depth && srow + len <= c->act_rows &&
             (uint64_t)QNPU_CMD_GET(w, WGT_ROW) + wr_need <= c->wgt_rows &&
             (!QNPU_CMD_GET(w, LAST) || (uint64_t)QNPU_CMD_GET(w, OUT_ROW) + len <= c->out_rows);
    }
    case QNPU_OP_STORE: {
      int ok = c1 && c2 && len && !QNPU_CMD_GET(w, POP_NEXT) && !QNPU_CMD_GET(w, PUSH_NEXT);
      switch (tgt) {
        case QNPU_TGT_STORE_OUT8: return ok && len <= c->cols && span <= c->out_rows;
        case QNPU_TGT_STORE_OUT32: return ok && len <= 4u * c->cols && span <= c->out_rows;
        case QNPU_TGT_STORE_OUT4: return ok && len <= c->cols / 2 && span <= c->out_rows;
        case QNPU_TGT_STORE_ACT: return ok && len <= c->rows && span <= c->act_rows;
        case QNPU_TGT_STORE_WGT: return ok && len <= c->cols && span <= c->wgt_rows;
        default: return 0;
      }
    }
    default:
      *known_op = 0;
      return 0;
  }
}

/* ---- engines ------------------------------------------------------------------ */

/* Row r of a 3-level transfer starts at this DRAM address (32-bit wrap). */
static uint32_t row_addr(const uint32_t *w, uint32_t i1, uint32_t i2) {
  return QNPU_CMD_GET(w, DRAM_ADDR) + i2 * QNPU_CMD_GET(w, STRIDE2) + i1 * QNPU_CMD_GET(w, STRIDE1);
}

static void exec_load(qnpu_fm_t *f, const uint32_t *w) {
  const uint32_t tgt = QNPU_CMD_GET(w, TARGET), len = QNPU_CMD_GET(w, LEN);
  const uint32_t c1 = QNPU_CMD_GET(w, COUNT1), c2 = QNPU_CMD_GET(w, COUNT2);
  const qnpu_fm_config_t *c = &f->cfg;
  if (tgt == QNPU_TGT_LOAD_PRM0 || tgt == QNPU_TGT_LOAD_PRM1) {
    prm_t *bank = f->prm[tgt == QNPU_TGT_LOAD_PRM1];
    const uint32_t base = QNPU_CMD_GET(w, DRAM_ADDR);
    for (uint32_t j = 0; j < c->cols; j++) {
      const uint32_t a = base + 16u * j;
      f->rd_bytes += BEAT;
      if (!beat_ok(f, a)) {
        raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_LOAD, a);
        return;
      }
      const uint8_t *r = f->dram + a;
      prm_t p;
      p.bias = (int32_t)((uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24);
      p.m0 = (int32_t)((uint32_t)r[4] | (uint32_t)r[5] << 8 | (uint32_t)r[6] << 16 | (uint32_t)r[7] << 24);
      p.shift = (int32_t)((r[8] & 0x3f) ^ 0x20) - 0x20; /* the RTL keeps 6 bits */
      p.bypass = r[9] & 1;
      p.zp = (int16_t)(r[10] | r[11] << 8);
      p.act_min = (int16_t)(r[12] | r[13] << 8);
      p.act_max = (int16_t)(r[14] | r[15] << 8);
      bank[j] = p;
    }
    return;
  }
  const int act = tgt == QNPU_TGT_LOAD_ACT;
  const uint32_t rowb = act ? c->rows : c->cols;
  uint8_t *spad = act ? f->act : f->wgt;
  uint32_t srow = QNPU_CMD_GET(w, SPAD_ROW);
  for (uint32_t i2 = 0; i2 < c2; i2++)
    for (uint32_t i1 = 0; i1 < c1; i1++, srow++) {
      const uint32_t a = row_addr(w, i1, i2);
      const uint64_t end = (uint64_t)a + len;
      for (uint64_t b = a & ~(BEAT - 1); b < end; b += BEAT) {
        f->rd_bytes += BEAT;
        if (!beat_ok(f, (uint32_t)b)) {
          raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_LOAD, (uint32_t)b);
          return;
        }
      }
      uint8_t *dst = spad + (size_t)srow * rowb;
      memset(dst, 0, rowb);
      memcpy(dst, f->dram + a, len);
    }
}

static int32_t sext4(uint32_t v) { return (int32_t)((v & 15u) ^ 8u) - 8; }

/* The RTL's requantization unit: the golden MBQM on its 6-bit shift field
 * (-32..31). Every value behaves as in MBQM except -32, whose 5-bit right
 * shift amount wraps to 0 in the RTL. */
static int32_t requant(qnpu_fm_t *f, const prm_t *p, int32_t acc) {
  if (p->bypass) return acc;
  const int32_t y = qnpu_golden_mbqm(acc, p->m0, p->shift == -32 ? 0 : p->shift);
  const int64_t z = (int64_t)y + p->zp;
  if (z < p->act_min) {
    f->sat++;
    return p->act_min;
  }
  if (z > p->act_max) {
    f->sat++;
    return p->act_max;
  }
  return (int32_t)z;
}

static void exec_compute(qnpu_fm_t *f, const uint32_t *w) {
  const qnpu_fm_config_t *c = &f->cfg;
  const uint32_t mode = QNPU_CMD_GET(w, MODE), m = QNPU_CMD_GET(w, LEN);
  const uint32_t a_row = QNPU_CMD_GET(w, SPAD_ROW), w_row = QNPU_CMD_GET(w, WGT_ROW);
  const uint32_t out_row = QNPU_CMD_GET(w, OUT_ROW);
  const int first = QNPU_CMD_GET(w, FIRST), last = QNPU_CMD_GET(w, LAST);
  const prm_t *bank = f->prm[QNPU_CMD_GET(w, PBANK)];
  for (uint32_t r = 0; r < m; r++) {
    const uint8_t *a = f->act + (size_t)(a_row + r) * c->rows;
    for (uint32_t j = 0; j < c->cols; j++) {
      uint32_t psum = 0; /* modulo 2^32, like the accumulator */
      for (uint32_t i = 0; i < c->rows; i++) {
        if (mode == 2) {
          const uint8_t wb = f->wgt[(size_t)(w_row + i) * c->cols + j];
          psum += (uint32_t)(sext4(wb) * sext4(a[i]) + sext4(wb >> 4) * sext4(a[i] >> 4));
        } else if (mode == 1) {
          const uint8_t wb = f->wgt[(size_t)(w_row + i / 2) * c->cols + j];
          psum += (uint32_t)(sext4(i & 1 ? wb >> 4 : wb) * (int8_t)a[i]);
        } else {
          psum += (uint32_t)((int8_t)f->wgt[(size_t)(w_row + i) * c->cols + j] * (int8_t)a[i]);
        }
      }
      int32_t *accp = &f->acc[(size_t)r * c->cols + j];
      const uint32_t base = first ? (uint32_t)bank[j].bias : (uint32_t)*accp;
      const int32_t sum = (int32_t)(base + psum);
      if (last) f->out[(size_t)(out_row + r) * c->cols + j] = requant(f, &bank[j], sum);
      else *accp = sum;
    }
  }
  f->macs += (uint64_t)m * c->rows * c->cols * (mode == 2 ? 2 : 1);
}

static void exec_store(qnpu_fm_t *f, const uint32_t *w) {
  const qnpu_fm_config_t *c = &f->cfg;
  const uint32_t tgt = QNPU_CMD_GET(w, TARGET), len = QNPU_CMD_GET(w, LEN);
  const uint32_t c1 = QNPU_CMD_GET(w, COUNT1), c2 = QNPU_CMD_GET(w, COUNT2);
  uint32_t srow = QNPU_CMD_GET(w, SPAD_ROW);
  uint8_t *row = malloc(4u * c->cols + c->rows);
  if (!row) return;
  for (uint32_t i2 = 0; i2 < c2; i2++)
    for (uint32_t i1 = 0; i1 < c1; i1++, srow++) {
      memset(row, 0, 4u * c->cols + c->rows);
      const int32_t *o = f->out + (size_t)srow * c->cols;
      switch (tgt) {
        case QNPU_TGT_STORE_OUT8:
          for (uint32_t j = 0; j < c->cols; j++) row[j] = (uint8_t)o[j];
          break;
        case QNPU_TGT_STORE_OUT32:
          for (uint32_t j = 0; j < c->cols; j++)
            for (int k = 0; k < 4; k++) row[4 * j + k] = (uint8_t)((uint32_t)o[j] >> (8 * k));
          break;
        case QNPU_TGT_STORE_OUT4:
          for (uint32_t j = 0; j < c->cols / 2; j++)
            row[j] = (uint8_t)(((uint32_t)o[2 * j] & 15u) | ((uint32_t)o[2 * j + 1] & 15u) << 4);
          break;
        case QNPU_TGT_STORE_ACT:
          memcpy(row, f->act + (size_t)srow * c->rows, c->rows);
          break;
        default:
          memcpy(row, f->wgt + (size_t)srow * c->cols, c->cols);
          break;
      }
      const uint32_t a = row_addr(w, i1, i2);
      const uint64_t end = (uint64_t)a + len;
      for (uint64_t b = a & ~(BEAT - 1); b < end; b += BEAT) {
        if (!beat_ok(f, (uint32_t)b)) {
          raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_STORE, (uint32_t)b);
          free(row);
          return;
        }
        for (uint64_t x = b; x < b + BEAT; x++)
          if (x >= a && x < end) {
            f->dram[x] = row[x - a];
            f->wr_bytes++;
          }
      }
    }
  free(row);
}

/* Tokens: taken when a command starts, given when it completes. A pop
 * without a token would deadlock the RTL until its watchdog fires. */
static int take_tokens(qnpu_fm_t *f, uint32_t op, const uint32_t *w) {
  const int pp = QNPU_CMD_GET(w, POP_PREV), pn = QNPU_CMD_GET(w, POP_NEXT);
  int need[4] = {0, 0, 0, 0};
  uint32_t engine = 0;
  if (op == QNPU_OP_LOAD) {
    need[1] = pn;
    engine = QNPU_ENGINE_LOAD;
  } else if (op == QNPU_OP_COMPUTE) {
    need[0] = pp;
    need[3] = pn;
    engine = QNPU_ENGINE_COMPUTE;
  } else {
    need[2] = pp;
    engine = QNPU_ENGINE_STORE;
  }
  for (int t = 0; t < 4; t++)
    if (need[t] && f->tokens[t] == 0) {
      if (f->watchdog) raise(f, QNPU_HWERR_WATCHDOG, engine, f->watchdog);
      return 0;
    }
  for (int t = 0; t < 4; t++) f->tokens[t] -= (uint32_t)need[t];
  return 1;
}

static void give_tokens(qnpu_fm_t *f, uint32_t op, const uint32_t *w) {
  const int pp = QNPU_CMD_GET(w, PUSH_PREV), pn = QNPU_CMD_GET(w, PUSH_NEXT);
  if (op == QNPU_OP_LOAD && pn) f->tokens[0]++;
  if (op == QNPU_OP_COMPUTE && pp) f->tokens[1]++;
  if (op == QNPU_OP_COMPUTE && pn) f->tokens[2]++;
  if (op == QNPU_OP_STORE && pp) f->tokens[3]++;
}

static void execute(qnpu_fm_t *f, const uint32_t *w) {
  int known = 1;
  if (!legal(f, w, &known)) {
    raise(f, known ? QNPU_HWERR_ILLEGAL_FIELD : QNPU_HWERR_ILLEGAL_OPCODE, QNPU_ENGINE_DISPATCH,
          (uint32_t)f->cmd_index);
    return;
  }
  f->cmd_index++;
  f->cmds++;
  const uint32_t op = QNPU_CMD_GET(w, OPCODE);
  if (op == QNPU_OP_NOP) return;
  if (op == QNPU_OP_FENCE) {
    if (QNPU_CMD_GET(w, IRQ)) f->irq |= 1u << QNPU_IRQ_STATUS_FENCE_SHIFT;
    return;
  }
  if (!take_tokens(f, op, w)) return;
  if (op == QNPU_OP_LOAD) exec_load(f, w);
  else if (op == QNPU_OP_COMPUTE) exec_compute(f, w);
  else exec_store(f, w);
  if (!f->halted) give_tokens(f, op, w);
}

static int ring_ok(const qnpu_fm_t *f) {
  return f->ring_size >= 2 && f->ring_size <= 65536 && !(f->ring_size & (f->ring_size - 1)) &&
         f->ring_head < f->ring_size;
}

static void run_ring(qnpu_fm_t *f) {
  if (!(f->ctrl & 1u << QNPU_CTRL_RING_EN_SHIFT) || f->halted) return;
  if (f->ring_tail == f->ring_head) return;
  if (!ring_ok(f)) {
    raise(f, QNPU_HWERR_RING, QNPU_ENGINE_FETCH, f->ring_size);
    return;
  }
  while (!f->halted && f->ring_tail != f->ring_head) {
    const uint32_t a = f->ring_base + f->ring_tail * QNPU_CMD_BYTES;
    uint32_t w[QNPU_CMD_WORDS];
    for (uint32_t b = 0; b < QNPU_CMD_BYTES; b += BEAT) {
      f->rd_bytes += BEAT;
      if (!beat_ok(f, a + b)) {
        raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_FETCH, a);
        return;
      }
    }
    for (unsigned i = 0; i < QNPU_CMD_WORDS; i++) {
      const uint8_t *p = f->dram + a + 4 * i;
      w[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    f->ring_tail = (f->ring_tail + 1) & (f->ring_size - 1);
    execute(f, w);
  }
}

/* ---- registers --------------------------------------------------------------- */

static qnpu_status_t reg_read(void *ctx, uint32_t off, uint32_t *v) {
  qnpu_fm_t *f = ctx;
  const qnpu_fm_config_t *c = &f->cfg;
  if (!v || (off & 3) || off >= 0x1000) return QNPU_ERR_ARG;
  switch (off) {
    case QNPU_ID_REG_OFFSET: *v = QNPU_ID_VALUE; break;
    case QNPU_VERSION_REG_OFFSET: *v = QNPU_VERSION_MAJOR_VALUE << 16 | QNPU_VERSION_MINOR_VALUE; break;
    case QNPU_CONFIG0_REG_OFFSET: *v = c->rows | c->cols << 8 | 7u << 16 | BEAT << 24; break;
    case QNPU_CONFIG1_REG_OFFSET: *v = c->act_rows | c->wgt_rows << 16; break;
    case QNPU_CONFIG2_REG_OFFSET: *v = c->out_rows | c->acc_depth << 16; break;
    case QNPU_CTRL_REG_OFFSET: *v = f->ctrl; break;
    case QNPU_STATUS_REG_OFFSET: *v = (uint32_t)f->halted << QNPU_STATUS_HALTED_SHIFT; break;
    case QNPU_IRQ_STATUS_REG_OFFSET: *v = f->irq; break;
    case QNPU_ERR_STATUS_REG_OFFSET: *v = f->err_status; break;
    case QNPU_ERR_INFO_REG_OFFSET: *v = f->err_info; break;
    case QNPU_RING_BASE_REG_OFFSET: *v = f->ring_base; break;
    case QNPU_RING_SIZE_REG_OFFSET: *v = f->ring_size; break;
    case QNPU_RING_HEAD_REG_OFFSET: *v = f->ring_head; break;
    case QNPU_RING_TAIL_REG_OFFSET: *v = f->ring_tail; break;
    case QNPU_WATCHDOG_REG_OFFSET: *v = f->watchdog; break;
    case QNPU_PERF_CYCLES_LO_REG_OFFSET: *v = 0; f->hi_latch = 0; break;
    case QNPU_PERF_MACS_LO_REG_OFFSET: *v = (uint32_t)f->macs; f->hi_latch = (uint32_t)(f->macs >> 32); break;
    case QNPU_PERF_CYCLES_HI_REG_OFFSET:
    case QNPU_PERF_MACS_HI_REG_OFFSET: *v = f->hi_latch; break;
    case QNPU_PERF_RD_BYTES_REG_OFFSET: *v = f->rd_bytes; break;
    case QNPU_PERF_WR_BYTES_REG_OFFSET: *v = f->wr_bytes; break;
    case QNPU_PERF_SAT_REG_OFFSET: *v = f->sat; break;
    default: *v = 0; break; /* busy/stall counters and unknown offsets */
  }
  return QNPU_OK;
}

static qnpu_status_t reg_write(void *ctx, uint32_t off, uint32_t v) {
  qnpu_fm_t *f = ctx;
  if ((off & 3) || off >= 0x1000) return QNPU_ERR_ARG;
  if (off >= QNPU_CMD_PUSH_REG_OFFSET && off < QNPU_CMD_PUSH_REG_OFFSET + 4 * QNPU_CMD_PUSH_COUNT) {
    const uint32_t i = (off - QNPU_CMD_PUSH_REG_OFFSET) / 4;
    f->push[i] = v;
    if (i == QNPU_CMD_PUSH_COUNT - 1 && !f->halted) execute(f, f->push);
    return QNPU_OK;
  }
  switch (off) {
    case QNPU_CTRL_REG_OFFSET:
      if (v & 1u << QNPU_CTRL_SOFT_RESET_SHIFT) {
        reset_state(f);
        f->ring_head = 0;
      }
      f->ctrl = v & (1u << QNPU_CTRL_RING_EN_SHIFT | 1u << QNPU_CTRL_IRQ_EN_SHIFT);
      run_ring(f);
      break;
    case QNPU_IRQ_STATUS_REG_OFFSET: f->irq &= ~v; break;
    case QNPU_RING_BASE_REG_OFFSET: f->ring_base = v; break;
    case QNPU_RING_SIZE_REG_OFFSET: f->ring_size = v & 0x1ffffu; break;
    case QNPU_RING_HEAD_REG_OFFSET:
      f->ring_head = v & 0xffffu;
      run_ring(f);
      break;
    case QNPU_WATCHDOG_REG_OFFSET: f->watchdog = v; break;
    case QNPU_PERF_CTRL_REG_OFFSET:
      if (v & 1u) {
        f->macs = 0;
        f->rd_bytes = f->wr_bytes = f->sat = 0;
      }
      break;
    default: break;
  }
  return QNPU_OK;
}

static qnpu_status_t mem_read(void *ctx, uint64_t a, void *b, size_t n) {
  qnpu_fm_t *f = ctx;
  if ((!b && n) || a > f->cfg.dram_bytes || n > f->cfg.dram_bytes - a) return QNPU_ERR_ARG;
  if (n) memcpy(b, f->dram + a, n);
  return QNPU_OK;
}

static qnpu_status_t mem_write(void *ctx, uint64_t a, const void *b, size_t n) {
  qnpu_fm_t *f = ctx;
  if ((!b && n) || a > f->cfg.dram_bytes || n > f->cfg.dram_bytes - a) return QNPU_ERR_ARG;
  if (n) memcpy(f->dram + a, b, n);
  return QNPU_OK;
}

static qnpu_status_t fm_wait(void *ctx, uint32_t cycles) {
  (void)ctx;
  (void)cycles;
  return QNPU_OK; /* commands already ran when they were submitted */
}

static uint64_t mem_size(void *ctx) { return ((qnpu_fm_t *)ctx)->cfg.dram_bytes; }

const qnpu_hal_ops_t qnpu_hal_fast_ops = {"fast", reg_read, reg_write, mem_read, mem_write, fm_wait, mem_size};

qnpu_hal_t qnpu_hal_fast(qnpu_fm_t *fm) {
  const qnpu_hal_t h = {&qnpu_hal_fast_ops, fm, NULL, NULL};
  return h;
}
