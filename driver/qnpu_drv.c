/* qnpu_drv.c - the qnpu device API (qnpu_drv.h). */
#include "qnpu_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RING_ENTRIES 256u
#define DEFAULT_POLL_CYCLES 256u
#define DEFAULT_TIMEOUT_CYCLES 100000000ull

struct qnpu_dev {
  qnpu_hal_t hal;
  qnpu_dev_info_t info;
  uint32_t ring_entries, poll_cycles;
  uint64_t ring_addr;
  uint32_t head;            /* next ring slot to fill */
  uint64_t heap_base;        /* device memory above the ring: the heap */
  /* Live allocations, sorted by address (first fit between them). */
  struct blk { uint64_t addr, bytes; } *blk;
  size_t nblk, cap;
};

const char *qnpu_reg_name(uint32_t offset) { return qnpu_regs_name_of(offset); }

#define FIELD(v, REG, F) (((v) >> QNPU_##REG##_##F##_SHIFT) & QNPU_##REG##_##F##_MASK)

static qnpu_status_t rd(qnpu_dev_t *d, uint32_t off, uint32_t *v) { return qnpu_hal_reg_read(&d->hal, off, v); }
static qnpu_status_t wr(qnpu_dev_t *d, uint32_t off, uint32_t v) { return qnpu_hal_reg_write(&d->hal, off, v); }

qnpu_status_t qnpu_drv_open(const qnpu_hal_t *hal, const qnpu_dev_expect_t *expect,
                            const qnpu_drv_options_t *opts, qnpu_dev_t **out) {
  if (!hal || !hal->ops || !hal->ops->reg_read || !hal->ops->reg_write || !hal->ops->mem_read ||
      !hal->ops->mem_write || !hal->ops->wait || !hal->ops->mem_size || !out)
    return QNPU_ERR_ARG;
  const uint32_t entries = opts && opts->ring_entries ? opts->ring_entries : DEFAULT_RING_ENTRIES;
  if (entries < 2 || entries > 65536 || (entries & (entries - 1))) return QNPU_ERR_ARG;
  *out = NULL;
  qnpu_dev_t *d = calloc(1, sizeof *d);
  if (!d) return QNPU_ERR_NOMEM;
  d->hal = *hal;
  d->ring_entries = entries;
  d->poll_cycles = opts && opts->poll_cycles ? opts->poll_cycles : DEFAULT_POLL_CYCLES;

  uint32_t id = 0, ver = 0, c0 = 0, c1 = 0, c2 = 0;
  qnpu_status_t st;
  if ((st = rd(d, QNPU_ID_REG_OFFSET, &id))) goto fail;
  if (id != QNPU_ID_VALUE) {
    st = QNPU_ERR_HW;  /* not a qnpu */
    goto fail;
  }
  if ((st = rd(d, QNPU_VERSION_REG_OFFSET, &ver)) || (st = rd(d, QNPU_CONFIG0_REG_OFFSET, &c0)) ||
      (st = rd(d, QNPU_CONFIG1_REG_OFFSET, &c1)) || (st = rd(d, QNPU_CONFIG2_REG_OFFSET, &c2)))
    goto fail;
  d->info.version_major = FIELD(ver, VERSION, MAJOR);
  d->info.version_minor = FIELD(ver, VERSION, MINOR);
  d->info.rows = FIELD(c0, CONFIG0, ROWS);
  d->info.cols = FIELD(c0, CONFIG0, COLS);
  d->info.precisions = FIELD(c0, CONFIG0, PRECISIONS);
  d->info.requant_f32 = FIELD(c0, CONFIG0, REQUANT_F32);
  d->info.req_share = 1u << FIELD(c0, CONFIG0, REQ_SHARE_LOG2);
  d->info.data_bytes = FIELD(c0, CONFIG0, DATA_BYTES);
  d->info.act_rows = FIELD(c1, CONFIG1, ACT_ROWS);
  d->info.wgt_rows = FIELD(c1, CONFIG1, WGT_ROWS);
  d->info.out_rows = FIELD(c2, CONFIG2, OUT_ROWS);
  d->info.acc_depth = FIELD(c2, CONFIG2, ACC_DEPTH);
  d->info.mem_bytes = hal->ops->mem_size(hal->ctx);
  if (d->info.version_major != QNPU_VERSION_MAJOR_VALUE || d->info.rows == 0 || d->info.cols == 0 ||
      d->info.data_bytes != QNPU_BEAT_BYTES) {
    st = QNPU_ERR_UNSUPPORTED;  /* a register map this driver does not know */
    goto fail;
  }
  if (expect && ((expect->rows && expect->rows != d->info.rows) ||
                 (expect->cols && expect->cols != d->info.cols))) {
    st = QNPU_ERR_UNSUPPORTED;
    goto fail;
  }
  const uint64_t ring_bytes = (uint64_t)entries * QNPU_CMD_BYTES;
  if (d->info.mem_bytes < ring_bytes) {
    st = QNPU_ERR_NOMEM;
    goto fail;
  }
  d->ring_addr = 0;
  d->heap_base = ring_bytes;
  if ((st = qnpu_drv_reset(d))) goto fail;
  *out = d;
  return QNPU_OK;
fail:
  free(d);
  return st;
}

void qnpu_drv_close(qnpu_dev_t *d) {
  if (!d) return;
  (void)wr(d, QNPU_CTRL_REG_OFFSET, 0);
  free(d->blk);
  free(d);
}

const qnpu_dev_info_t *qnpu_drv_info(const qnpu_dev_t *d) { return d ? &d->info : NULL; }

qnpu_status_t qnpu_drv_reset(qnpu_dev_t *d) {
  if (!d) return QNPU_ERR_ARG;
  qnpu_status_t st;
  if ((st = wr(d, QNPU_CTRL_REG_OFFSET, 1u << QNPU_CTRL_SOFT_RESET_SHIFT))) return st;
  /* Writes that were in flight may still land: wait for the memory port to
   * drain before anyone reuses device memory. */
  for (uint64_t waited = 0;; waited += d->poll_cycles) {
    uint32_t s;
    if ((st = rd(d, QNPU_STATUS_REG_OFFSET, &s))) return st;
    if (!FIELD(s, STATUS, MEM_PENDING)) break;
    if (waited >= DEFAULT_TIMEOUT_CYCLES) return QNPU_ERR_TIMEOUT;
    if ((st = qnpu_hal_wait(&d->hal, d->poll_cycles))) return st;
  }
  if ((st = wr(d, QNPU_IRQ_STATUS_REG_OFFSET, 0xffffffffu)) ||
      (st = wr(d, QNPU_RING_BASE_REG_OFFSET, (uint32_t)d->ring_addr)) ||
      (st = wr(d, QNPU_RING_SIZE_REG_OFFSET, d->ring_entries)) ||
      (st = wr(d, QNPU_RING_HEAD_REG_OFFSET, 0)) ||
      (st = wr(d, QNPU_CTRL_REG_OFFSET, 1u << QNPU_CTRL_RING_EN_SHIFT)))
    return st;
  d->head = 0;
  return QNPU_OK;
}

/* Gap i of the heap: from the end of allocation i-1 (or the heap base) to
 * the start of allocation i (or the end of memory), i = 0..nblk. */
static uint64_t gap_lo(const qnpu_dev_t *d, size_t i) {
  return i ? d->blk[i - 1].addr + d->blk[i - 1].bytes : d->heap_base;
}
static uint64_t gap_hi(const qnpu_dev_t *d, size_t i) {
  return i < d->nblk ? d->blk[i].addr : d->info.mem_bytes;
}

/* First fit: the lowest aligned gap between live allocations that holds the
 * request. O(allocations) per call; a layer has a few dozen at most. */
qnpu_status_t qnpu_drv_alloc(qnpu_dev_t *d, size_t bytes, size_t align, uint64_t *addr) {
  if (!d || !addr || bytes == 0) return QNPU_ERR_ARG;
  if (align == 0) align = 16;
  if (align & (align - 1)) return QNPU_ERR_ARG;
  const uint64_t mask = (uint64_t)align - 1;
  for (size_t i = 0; i <= d->nblk; i++) {
    const uint64_t lo = gap_lo(d, i), hi = gap_hi(d, i);
    const uint64_t a = (lo + mask) & ~mask;
    if (a >= lo && a <= hi && hi - a >= bytes) {
      if (d->nblk == d->cap) {
        const size_t cap = d->cap ? 2 * d->cap : 16;
        struct blk *nb = realloc(d->blk, cap * sizeof *nb);
        if (!nb) return QNPU_ERR_NOMEM;
        d->blk = nb;
        d->cap = cap;
      }
      memmove(&d->blk[i + 1], &d->blk[i], (d->nblk - i) * sizeof *d->blk);
      d->blk[i].addr = a;
      d->blk[i].bytes = bytes;
      d->nblk++;
      *addr = a;
      return QNPU_OK;
    }
  }
  return QNPU_ERR_NOMEM;
}

qnpu_status_t qnpu_drv_free(qnpu_dev_t *d, uint64_t addr) {
  if (!d) return QNPU_ERR_ARG;
  size_t lo = 0, hi = d->nblk;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (d->blk[mid].addr < addr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == d->nblk || d->blk[lo].addr != addr) return QNPU_ERR_ARG;  /* not allocated (or freed twice) */
  memmove(&d->blk[lo], &d->blk[lo + 1], (d->nblk - lo - 1) * sizeof *d->blk);
  d->nblk--;
  return QNPU_OK;
}

void qnpu_drv_free_all(qnpu_dev_t *d) {
  if (d) d->nblk = 0;
}

void qnpu_drv_mem_stats(const qnpu_dev_t *d, uint64_t *used, uint64_t *largest_free) {
  uint64_t u = 0, big = 0;
  for (size_t i = 0; d && i <= d->nblk; i++) {
    const uint64_t lo = gap_lo(d, i), hi = gap_hi(d, i);
    if (hi > lo && hi - lo > big) big = hi - lo;
    if (i < d->nblk) u += d->blk[i].bytes;
  }
  if (used) *used = u;
  if (largest_free) *largest_free = big;
}

qnpu_status_t qnpu_drv_write(qnpu_dev_t *d, uint64_t addr, const void *buf, size_t len) {
  if (!d || (!buf && len)) return QNPU_ERR_ARG;
  return qnpu_hal_mem_write(&d->hal, addr, buf, len);
}

qnpu_status_t qnpu_drv_read(qnpu_dev_t *d, uint64_t addr, void *buf, size_t len) {
  if (!d || (!buf && len)) return QNPU_ERR_ARG;
  return qnpu_hal_mem_read(&d->hal, addr, buf, len);
}

/* ---- commands ---------------------------------------------------------------- */

static qnpu_cmd_t xfer(uint32_t op, const qnpu_xfer_t *x) {
  qnpu_cmd_t c;
  memset(&c, 0, sizeof c);
  QNPU_CMD_SET(c.w, OPCODE, op);
  QNPU_CMD_SET(c.w, TARGET, x->target);
  QNPU_CMD_SET(c.w, SPAD_ROW, x->spad_row);
  QNPU_CMD_SET(c.w, DRAM_ADDR, x->dram_addr);
  QNPU_CMD_SET(c.w, LEN, x->len);
  QNPU_CMD_SET(c.w, COUNT1, x->count1);
  QNPU_CMD_SET(c.w, COUNT2, x->count2);
  QNPU_CMD_SET(c.w, COUNT3, x->count3);
  QNPU_CMD_SET(c.w, STRIDE1, x->stride1);
  QNPU_CMD_SET(c.w, STRIDE2, x->stride2);
  QNPU_CMD_SET(c.w, STRIDE3, x->stride3);
  if (op == QNPU_OP_LOAD) {
    QNPU_CMD_SET(c.w, PAD_X_LO, x->pad_xlo);
    QNPU_CMD_SET(c.w, PAD_X_HI, x->pad_xhi);
    QNPU_CMD_SET(c.w, PAD_Y_LO, x->pad_ylo);
    QNPU_CMD_SET(c.w, PAD_Y_HI, x->pad_yhi);
    QNPU_CMD_SET(c.w, FILL, x->fill);
  }
  return c;
}

qnpu_cmd_t qnpu_cmd_load(const qnpu_xfer_t *x) { return xfer(QNPU_OP_LOAD, x); }
qnpu_cmd_t qnpu_cmd_store(const qnpu_xfer_t *x) { return xfer(QNPU_OP_STORE, x); }

qnpu_cmd_t qnpu_cmd_compute(const qnpu_compute_t *p) {
  qnpu_cmd_t c;
  memset(&c, 0, sizeof c);
  QNPU_CMD_SET(c.w, OPCODE, QNPU_OP_COMPUTE);
  QNPU_CMD_SET(c.w, MODE, p->mode);
  QNPU_CMD_SET(c.w, FIRST, p->first ? 1 : 0);
  QNPU_CMD_SET(c.w, LAST, p->last ? 1 : 0);
  QNPU_CMD_SET(c.w, PBANK, p->pbank);
  QNPU_CMD_SET(c.w, A_ROW, p->a_row);
  QNPU_CMD_SET(c.w, W_ROW, p->w_row);
  QNPU_CMD_SET(c.w, ACC_ROW, p->acc_row);
  QNPU_CMD_SET(c.w, OUT_ROW, p->out_row);
  QNPU_CMD_SET(c.w, MX, p->mx);
  QNPU_CMD_SET(c.w, MY, p->my);
  QNPU_CMD_SET(c.w, AS_X, p->as_x);
  QNPU_CMD_SET(c.w, AS_Y, p->as_y);
  QNPU_CMD_SET(c.w, F1, p->f1);
  QNPU_CMD_SET(c.w, F2, p->f2);
  QNPU_CMD_SET(c.w, F3, p->f3);
  QNPU_CMD_SET(c.w, FS1, p->fs1);
  QNPU_CMD_SET(c.w, FS2, p->fs2);
  QNPU_CMD_SET(c.w, FS3, p->fs3);
  return c;
}

qnpu_cmd_t qnpu_cmd_fence(int irq) {
  qnpu_cmd_t c;
  memset(&c, 0, sizeof c);
  QNPU_CMD_SET(c.w, OPCODE, QNPU_OP_FENCE);
  QNPU_CMD_SET(c.w, IRQ, irq ? 1 : 0);
  return c;
}

qnpu_cmd_t qnpu_cmd_nop(void) {
  qnpu_cmd_t c;
  memset(&c, 0, sizeof c);
  return c;
}

void qnpu_cmd_deps(qnpu_cmd_t *c, int pop_prev, int pop_next, int push_prev, int push_next) {
  QNPU_CMD_SET(c->w, POP_PREV, pop_prev ? 1 : 0);
  QNPU_CMD_SET(c->w, POP_NEXT, pop_next ? 1 : 0);
  QNPU_CMD_SET(c->w, PUSH_PREV, push_prev ? 1 : 0);
  QNPU_CMD_SET(c->w, PUSH_NEXT, push_next ? 1 : 0);
}

static void cmd_bytes(const qnpu_cmd_t *c, uint8_t *b) {
  for (unsigned i = 0; i < QNPU_CMD_WORDS; i++)
    for (unsigned k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)(c->w[i] >> (8 * k));
}

/* Fails fast when the device halted, so a submit never waits forever. */
static qnpu_status_t check_halted(qnpu_dev_t *d) {
  uint32_t s;
  qnpu_status_t st = rd(d, QNPU_STATUS_REG_OFFSET, &s);
  if (st) return st;
  return FIELD(s, STATUS, HALTED) ? QNPU_ERR_HW : QNPU_OK;
}

qnpu_status_t qnpu_drv_submit(qnpu_dev_t *d, const qnpu_cmd_t *cmds, size_t n) {
  if (!d || (!cmds && n)) return QNPU_ERR_ARG;
  uint64_t waited = 0;
  for (size_t i = 0; i < n;) {
    uint32_t tail;
    qnpu_status_t st = rd(d, QNPU_RING_TAIL_REG_OFFSET, &tail);
    if (st) return st;
    const uint32_t used = (d->head - tail) & (d->ring_entries - 1);
    uint32_t room = d->ring_entries - 1 - used;
    if (room == 0) {
      if ((st = check_halted(d))) return st;
      if (waited > DEFAULT_TIMEOUT_CYCLES) return QNPU_ERR_TIMEOUT;
      if ((st = qnpu_hal_wait(&d->hal, d->poll_cycles))) return st;
      waited += d->poll_cycles;
      continue;
    }
    for (; room && i < n; room--, i++) {
      uint8_t b[QNPU_CMD_BYTES];
      cmd_bytes(&cmds[i], b);
      st = qnpu_hal_mem_write(&d->hal, d->ring_addr + (uint64_t)d->head * QNPU_CMD_BYTES, b, sizeof b);
      if (st) return st;
      d->head = (d->head + 1) & (d->ring_entries - 1);
    }
    if ((st = wr(d, QNPU_RING_HEAD_REG_OFFSET, d->head))) return st;
  }
  return QNPU_OK;
}

qnpu_status_t qnpu_drv_push(qnpu_dev_t *d, const qnpu_cmd_t *c) {
  if (!d || !c) return QNPU_ERR_ARG;
  for (unsigned i = 0; i < QNPU_CMD_WORDS; i++) {
    const qnpu_status_t st = wr(d, QNPU_CMD_PUSH_REG_OFFSET + 4 * i, c->w[i]);
    if (st) return st;
  }
  return QNPU_OK;
}

qnpu_status_t qnpu_drv_wait(qnpu_dev_t *d, uint64_t timeout_cycles) {
  if (!d) return QNPU_ERR_ARG;
  if (timeout_cycles == 0) timeout_cycles = DEFAULT_TIMEOUT_CYCLES;
  for (uint64_t waited = 0;;) {
    uint32_t s, tail;
    qnpu_status_t st;
    if ((st = rd(d, QNPU_STATUS_REG_OFFSET, &s))) return st;
    if (FIELD(s, STATUS, HALTED)) return QNPU_ERR_HW;
    if ((st = rd(d, QNPU_RING_TAIL_REG_OFFSET, &tail))) return st;
    if (!FIELD(s, STATUS, BUSY) && tail == d->head) return QNPU_OK;
    if (waited >= timeout_cycles) return QNPU_ERR_TIMEOUT;
    if ((st = qnpu_hal_wait(&d->hal, d->poll_cycles))) return st;
    waited += d->poll_cycles;
  }
}

/* ---- counters and errors ------------------------------------------------------ */

qnpu_status_t qnpu_drv_counters(qnpu_dev_t *d, qnpu_counters_t *o) {
  if (!d || !o) return QNPU_ERR_ARG;
  uint32_t lo, hi;
  qnpu_status_t st;
  memset(o, 0, sizeof *o);
  if ((st = rd(d, QNPU_PERF_CYCLES_LO_REG_OFFSET, &lo)) || (st = rd(d, QNPU_PERF_CYCLES_HI_REG_OFFSET, &hi)))
    return st;
  o->cycles = (uint64_t)hi << 32 | lo;
  if ((st = rd(d, QNPU_PERF_MACS_LO_REG_OFFSET, &lo)) || (st = rd(d, QNPU_PERF_MACS_HI_REG_OFFSET, &hi)))
    return st;
  o->macs = (uint64_t)hi << 32 | lo;
  const struct {
    uint32_t off;
    uint32_t *dst;
  } regs[] = {
      {QNPU_PERF_LD_BUSY_REG_OFFSET, &o->ld_busy},   {QNPU_PERF_LD_STALL_REG_OFFSET, &o->ld_stall},
      {QNPU_PERF_EX_BUSY_REG_OFFSET, &o->ex_busy},   {QNPU_PERF_EX_STALL_REG_OFFSET, &o->ex_stall},
      {QNPU_PERF_ST_BUSY_REG_OFFSET, &o->st_busy},   {QNPU_PERF_ST_STALL_REG_OFFSET, &o->st_stall},
      {QNPU_PERF_RD_BYTES_REG_OFFSET, &o->rd_bytes}, {QNPU_PERF_WR_BYTES_REG_OFFSET, &o->wr_bytes},
      {QNPU_PERF_SAT_REG_OFFSET, &o->saturations},   {QNPU_PERF_ROWS_REG_OFFSET, &o->rows},
      {QNPU_PERF_FIRST_ROW_REG_OFFSET, &o->first_row}, {QNPU_PERF_LAST_ROW_REG_OFFSET, &o->last_row},
  };
  for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
    if ((st = rd(d, regs[i].off, regs[i].dst))) return st;
  return QNPU_OK;
}

qnpu_status_t qnpu_drv_clear_counters(qnpu_dev_t *d) {
  if (!d) return QNPU_ERR_ARG;
  return wr(d, QNPU_PERF_CTRL_REG_OFFSET, 1u << QNPU_PERF_CTRL_CLEAR_SHIFT);
}

const char *qnpu_hwerr_name(uint32_t code) {
  switch (code) {
    case QNPU_HWERR_NONE: return "no error";
    case QNPU_HWERR_ILLEGAL_OPCODE: return "illegal opcode";
    case QNPU_HWERR_ILLEGAL_FIELD: return "illegal command field";
    case QNPU_HWERR_DMA: return "DMA error (the memory answered with an error)";
    case QNPU_HWERR_WATCHDOG: return "watchdog (an engine waited too long)";
    case QNPU_HWERR_RING: return "bad command ring setup";
    case QNPU_HWERR_TOKEN: return "dependency token counter overflow";
    default: return "unknown error code";
  }
}

static const char *engine_name(uint32_t e) {
  switch (e) {
    case QNPU_ENGINE_DISPATCH: return "dispatch";
    case QNPU_ENGINE_LOAD: return "load";
    case QNPU_ENGINE_COMPUTE: return "compute";
    case QNPU_ENGINE_STORE: return "store";
    case QNPU_ENGINE_FETCH: return "fetch";
    default: return "?";
  }
}

qnpu_status_t qnpu_drv_hw_error(qnpu_dev_t *d, qnpu_hw_error_t *o) {
  if (!d || !o) return QNPU_ERR_ARG;
  uint32_t s, info;
  qnpu_status_t st;
  if ((st = rd(d, QNPU_ERR_STATUS_REG_OFFSET, &s)) || (st = rd(d, QNPU_ERR_INFO_REG_OFFSET, &info))) return st;
  o->code = FIELD(s, ERR_STATUS, CODE);
  o->engine = FIELD(s, ERR_STATUS, ENGINE);
  o->info = info;
  if (o->code == QNPU_HWERR_NONE) {
    snprintf(o->message, sizeof o->message, "no error");
  } else if (o->code == QNPU_HWERR_ILLEGAL_OPCODE || o->code == QNPU_HWERR_ILLEGAL_FIELD) {
    snprintf(o->message, sizeof o->message, "%s in command #%u (engine %s)", qnpu_hwerr_name(o->code), info,
             engine_name(o->engine));
  } else if (o->code == QNPU_HWERR_TOKEN) {
    static const char *const tok[] = {"load->compute", "compute->load", "compute->store", "store->compute"};
    snprintf(o->message, sizeof o->message, "%s (%s, more than 255 pending)", qnpu_hwerr_name(o->code),
             info < 4 ? tok[info] : "?");
  } else if (o->code == QNPU_HWERR_DMA) {
    snprintf(o->message, sizeof o->message, "%s at 0x%08x (engine %s)", qnpu_hwerr_name(o->code), info,
             engine_name(o->engine));
  } else {
    snprintf(o->message, sizeof o->message, "%s (engine %s, info %u)", qnpu_hwerr_name(o->code),
             engine_name(o->engine), info);
  }
  return QNPU_OK;
}
