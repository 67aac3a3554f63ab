/* qnpu_fm.c - the fast functional model (qnpu_fm.h).
 *
 * It mirrors the RTL's observable behaviour: the dispatcher's field checks
 * (rtl/qnpu_ctrl.sv), the 6-bit shift field, the DMA walk (qnpu_walk.h) and
 * its in-order error report (the first failing beat), the dependency
 * tokens, and the byte counters (reads count whole 16-byte beats, writes
 * the enabled bytes, fetches 32 bytes a command). */
#include "qnpu_fm.h"

#include <stdlib.h>
#include <string.h>

#include "qnpu_golden.h"
#include "qnpu_regs.h"
#include "qnpu_walk.h"

#define BEAT QNPU_BEAT_BYTES
#define MAXQ 64u

enum { ENG_LD, ENG_EX, ENG_ST, ENGINES };

typedef struct {
  uint32_t w[QNPU_CMD_WORDS];
} cmd_t;

typedef struct {
  cmd_t c[MAXQ];
  uint32_t head, n;
} queue_t;

struct qnpu_fm {
  qnpu_fm_config_t cfg;
  uint8_t *dram;
  uint8_t *act, *wgt;        /* act_rows x rows, wgt_rows x cols      */
  int32_t *out;              /* out_rows x cols                       */
  int32_t *acc;              /* acc_depth x cols                      */
  int16_t *wpair;            /* one fold's weights as int16 pairs: rows x cols x 2 */
  uint32_t *pairs8;          /* the activation scratchpad as int16 pairs, decoded at load:  */
  uint32_t *pairs4;          /*   int8 (W8A8/W4A8) act_rows x ceil(rows/2), int4 act_rows x rows */
  uint8_t *stale4;           /* act_rows: the int4 pairs of the row are not decoded yet */
  const uint32_t **arow;     /* one fold's activation pairs, a pointer per output row */
  uint32_t *rel;             /* a COMPUTE's activation row offsets, one per output row */
  int32_t *acc_tmp;          /* the sums of a LAST fold: acc_depth x cols */
  qnpu_prm_t *prm[2];        /* cols each                             */
  /* registers */
  uint32_t ctrl, irq, err_status, err_info, ring_base, ring_size, ring_head, ring_tail, watchdog;
  uint32_t push[QNPU_CMD_WORDS];
  int halted;
  /* the command pipeline */
  queue_t dq;                /* fetched or pushed, not yet dispatched */
  queue_t eq[ENGINES];
  uint64_t blocked_since[ENGINES]; /* when each engine's head began to wait (0: not waiting) */
  uint32_t tokens[4];        /* ld->ex, ex->ld, ex->st, st->ex        */
  uint64_t cmds, cmd_index, events;
  uint64_t macs;
  uint32_t rows, rd_bytes, wr_bytes, sat, hi_latch;
};

void qnpu_fm_config_default(qnpu_fm_config_t *c) {
  c->rows = QNPU_DEFAULT_ROWS;
  c->cols = QNPU_DEFAULT_COLS;
  c->acc_depth = QNPU_DEFAULT_ACC_DEPTH;
  c->act_rows = QNPU_DEFAULT_ACT_ROWS;
  c->wgt_rows = QNPU_DEFAULT_WGT_ROWS;
  c->out_rows = QNPU_DEFAULT_OUT_ROWS;
  c->fetch_q = QNPU_DEFAULT_FETCH_Q;
  c->eng_q = QNPU_DEFAULT_ENG_Q;
  c->int4 = QNPU_DEFAULT_INT4;
  c->req_f32 = QNPU_DEFAULT_REQ_F32;
  c->req_share = QNPU_DEFAULT_REQ_SHARE;
  c->dram_bytes = 16u << 20;
}

static void reset_state(qnpu_fm_t *f) {
  f->irq = f->err_status = f->err_info = 0;
  f->ring_tail = 0;
  f->halted = 0;
  memset(&f->dq, 0, sizeof f->dq);
  memset(f->eq, 0, sizeof f->eq);
  memset(f->blocked_since, 0, sizeof f->blocked_since);
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
      c.acc_depth < 2 || c.act_rows == 0 || c.wgt_rows == 0 || c.out_rows < 2 || c.act_rows > 65535 ||
      c.wgt_rows > 65535 || c.out_rows > 65535 || c.acc_depth > 65535 || c.dram_bytes == 0 ||
      c.dram_bytes > (1ull << 32) || c.fetch_q < 2 || c.fetch_q > MAXQ || c.eng_q < 2 || c.eng_q > MAXQ)
    return QNPU_ERR_ARG;
  qnpu_fm_t *f = calloc(1, sizeof *f);
  if (!f) return QNPU_ERR_NOMEM;
  f->cfg = c;
  f->dram = calloc(c.dram_bytes, 1);
  f->act = calloc((size_t)c.act_rows * c.rows, 1);
  f->wgt = calloc((size_t)c.wgt_rows * c.cols, 1);
  f->out = calloc((size_t)c.out_rows * c.cols, sizeof(int32_t));
  f->acc = calloc((size_t)c.acc_depth * c.cols, sizeof(int32_t));
  f->wpair = calloc((size_t)c.rows * c.cols * 2, sizeof(int16_t));

  f->acc_tmp = calloc((size_t)c.acc_depth * c.cols, sizeof(int32_t));
  f->pairs8 = calloc((size_t)c.act_rows * ((c.rows + 1) / 2), sizeof(uint32_t));
  f->pairs4 = calloc((size_t)c.act_rows * c.rows, sizeof(uint32_t));
  f->stale4 = calloc(c.act_rows, 1);
  f->arow = calloc(c.acc_depth, sizeof *f->arow);
  f->rel = calloc(c.acc_depth, sizeof *f->rel);
  f->prm[0] = calloc(c.cols, sizeof(qnpu_prm_t));
  f->prm[1] = calloc(c.cols, sizeof(qnpu_prm_t));
  if (!f->dram || !f->act || !f->wgt || !f->out || !f->acc || !f->wpair || !f->pairs8 || !f->pairs4 || !f->stale4 ||
      !f->acc_tmp || !f->arow || !f->rel || !f->prm[0] || !f->prm[1]) {
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
  free(f->wpair);
  free(f->acc_tmp);
  free(f->pairs8);
  free(f->pairs4);
  free(f->stale4);
  free(f->arow);
  free(f->rel);
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

static cmd_t *qhead(queue_t *q) { return &q->c[q->head]; }
static void qpop(queue_t *q) {
  q->head = (q->head + 1) % MAXQ;
  q->n--;
}
static void qpush(queue_t *q, const cmd_t *c) {
  q->c[(q->head + q->n) % MAXQ] = *c;
  q->n++;
}

/* ---- validation: the dispatcher's rules (rtl/qnpu_ctrl.sv) ---------------- */
static int legal(const qnpu_fm_t *f, const uint32_t *w, int *known_op) {
  const qnpu_fm_config_t *c = &f->cfg;
  const uint32_t op = QNPU_CMD_GET(w, OPCODE), tgt = QNPU_CMD_GET(w, TARGET);
  *known_op = 1;
  switch (op) {
    case QNPU_OP_NOP:
    case QNPU_OP_FENCE:
      return 1;
    case QNPU_OP_LOAD:
    case QNPU_OP_STORE: {
      const uint64_t len = QNPU_CMD_GET(w, LEN), c1 = QNPU_CMD_GET(w, COUNT1), c2 = QNPU_CMD_GET(w, COUNT2),
                     c3 = QNPU_CMD_GET(w, COUNT3), srow = QNPU_CMD_GET(w, SPAD_ROW);
      const uint32_t pxl = QNPU_CMD_GET(w, PAD_X_LO), pxh = QNPU_CMD_GET(w, PAD_X_HI);
      const uint32_t pyl = QNPU_CMD_GET(w, PAD_Y_LO), pyh = QNPU_CMD_GET(w, PAD_Y_HI);
      const int pads = pxl | pxh | pyl | pyh;
      if (!c1 || !c2 || !c3 || !len) return 0;
      uint64_t rows_lim, len_lim;
      if (op == QNPU_OP_LOAD) {
        if (QNPU_CMD_GET(w, POP_PREV) || QNPU_CMD_GET(w, PUSH_PREV)) return 0;
        if (pxl + pxh > c2 || pyl + pyh > c3) return 0;
        if (tgt == QNPU_TGT_LOAD_PRM0 || tgt == QNPU_TGT_LOAD_PRM1)
          return (len & 15) == 0 && srow + len / 16 <= c->cols && c1 == 1 && c2 == 1 && c3 == 1 &&
                 (QNPU_CMD_GET(w, DRAM_ADDR) & 15u) == 0 && !pads;
        if (tgt == QNPU_TGT_LOAD_ACT) rows_lim = c->act_rows, len_lim = c->rows;
        else if (tgt == QNPU_TGT_LOAD_WGT) rows_lim = c->wgt_rows, len_lim = c->cols;
        else return 0;
      } else {
        if (QNPU_CMD_GET(w, POP_NEXT) || QNPU_CMD_GET(w, PUSH_NEXT) || pads) return 0;
        switch (tgt) {
          case QNPU_TGT_STORE_OUT8: rows_lim = c->out_rows, len_lim = c->cols; break;
          case QNPU_TGT_STORE_OUT32: rows_lim = c->out_rows, len_lim = 4u * c->cols; break;
          case QNPU_TGT_STORE_OUT4: rows_lim = c->out_rows, len_lim = c->cols / 2; break;
          case QNPU_TGT_STORE_ACT: rows_lim = c->act_rows, len_lim = c->rows; break;
          case QNPU_TGT_STORE_WGT: rows_lim = c->wgt_rows, len_lim = c->cols; break;
          default: return 0;
        }
      }
      return len <= len_lim && srow + c1 * c2 * c3 <= rows_lim;
    }
    case QNPU_OP_COMPUTE: {
      const uint32_t mode = QNPU_CMD_GET(w, MODE);
      const uint64_t mx = QNPU_CMD_GET(w, MX), my = QNPU_CMD_GET(w, MY), f1 = QNPU_CMD_GET(w, F1),
                     f2 = QNPU_CMD_GET(w, F2), f3 = QNPU_CMD_GET(w, F3);
      if (mode > QNPU_MODE_W4A4 || (mode == QNPU_MODE_W4A4 && !c->int4) || !mx || !my || !f1 || !f2 || !f3)
        return 0;
      const uint64_t m = mx * my, wrows = mode == QNPU_MODE_W4A8 ? c->rows / 2 : c->rows;
      const uint64_t reach = (mx - 1) * QNPU_CMD_GET(w, AS_X) + (my - 1) * QNPU_CMD_GET(w, AS_Y) +
                             (f1 - 1) * QNPU_CMD_GET(w, FS1) + (f2 - 1) * QNPU_CMD_GET(w, FS2) +
                             (f3 - 1) * QNPU_CMD_GET(w, FS3);
      return QNPU_CMD_GET(w, ACC_ROW) + m <= c->acc_depth &&
             (!QNPU_CMD_GET(w, LAST) || QNPU_CMD_GET(w, OUT_ROW) + m <= c->out_rows) &&
             QNPU_CMD_GET(w, W_ROW) + f1 * f2 * f3 * wrows <= c->wgt_rows &&
             QNPU_CMD_GET(w, A_ROW) + reach < c->act_rows;
    }
    default:
      *known_op = 0;
      return 0;
  }
}

/* ---- engines ------------------------------------------------------------------ */

typedef struct {
  qnpu_fm_t *f;
  const uint32_t *w;
  uint32_t tgt, len, fill, srow;
} xfer_ctx_t;

/* Every beat of a row, in order: counts it and checks it is in DRAM. */
static int row_beats_ok(qnpu_fm_t *f, uint32_t addr, uint32_t len, uint32_t engine, uint32_t *bytes) {
  for (uint64_t b = addr & ~(uint64_t)(BEAT - 1); b < (uint64_t)addr + len; b += BEAT) {
    if (bytes) *bytes += BEAT;
    if (!beat_ok(f, (uint32_t)b)) {
      raise(f, QNPU_HWERR_DMA, engine, (uint32_t)b);
      return 0;
    }
  }
  return 1;
}

static int32_t sext4(uint32_t v) { return (int32_t)((v & 15u) ^ 8u) - 8; }
static uint32_t pair16(int32_t lo, int32_t hi) { return (uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static void pairs8_avx2(const uint8_t *a, uint32_t n, uint32_t *d) {
  for (uint32_t i = 0; i < n; i += 16)
    _mm256_storeu_si256((__m256i *)(d + i / 2), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i))));
}

static int have_avx2(void) {
  static int avx2 = -1;
  if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  return avx2;
}
#else
static int have_avx2(void) { return 0; }
#endif

/* An activation row as int8 pairs: (a[2p], a[2p+1]) in one uint32 each
 * (the sign-extended row, which AVX2 makes in one instruction). */
static void decode_pairs8(const uint8_t *a, uint32_t rows, uint32_t *d) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (rows % 16 == 0 && have_avx2()) {
    pairs8_avx2(a, rows, d);
    return;
  }
#endif
  for (uint32_t p = 0; p < (rows + 1) / 2; p++)
    d[p] = pair16((int8_t)a[2 * p], 2 * p + 1 < rows ? (int8_t)a[2 * p + 1] : 0);
}

/* An activation row as int4 pairs: the two nibbles of each byte. */
static void decode_pairs4(const uint8_t *a, uint32_t rows, uint32_t *d) {
  for (uint32_t p = 0; p < rows; p++) d[p] = pair16(sext4(a[p]), sext4(a[p] >> 4u));
}

static int load_row(void *ctx, uint32_t row, uint32_t a, int pad) {
  xfer_ctx_t *x = ctx;
  qnpu_fm_t *f = x->f;
  const qnpu_fm_config_t *c = &f->cfg;
  const int act = x->tgt == QNPU_TGT_LOAD_ACT;
  const uint32_t rowb = act ? c->rows : c->cols;
  uint8_t *dst = (act ? f->act : f->wgt) + (size_t)(x->srow + row) * rowb;
  if (pad) {
    memset(dst, 0, rowb);
    memset(dst, (int)x->fill, x->len);
  } else {
    if (!row_beats_ok(f, a, x->len, QNPU_ENGINE_LOAD, &f->rd_bytes)) return 1;
    memset(dst, 0, rowb);
    memcpy(dst, f->dram + a, x->len);
  }
  if (act) { /* the row's int8 pairs now, its int4 pairs when a W4A4 fold first reads it */
    const uint32_t r = x->srow + row;
    decode_pairs8(dst, c->rows, f->pairs8 + (size_t)r * ((c->rows + 1) / 2));
    f->stale4[r] = 1;
  }
  return 0;
}

static void exec_load(qnpu_fm_t *f, const uint32_t *w) {
  const uint32_t tgt = QNPU_CMD_GET(w, TARGET), len = QNPU_CMD_GET(w, LEN);
  if (tgt == QNPU_TGT_LOAD_PRM0 || tgt == QNPU_TGT_LOAD_PRM1) {
    qnpu_prm_t *bank = f->prm[tgt == QNPU_TGT_LOAD_PRM1];
    const uint32_t base = QNPU_CMD_GET(w, DRAM_ADDR), col0 = QNPU_CMD_GET(w, SPAD_ROW);
    for (uint32_t j = 0; j < len / QNPU_PRM_RECORD_BYTES; j++) {
      const uint32_t a = base + QNPU_PRM_RECORD_BYTES * j;
      if (!row_beats_ok(f, a, QNPU_PRM_RECORD_BYTES, QNPU_ENGINE_LOAD, &f->rd_bytes)) return;
      qnpu_prm_decode(f->dram + a, &bank[col0 + j]);
    }
    return;
  }
  xfer_ctx_t x = {f, w, tgt, len, QNPU_CMD_GET(w, FILL), QNPU_CMD_GET(w, SPAD_ROW)};
  const qnpu_walk_t walk = qnpu_walk_of_cmd(w);
  (void)qnpu_walk_each(&walk, load_row, &x);
}


/* The RTL's requantization unit: the golden MBQM on its 6-bit shift field
 * (-32..31). Every value behaves as in MBQM except -32, whose 5-bit right
 * shift amount wraps to 0 in the RTL. With FLAGS bit 1 (and the float32
 * path built), ort_f32 on the float32 scale in M0, whose int32 result
 * saturates as the RTL's does. The bias is already in acc. */
static int32_t requant(qnpu_fm_t *f, const qnpu_prm_t *p, int32_t acc) {
  if (p->flags & 1u) return acc;
  int32_t y;
  if ((p->flags & 2u) && f->cfg.req_f32) {
    float s;
    const uint32_t bits = (uint32_t)p->m0;
    memcpy(&s, &bits, 4);
    const double r = qnpu_golden_ort_round(acc, s);
    y = r >= 2147483647.0 ? INT32_MAX : r <= -2147483648.0 ? INT32_MIN : (int32_t)r;
  } else {
    y = qnpu_golden_mbqm(acc, p->m0, p->shift == -32 ? 0 : p->shift);
  }
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

/* The MACs of one fold over m output rows, in pairs: acc[r][j] += sum over
 * pairs p of a[r][p].lo * w[p][j].lo + a[r][p].hi * w[p][j].hi, modulo 2^32.
 * wp holds P x cols int16 pairs; ap[r] points at row r's P pairs (int16
 * lo/hi in one uint32). */
static void mac_rows_scalar(int32_t *acc, const uint32_t *const *ap, uint32_t m, const int16_t *wp, uint32_t P,
                            uint32_t cols) {
  for (uint32_t r = 0; r < m; r++) {
    int32_t *a = acc + (size_t)r * cols;
    for (uint32_t p = 0; p < P; p++) {
      const int32_t lo = (int16_t)(ap[r][p] & 0xffffu), hi = (int16_t)(ap[r][p] >> 16);
      const int16_t *w = wp + (size_t)p * cols * 2;
      for (uint32_t j = 0; j < cols; j++)
        a[j] = (int32_t)((uint32_t)a[j] + (uint32_t)(lo * w[2 * j] + hi * w[2 * j + 1]));
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same with AVX2's pmaddwd: two int16 products summed into int32, eight
 * columns a vector (cols a multiple of 8). */
__attribute__((target("avx2"))) static void mac_rows_avx2(int32_t *acc, const uint32_t *const *ap, uint32_t m,
                                                          const int16_t *wp, uint32_t P, uint32_t cols) {
  if (cols % 16 == 0) { /* sixteen columns and two rows at a time: each weight load serves four madds */
    for (uint32_t j = 0; j < cols; j += 16) {
      uint32_t r = 0;
      for (; r + 1 < m; r += 2) {
        int32_t *a0 = acc + (size_t)r * cols + j, *a1 = a0 + cols;
        __m256i s00 = _mm256_loadu_si256((const __m256i *)a0), s01 = _mm256_loadu_si256((const __m256i *)(a0 + 8));
        __m256i s10 = _mm256_loadu_si256((const __m256i *)a1), s11 = _mm256_loadu_si256((const __m256i *)(a1 + 8));
        const uint32_t *p0 = ap[r], *p1 = ap[r + 1];
        for (uint32_t p = 0; p < P; p++) {
          const int16_t *wr = wp + ((size_t)p * cols + j) * 2;
          const __m256i w0 = _mm256_loadu_si256((const __m256i *)wr);
          const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wr + 16));
          const __m256i b0 = _mm256_set1_epi32((int32_t)p0[p]), b1 = _mm256_set1_epi32((int32_t)p1[p]);
          s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(b0, w0));
          s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(b0, w1));
          s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(b1, w0));
          s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(b1, w1));
        }
        _mm256_storeu_si256((__m256i *)a0, s00);
        _mm256_storeu_si256((__m256i *)(a0 + 8), s01);
        _mm256_storeu_si256((__m256i *)a1, s10);
        _mm256_storeu_si256((__m256i *)(a1 + 8), s11);
      }
      for (; r < m; r++) {
        int32_t *a0 = acc + (size_t)r * cols + j;
        __m256i s00 = _mm256_loadu_si256((const __m256i *)a0), s01 = _mm256_loadu_si256((const __m256i *)(a0 + 8));
        for (uint32_t p = 0; p < P; p++) {
          const int16_t *wr = wp + ((size_t)p * cols + j) * 2;
          const __m256i b0 = _mm256_set1_epi32((int32_t)ap[r][p]);
          s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(b0, _mm256_loadu_si256((const __m256i *)wr)));
          s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(b0, _mm256_loadu_si256((const __m256i *)(wr + 16))));
        }
        _mm256_storeu_si256((__m256i *)a0, s00);
        _mm256_storeu_si256((__m256i *)(a0 + 8), s01);
      }
    }
    return;
  }
  for (uint32_t j = 0; j < cols; j += 8) {
    for (uint32_t r = 0; r < m; r++) {
      int32_t *a = acc + (size_t)r * cols + j;
      __m256i sum = _mm256_loadu_si256((const __m256i *)a);
      const uint32_t *apr = ap[r];
      for (uint32_t p = 0; p < P; p++) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(wp + ((size_t)p * cols + j) * 2));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_set1_epi32((int32_t)apr[p]), wv));
      }
      _mm256_storeu_si256((__m256i *)a, sum);
    }
  }
}

/* W8A8 weight decoding with AVX2 (R and C multiples of 16): weight rows 2p
 * and 2p+1 interleaved column by column. Returns one past the last pair
 * with a nonzero weight. */
__attribute__((target("avx2"))) static uint32_t w8_pairs_avx2(const uint8_t *wf, uint32_t P, uint32_t C, int16_t *wp) {
  uint32_t pe = 0;
  for (uint32_t p = 0; p < P; p++)
    for (uint32_t j = 0; j < C; j += 16) {
      const __m256i lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wf + (size_t)(2 * p) * C + j)));
      const __m256i hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wf + (size_t)(2 * p + 1) * C + j)));
      const __m256i t0 = _mm256_unpacklo_epi16(lo, hi), t1 = _mm256_unpackhi_epi16(lo, hi);
      int16_t *d = wp + ((size_t)p * C + j) * 2;
      _mm256_storeu_si256((__m256i *)d, _mm256_permute2x128_si256(t0, t1, 0x20));
      _mm256_storeu_si256((__m256i *)(d + 16), _mm256_permute2x128_si256(t0, t1, 0x31));
      const __m256i any = _mm256_or_si256(lo, hi);
      if (!_mm256_testz_si256(any, any)) pe = p + 1;
    }
  return pe;
}

#endif

static void mac_rows(int32_t *acc, const uint32_t *const *ap, uint32_t m, const int16_t *wp, uint32_t P,
                     uint32_t cols) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (have_avx2() && cols % 8 == 0) {
    mac_rows_avx2(acc, ap, m, wp, P, cols);
    return;
  }
#endif
  mac_rows_scalar(acc, ap, m, wp, P, cols);
}

/* A COMPUTE: fold after fold, each fold's weights decoded once into int16
 * pairs (W8A8: K rows 2p, 2p+1; W4A8: the two nibbles of weight row p;
 * W4A4: the two nibbles of row p, against the two of activation byte p),
 * then every output row's activations against them. The accumulators wrap
 * modulo 2^32 exactly as the RTL's, so the fold order is the RTL's too. */
static void exec_compute(qnpu_fm_t *f, const uint32_t *w) {
  const qnpu_fm_config_t *c = &f->cfg;
  const uint32_t mode = QNPU_CMD_GET(w, MODE), mx = QNPU_CMD_GET(w, MX), my = QNPU_CMD_GET(w, MY);
  const uint32_t f1 = QNPU_CMD_GET(w, F1), f2 = QNPU_CMD_GET(w, F2), f3 = QNPU_CMD_GET(w, F3);
  const uint32_t wrows = mode == QNPU_MODE_W4A8 ? c->rows / 2 : c->rows;
  const uint32_t R = c->rows, C = c->cols, P = mode == QNPU_MODE_W4A4 ? R : (R + 1) / 2, m = mx * my;
  const int first = QNPU_CMD_GET(w, FIRST), last = QNPU_CMD_GET(w, LAST);
  const qnpu_prm_t *bank = f->prm[QNPU_CMD_GET(w, PBANK)];
  int32_t *acc = f->acc + (size_t)QNPU_CMD_GET(w, ACC_ROW) * C, *dst = acc;
  const uint32_t nf = f1 * f2 * f3;
  const size_t bytes = (size_t)m * C * sizeof *acc;
  const uint32_t a_row = QNPU_CMD_GET(w, A_ROW), fs1 = QNPU_CMD_GET(w, FS1), fs2 = QNPU_CMD_GET(w, FS2),
                 fs3 = QNPU_CMD_GET(w, FS3), w_row = QNPU_CMD_GET(w, W_ROW);
  /* each output row's activation row relative to the fold's first */
  const uint32_t as_x = QNPU_CMD_GET(w, AS_X), as_y = QNPU_CMD_GET(w, AS_Y);
  uint32_t *rel = f->rel;
  for (uint32_t y = 0; y < my; y++)
    for (uint32_t x = 0; x < mx; x++) rel[y * mx + x] = x * as_x + y * as_y;
  const uint32_t **arow = f->arow;
  uint32_t g = 0;
  for (uint32_t i3 = 0; i3 < f3; i3++)
    for (uint32_t i2 = 0; i2 < f2; i2++)
      for (uint32_t i1 = 0; i1 < f1; i1++, g++) {
        const uint32_t base = a_row + i1 * fs1 + i2 * fs2 + i3 * fs3;
        const uint8_t *wf = f->wgt + (size_t)(w_row + g * wrows) * C;
        const int vec8 = mode == QNPU_MODE_W8A8 && R % 16 == 0 && C % 16 == 0 && have_avx2();
        uint32_t pe = 0; /* pairs whose weights are all zero add nothing: the padded channels */
#if defined(__x86_64__) && defined(__GNUC__)
        if (vec8) pe = w8_pairs_avx2(wf, P, C, f->wpair);
#endif
        for (uint32_t p = 0; p < P && !vec8; p++)
          for (uint32_t j = 0; j < C; j++) {
            int32_t lo, hi;
            if (mode == QNPU_MODE_W8A8) {
              lo = (int8_t)wf[(size_t)(2 * p) * C + j];
              hi = 2 * p + 1 < R ? (int8_t)wf[(size_t)(2 * p + 1) * C + j] : 0;
            } else {
              const uint8_t b = wf[(size_t)p * C + j];
              lo = sext4(b), hi = sext4(b >> 4u);
            }
            f->wpair[((size_t)p * C + j) * 2] = (int16_t)lo;
            f->wpair[((size_t)p * C + j) * 2 + 1] = (int16_t)hi;
            if (lo | hi) pe = p + 1;
          }
        if (mode != QNPU_MODE_W4A4) {
          for (uint32_t r = 0; r < m; r++) arow[r] = f->pairs8 + (size_t)((base + rel[r]) & 0xffffu) * P;
        } else {
          for (uint32_t r = 0; r < m; r++) {
            const uint32_t ar = (base + rel[r]) & 0xffffu;
            uint32_t *p4 = f->pairs4 + (size_t)ar * R;
            if (f->stale4[ar]) {
              decode_pairs4(f->act + (size_t)ar * R, R, p4);
              f->stale4[ar] = 0;
            }
            arow[r] = p4;
          }
        }
        /* the fold of a LAST command requantizes its sums without writing
         * them back into the accumulators, as the RTL */
        dst = acc;
        if (last && g + 1 == nf) {
          dst = f->acc_tmp;
          if (first && g == 0) memset(dst, 0, bytes);
          else memcpy(dst, acc, bytes);
        } else if (first && g == 0) {
          memset(acc, 0, bytes);
        }
        mac_rows(dst, arow, m, f->wpair, pe, C);
      }
  f->rows += m * f1 * f2 * f3;
  f->macs += (uint64_t)m * f1 * f2 * f3 * R * C * (mode == QNPU_MODE_W4A4 ? 2 : 1);
  if (!last) return;
  for (uint32_t r = 0; r < m; r++)
    for (uint32_t j = 0; j < C; j++)
      f->out[(size_t)(QNPU_CMD_GET(w, OUT_ROW) + r) * C + j] =
          requant(f, &bank[j], (int32_t)((uint32_t)dst[(size_t)r * C + j] + (uint32_t)bank[j].bias));
}

static int store_row(void *ctx, uint32_t row, uint32_t a, int pad) {
  xfer_ctx_t *x = ctx;
  qnpu_fm_t *f = x->f;
  const qnpu_fm_config_t *c = &f->cfg;
  const uint32_t srow = x->srow + row;
  uint8_t buf[4 * 256]; /* LEN <= the row's bytes, all of them written below */
  (void)pad;             /* a STORE has no padding rows */
  const int32_t *o = f->out + (size_t)srow * c->cols;
  switch (x->tgt) {
    case QNPU_TGT_STORE_OUT8:
      for (uint32_t j = 0; j < c->cols; j++) buf[j] = (uint8_t)o[j];
      break;
    case QNPU_TGT_STORE_OUT32:
      for (uint32_t j = 0; j < c->cols; j++)
        for (int k = 0; k < 4; k++) buf[4 * j + k] = (uint8_t)((uint32_t)o[j] >> (8 * k));
      break;
    case QNPU_TGT_STORE_OUT4:
      for (uint32_t j = 0; j < c->cols / 2; j++)
        buf[j] = (uint8_t)(((uint32_t)o[2 * j] & 15u) | ((uint32_t)o[2 * j + 1] & 15u) << 4);
      break;
    case QNPU_TGT_STORE_ACT:
      memcpy(buf, f->act + (size_t)srow * c->rows, c->rows);
      break;
    default:
      memcpy(buf, f->wgt + (size_t)srow * c->cols, c->cols);
      break;
  }
  /* beat by beat: a failing beat stops the store before it writes */
  const uint64_t end = (uint64_t)a + x->len;
  for (uint64_t b = a & ~(uint64_t)(BEAT - 1); b < end; b += BEAT) {
    if (!beat_ok(f, (uint32_t)b)) {
      raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_STORE, (uint32_t)b);
      return 1;
    }
    const uint64_t lo = b > a ? b : a, hi = b + BEAT < end ? b + BEAT : end;
    memcpy(f->dram + lo, buf + (lo - a), (size_t)(hi - lo));
    f->wr_bytes += (uint32_t)(hi - lo);
  }
  return 0;
}

static void exec_store(qnpu_fm_t *f, const uint32_t *w) {
  xfer_ctx_t x = {f, w, QNPU_CMD_GET(w, TARGET), QNPU_CMD_GET(w, LEN), 0, QNPU_CMD_GET(w, SPAD_ROW)};
  const qnpu_walk_t walk = qnpu_walk_of_cmd(w);
  (void)qnpu_walk_each(&walk, store_row, &x);
}

/* ---- dependency tokens ---------------------------------------------------------- */

/* Token counters an engine's command takes at its start. */
static void tokens_needed(int e, const uint32_t *w, int need[4]) {
  const int pp = QNPU_CMD_GET(w, POP_PREV), pn = QNPU_CMD_GET(w, POP_NEXT);
  memset(need, 0, 4 * sizeof need[0]);
  if (e == ENG_LD) need[1] = pn;
  if (e == ENG_EX) need[0] = pp, need[3] = pn;
  if (e == ENG_ST) need[2] = pp;
}

static int tokens_ready(const qnpu_fm_t *f, int e, const uint32_t *w) {
  int need[4];
  tokens_needed(e, w, need);
  for (int t = 0; t < 4; t++)
    if (need[t] && f->tokens[t] == 0) return 0;
  return 1;
}

static void give(qnpu_fm_t *f, int t) {
  if (f->tokens[t] == 255) raise(f, QNPU_HWERR_TOKEN, QNPU_ENGINE_DISPATCH, (uint32_t)t);
  else f->tokens[t]++;
}

/* Runs the head of engine e's queue (its tokens are there). */
static void run_engine(qnpu_fm_t *f, int e) {
  cmd_t c = *qhead(&f->eq[e]);
  qpop(&f->eq[e]);
  f->blocked_since[e] = 0;
  int need[4];
  tokens_needed(e, c.w, need);
  for (int t = 0; t < 4; t++) f->tokens[t] -= (uint32_t)need[t];
  if (e == ENG_LD) exec_load(f, c.w);
  else if (e == ENG_EX) exec_compute(f, c.w);
  else exec_store(f, c.w);
  f->cmds++;
  if (f->halted) return;
  const int pp = QNPU_CMD_GET(c.w, PUSH_PREV), pn = QNPU_CMD_GET(c.w, PUSH_NEXT);
  if (e == ENG_LD && pn) give(f, 0);
  if (e == ENG_EX && pp) give(f, 1);
  if (e == ENG_EX && pn) give(f, 2);
  if (e == ENG_ST && pp) give(f, 3);
}

/* ---- fetch, dispatch, run --------------------------------------------------------- */

static int ring_ok(const qnpu_fm_t *f) {
  return f->ring_size >= 2 && f->ring_size <= 65536 && !(f->ring_size & (f->ring_size - 1)) &&
         f->ring_head < f->ring_size;
}

/* Fetches ring commands into the dispatch queue while it has room. */
static int fetch(qnpu_fm_t *f) {
  int moved = 0;
  if (!(f->ctrl & 1u << QNPU_CTRL_RING_EN_SHIFT) || f->ring_tail == f->ring_head) return 0;
  if (!ring_ok(f)) {
    raise(f, QNPU_HWERR_RING, QNPU_ENGINE_FETCH, f->ring_size);
    return 0;
  }
  while (!f->halted && f->ring_tail != f->ring_head && f->dq.n < f->cfg.fetch_q) {
    const uint32_t a = f->ring_base + f->ring_tail * QNPU_CMD_BYTES;
    cmd_t c;
    f->rd_bytes += QNPU_CMD_BYTES;
    if (!beat_ok(f, a) || !beat_ok(f, a + BEAT)) {
      raise(f, QNPU_HWERR_DMA, QNPU_ENGINE_FETCH, a); /* the command's address, as the RTL */
      return moved;
    }
    for (unsigned i = 0; i < QNPU_CMD_WORDS; i++) {
      const uint8_t *p = f->dram + a + 4 * i;
      c.w[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    f->ring_tail = (f->ring_tail + 1) & (f->ring_size - 1);
    qpush(&f->dq, &c);
    moved = 1;
  }
  return moved;
}

/* Checks and queues commands at the head of the dispatch queue until one
 * must wait (its engine's queue is full, or a FENCE for the engines). */
static int dispatch(qnpu_fm_t *f) {
  int moved = 0;
  while (!f->halted && f->dq.n) {
    const cmd_t *c = qhead(&f->dq);
    int known = 1;
    if (!legal(f, c->w, &known)) {
      raise(f, known ? QNPU_HWERR_ILLEGAL_FIELD : QNPU_HWERR_ILLEGAL_OPCODE, QNPU_ENGINE_DISPATCH,
            (uint32_t)f->cmd_index);
      return moved;
    }
    const uint32_t op = QNPU_CMD_GET(c->w, OPCODE);
    if (op == QNPU_OP_LOAD || op == QNPU_OP_COMPUTE || op == QNPU_OP_STORE) {
      const int e = op == QNPU_OP_LOAD ? ENG_LD : op == QNPU_OP_COMPUTE ? ENG_EX : ENG_ST;
      if (f->eq[e].n >= f->cfg.eng_q) return moved;
      qpush(&f->eq[e], c);
    } else if (op == QNPU_OP_FENCE) {
      if (f->eq[ENG_LD].n || f->eq[ENG_EX].n || f->eq[ENG_ST].n) return moved;
      if (QNPU_CMD_GET(c->w, IRQ)) f->irq |= 1u << QNPU_IRQ_STATUS_FENCE_SHIFT;
      f->cmds++;
    } else {
      f->cmds++; /* NOP */
    }
    qpop(&f->dq);
    f->cmd_index++;
    moved = 1;
  }
  return moved;
}

/* Runs everything that can run: fetch and dispatch as far as the queues
 * allow, then the runnable engine head that came first in the stream, and
 * again. A stream that can make no progress with commands still waiting
 * deadlocks; the RTL's watchdog then fires for the engine that waited
 * first (unless WATCHDOG is 0: then it simply stays busy). */
static void run(qnpu_fm_t *f) {
  while (!f->halted) {
    int moved = fetch(f);
    moved |= dispatch(f);
    if (f->halted) return;
    int best = -1;
    for (int e = 0; e < ENGINES; e++) {
      if (!f->eq[e].n) continue;
      if (!tokens_ready(f, e, qhead(&f->eq[e])->w)) {
        if (!f->blocked_since[e]) f->blocked_since[e] = ++f->events;
        continue;
      }
      if (best < 0) best = e; /* engines hold their commands in stream order; */
    }                         /* any runnable one will do, the lowest first   */
    if (best >= 0) {
      run_engine(f, best);
      continue;
    }
    if (moved) continue;
    int waiting = -1;
    for (int e = 0; e < ENGINES; e++)
      if (f->eq[e].n && (waiting < 0 || f->blocked_since[e] < f->blocked_since[waiting])) waiting = e;
    if (waiting >= 0 && f->watchdog)
      raise(f, QNPU_HWERR_WATCHDOG, waiting == ENG_LD ? QNPU_ENGINE_LOAD : waiting == ENG_EX ? QNPU_ENGINE_COMPUTE
                                                                                          : QNPU_ENGINE_STORE,
            f->watchdog);
    return;
  }
}

static int busy(const qnpu_fm_t *f) {
  return !f->halted && (f->dq.n || f->eq[0].n || f->eq[1].n || f->eq[2].n ||
                        ((f->ctrl & 1u << QNPU_CTRL_RING_EN_SHIFT) && f->ring_tail != f->ring_head));
}

/* ---- registers --------------------------------------------------------------- */

/* log2 of the columns per requantization unit, as the RTL builds it (capped at Cols). */
static uint32_t share_log2(const qnpu_fm_config_t *c) {
  uint32_t p = c->req_share ? c->req_share : 1u, l = 0;
  if (p > c->cols) p = c->cols;
  while ((2u << l) <= p) l++;
  return l;
}

static qnpu_status_t reg_read(void *ctx, uint32_t off, uint32_t *v) {
  qnpu_fm_t *f = ctx;
  const qnpu_fm_config_t *c = &f->cfg;
  if (!v || (off & 3) || off >= QNPU_REG_WINDOW) return QNPU_ERR_ARG;
  const uint32_t prec = (1u << QNPU_MODE_W8A8) | (1u << QNPU_MODE_W4A8) | (c->int4 ? 1u << QNPU_MODE_W4A4 : 0u);
  switch (off) {
    case QNPU_ID_REG_OFFSET: *v = QNPU_ID_VALUE; break;
    case QNPU_VERSION_REG_OFFSET: *v = QNPU_VERSION_MAJOR_VALUE << 16 | QNPU_VERSION_MINOR_VALUE; break;
    case QNPU_CONFIG0_REG_OFFSET:
      *v = c->rows << QNPU_CONFIG0_ROWS_SHIFT | c->cols << QNPU_CONFIG0_COLS_SHIFT |
           prec << QNPU_CONFIG0_PRECISIONS_SHIFT | (c->req_f32 ? 1u : 0u) << QNPU_CONFIG0_REQUANT_F32_SHIFT |
           share_log2(c) << QNPU_CONFIG0_REQ_SHARE_LOG2_SHIFT |
           QNPU_BEAT_BYTES << QNPU_CONFIG0_DATA_BYTES_SHIFT;
      break;
    case QNPU_CONFIG1_REG_OFFSET: *v = c->act_rows | c->wgt_rows << 16; break;
    case QNPU_CONFIG2_REG_OFFSET: *v = c->out_rows | c->acc_depth << 16; break;
    case QNPU_CTRL_REG_OFFSET: *v = f->ctrl; break;
    case QNPU_STATUS_REG_OFFSET:
      *v = (uint32_t)f->halted << QNPU_STATUS_HALTED_SHIFT | (uint32_t)busy(f) << QNPU_STATUS_BUSY_SHIFT |
           (f->dq.n & QNPU_STATUS_CMDQ_LEVEL_MASK) << QNPU_STATUS_CMDQ_LEVEL_SHIFT;
      break;
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
    case QNPU_PERF_ROWS_REG_OFFSET: *v = f->rows; break;
    default: *v = 0; break; /* busy/stall/row-time counters and unknown offsets */
  }
  return QNPU_OK;
}

static qnpu_status_t reg_write(void *ctx, uint32_t off, uint32_t v) {
  qnpu_fm_t *f = ctx;
  if ((off & 3) || off >= QNPU_REG_WINDOW) return QNPU_ERR_ARG;
  if (off >= QNPU_CMD_PUSH_REG_OFFSET && off < QNPU_CMD_PUSH_REG_OFFSET + 4 * QNPU_CMD_PUSH_COUNT) {
    const uint32_t i = (off - QNPU_CMD_PUSH_REG_OFFSET) / 4;
    f->push[i] = v;
    if (i == QNPU_CMD_PUSH_COUNT - 1 && !f->halted) {
      /* The RTL holds the bus while the dispatch queue is full, and the bus
       * access times out if it never drains. */
      run(f);
      if (f->dq.n >= f->cfg.fetch_q) return QNPU_ERR_TIMEOUT;
      cmd_t c;
      memcpy(c.w, f->push, sizeof c.w);
      qpush(&f->dq, &c);
      run(f);
    }
    return QNPU_OK;
  }
  switch (off) {
    case QNPU_CTRL_REG_OFFSET:
      if (v & 1u << QNPU_CTRL_SOFT_RESET_SHIFT) {
        reset_state(f);
        f->ring_head = 0;
      }
      f->ctrl = v & (1u << QNPU_CTRL_RING_EN_SHIFT | 1u << QNPU_CTRL_IRQ_EN_SHIFT);
      run(f);
      break;
    case QNPU_IRQ_STATUS_REG_OFFSET: f->irq &= ~v; break;
    case QNPU_RING_BASE_REG_OFFSET: f->ring_base = v; break;
    case QNPU_RING_SIZE_REG_OFFSET: f->ring_size = v & 0x1ffffu; break;
    case QNPU_RING_HEAD_REG_OFFSET:
      f->ring_head = v & 0xffffu;
      run(f);
      break;
    case QNPU_WATCHDOG_REG_OFFSET: f->watchdog = v; break;
    case QNPU_PERF_CTRL_REG_OFFSET:
      if (v & 1u) {
        f->macs = 0;
        f->rows = f->rd_bytes = f->wr_bytes = f->sat = 0;
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
  (void)cycles;
  run(ctx); /* commands run when they are submitted; nothing new happens here */
  return QNPU_OK;
}

static uint64_t mem_size(void *ctx) { return ((qnpu_fm_t *)ctx)->cfg.dram_bytes; }

const qnpu_hal_ops_t qnpu_hal_fast_ops = {"fast", reg_read, reg_write, mem_read, mem_write, fm_wait, mem_size};

qnpu_hal_t qnpu_hal_fast(qnpu_fm_t *fm) {
  const qnpu_hal_t h = {&qnpu_hal_fast_ops, fm, NULL, NULL};
  return h;
}
