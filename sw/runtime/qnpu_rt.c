/* qnpu_rt.c - the layer runtime (qnpu_rt.h). */
#include "qnpu_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnpu_errmsg.h"
#include "qnpu_golden.h"

#define COST_BYTES_PER_CYCLE 16u /* the cost model's DRAM rate */
#define COST_STEP_CYCLES 16u     /* command issue per COMPUTE, in cycles */
#define MAX_PAD 15               /* LOAD PAD_* fields are 4 bits */

typedef struct {  /* an output-channel tile */
  int32_t o0, o1; /* output channels [o0, o1) */
  int32_t cw0;    /* first input channel of its window */
  int32_t nch;    /* chunks of kf channels in the window */
} ctile_t;

typedef struct {        /* a piece of one tile's reduction */
  int32_t c_lo, c_hi;   /* chunks of the window */
  int32_t ky_lo, ky_hi; /* kernel rows */
  int32_t kx_lo, kx_hi; /* kernel columns */
  int32_t v;            /* weight variant (zero-point split) */
} piece_t;

typedef struct { /* a spatial tile */
  int32_t img, oy0, toh, ox0, tow;
} stile_t;

typedef struct {   /* one COMPUTE and what it needs */
  int32_t s, t, k; /* spatial tile, channel tile, piece */
  int first, last;
  uint32_t u; /* output-tile index (acc/out slot parity) */
  int act_load, wgt_load, prm_load;
  uint32_t act_base, wgt_base, pbank;
  int wait;    /* the loads before it wait for a release */
  int release; /* it gives a release token to LOAD */
} step_t;

typedef struct {
  /* device */
  uint32_t R, C, kf, wrows, act_half, wgt_rows, wgt_half, acc_half, out_half;
  uint32_t mode;
  int w4a4, bypass;
  /* the layer as a grouped convolution */
  const qnpu_layer_t *l;
  int32_t n, h, w, c, o, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow, cg, og;
  int32_t h0, w0, ex_t, ex_l; /* the layer's input size; padding written in it */
  int32_t ly, lx;             /* LOAD steps: a 1-wide kernel dimension loads only
                                 every stride-th input row / column */
  const int8_t *f8;           /* [o][kh][kw][cg]: the weights, or else */
  int16_t *fn;                /*   the same as w - zw */
  int32_t nv;                 /* weight variants */
  int32_t wlo, whi;           /* range of one weight */
  uint32_t cb, ob;            /* input / output bytes per pixel */
  uint32_t out_tgt;           /* QNPU_TGT_STORE_* */
  /* the plan */
  ctile_t *ct;
  int32_t nct, nch_max;
  uint64_t total_folds;            /* folds of every tile's whole reduction */
  int32_t toh, tow, pc, py, px, K; /* tile size, chunk/row/column splits, pieces */
  int resident;
  stile_t *st;
  int32_t nst;
  piece_t *pcs;       /* [nct][K]: piece k of tile t (empty ones have c_lo == c_hi) */
  uint64_t *wblk;     /* [nct][K]: its weight block's first row in the weight buffer */
  uint64_t wrows_all; /* rows of every block */
} job_t;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int32_t cdiv(int64_t a, int64_t b) { return (int32_t)((a + b - 1) / b); }
static int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t imax(int32_t a, int32_t b) { return a > b ? a : b; }

uint64_t qnpu_rt_peak_macs(const qnpu_dev_info_t *in, qnpu_prec_t p) {
  const qnpu_prec_info_t *pi = qnpu_prec_info(p);
  return (uint64_t)in->rows * in->cols * (pi ? (uint64_t)pi->macs_per_pe : 1u);
}

/* ---- the layer as a grouped convolution ---------------------------------------- */

static void job_free(job_t *j) {
  free(j->fn);
  free(j->ct);
  free(j->st);
  free(j->pcs);
  free(j->wblk);
  memset(j, 0, sizeof *j);
}

/* Fills the device and layer fields of j and the normalised filter. */
static qnpu_status_t job_init(job_t *j, const qnpu_dev_info_t *in, const qnpu_layer_t *l, char *err, size_t errlen) {
  memset(j, 0, sizeof *j);
  qnpu_status_t st = qnpu_layer_check(l, err, errlen);
  if (st) return st;
  const qnpu_conv_params_t *p = &l->p;
  if (l->rq.mode == QNPU_REQUANT_FLOAT_RNE)
    return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen,
                      "float_rne (ONNX's float scale in float64) runs on the golden backend only; the hardware "
                      "requantizes with TFLite's Q31 multiplier and shift, or in float32 as ONNX Runtime (ort_f32)");
  if (l->rq.mode == QNPU_REQUANT_ORT_F32 && !in->requant_f32)
    return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen,
                      "ort_f32: this device's requantization units have no float32 path (CONFIG0.REQUANT_F32 = 0)");
  if (!qnpu_prec_built(l->prec, in->precisions))
    return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen, "precision %s is not built into this device",
                      qnpu_prec_name(l->prec));
  if (l->rq.mode != QNPU_REQUANT_NONE && (l->rq.output_zero_point < -32768 || l->rq.output_zero_point > 32767 ||
                                          l->rq.act_min < -32768 || l->rq.act_max > 32767))
    return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen, "the output zero point and clamp must fit 16 bits");
  j->l = l;
  j->R = in->rows;
  j->C = in->cols;
  j->mode = (uint32_t)l->prec;
  j->w4a4 = l->prec == QNPU_PREC_W4A4;
  j->bypass = l->rq.mode == QNPU_REQUANT_NONE;
  j->kf = j->w4a4 ? 2 * j->R : j->R;
  j->wrows = l->prec == QNPU_PREC_W4A8 ? j->R / 2 : j->R;
  j->act_half = in->act_rows / 2;
  j->wgt_rows = in->wgt_rows;
  j->wgt_half = in->wgt_rows / 2;
  j->acc_half = in->acc_depth / 2;
  j->out_half = in->out_rows / 2;
  j->n = p->n, j->h = p->h, j->w = p->w, j->c = p->c, j->o = p->out_c;
  j->kh = p->kh, j->kw = p->kw, j->sh = p->stride_h, j->sw = p->stride_w, j->dh = p->dil_h, j->dw = p->dil_w;
  j->pt = p->pad_top, j->pl = p->pad_left, j->pb = p->pad_bottom, j->pr = p->pad_right;
  j->oh = qnpu_layer_out_h(l);
  j->ow = qnpu_layer_out_w(l);
  /* Padding beyond what a LOAD can fill (15 per side) is written into the
   * input image in device memory (the input zero point), the rest filled
   * by the LOADs. */
  j->h0 = j->h, j->w0 = j->w;
  j->ex_t = imax(0, j->pt - MAX_PAD), j->ex_l = imax(0, j->pl - MAX_PAD);
  const int32_t ex_b = imax(0, j->pb - MAX_PAD), ex_r = imax(0, j->pr - MAX_PAD);
  j->h += j->ex_t + ex_b, j->w += j->ex_l + ex_r;
  j->pt -= j->ex_t, j->pl -= j->ex_l, j->pb -= ex_b, j->pr -= ex_r;
  if (j->kh == 1 && j->kw == 1 && j->sh == 1 && j->sw == 1 && !(j->pt | j->pl | j->pb | j->pr)) {
    /* pointwise (fully-connected, GEMM, 1x1 conv): every pixel of every
     * image is one row of a single one-column image */
    j->h = j->h0 = j->oh = j->n * j->h * j->w;
    j->w = j->w0 = j->ow = 1;
    j->n = 1;
  }
  j->ly = j->kh == 1 ? j->sh : 1;
  j->lx = j->kw == 1 ? j->sw : 1;
  if (l->op == QNPU_OP_CONV2D)
    j->cg = p->c / p->groups, j->og = p->out_c / p->groups;
  else if (l->op == QNPU_OP_DEPTHWISE_CONV2D)
    j->cg = 1, j->og = p->depth_multiplier;
  else
    j->cg = p->c, j->og = p->out_c;
  j->cb = j->w4a4 ? (uint32_t)cdiv(p->c, 2) : (uint32_t)p->c;
  const int wbits = qnpu_prec_info(l->prec)->weight_bits;
  j->wlo = -(1 << (wbits - 1));
  j->whi = (1 << (wbits - 1)) - 1;

  /* The weights as [o][kh][kw][cg]: the layer's own filter when that is its
   * layout and there is no zero point; else w - zw for every (o, ky, kx, j),
   * and how many int-width pieces it needs. */
  const size_t taps = (size_t)j->kh * (size_t)j->kw * (size_t)j->cg;
  j->nv = 1;
  if (l->op != QNPU_OP_DEPTHWISE_CONV2D && p->filter_zero_point == 0) {
    j->f8 = l->filter;
    return QNPU_OK;
  }
  j->fn = malloc((size_t)j->o * taps * sizeof *j->fn);
  if (!j->fn) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory for the weights");
  const int32_t zw = p->filter_zero_point;
  int32_t vmin = 0, vmax = 0;
  for (int32_t o = 0; o < j->o; o++) {
    int16_t *d = j->fn + (size_t)o * taps;
    if (l->op == QNPU_OP_DEPTHWISE_CONV2D) /* [1][kh][kw][O]: tap t of channel o */
      for (size_t t = 0; t < taps; t++) d[t] = (int16_t)(l->filter[t * (size_t)j->o + (size_t)o] - zw);
    else
      for (size_t t = 0; t < taps; t++) d[t] = (int16_t)(l->filter[(size_t)o * taps + t] - zw);
    for (size_t t = 0; t < taps; t++) vmin = imin(vmin, d[t]), vmax = imax(vmax, d[t]);
  }
  /* pieces in [wlo, whi] that w - zw needs */
  j->nv = imax(1, imax(vmax > j->whi ? cdiv(vmax, j->whi) : 1, vmin < j->wlo ? cdiv(-vmin, -j->wlo) : 1));
  return QNPU_OK;
}

/* Weight i of the normalised [o][kh][kw][cg] filter. */
static int32_t wval(const job_t *j, size_t i) { return j->f8 ? j->f8[i] : j->fn[i]; }

/* Variant v of weight value x: the v-th of nv pieces in [wlo, whi] summing to x. */
static int32_t variant(const job_t *j, int32_t x, int32_t v) {
  int32_t rem = x;
  for (int32_t i = 0;; i++) {
    const int32_t part = rem > j->whi ? j->whi : rem < j->wlo ? j->wlo : rem;
    if (i == v) return part;
    rem -= part;
  }
}

/* Output-channel tiles: Cols channels, never straddling a group that is
 * wider than a tile, whole groups when they are narrower. */
static qnpu_status_t make_ctiles(job_t *j, char *err, size_t errlen) {
  const int32_t C = (int32_t)j->C, per = j->og >= C ? 0 : C / j->og; /* groups per tile */
  j->ct = calloc((size_t)j->o, sizeof *j->ct);                       /* at most one tile per channel */
  if (!j->ct) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory");
  j->nct = 0;
  int all_even = 1;
  for (int32_t o0 = 0; o0 < j->o;) {
    int32_t o1;
    if (per)
      o1 = imin(j->o, o0 + per * j->og);
    else
      o1 = imin(o0 + C, (o0 / j->og + 1) * j->og);
    ctile_t *t = &j->ct[j->nct++];
    t->o0 = o0;
    t->o1 = o1;
    const int32_t ci0 = o0 / j->og * j->cg, ci1 = ((o1 - 1) / j->og + 1) * j->cg;
    t->cw0 = j->w4a4 ? ci0 & ~1 : ci0;
    t->nch = cdiv(ci1 - t->cw0, j->kf);
    j->nch_max = imax(j->nch_max, t->nch);
    j->total_folds += (uint64_t)t->nch * (uint64_t)j->kw * (uint64_t)j->kh * (uint64_t)j->nv;
    if (o0 & 1) all_even = 0;
    o0 = o1;
  }
  if (j->bypass)
    j->out_tgt = QNPU_TGT_STORE_OUT32, j->ob = 4u * (uint32_t)j->o;
  else if (j->w4a4 && all_even)
    j->out_tgt = QNPU_TGT_STORE_OUT4, j->ob = (uint32_t)cdiv(j->o, 2);
  else
    j->out_tgt = QNPU_TGT_STORE_OUT8, j->ob = (uint32_t)j->o;
  return QNPU_OK;
}

/* Piece k of tile t under the current split; 0 when it is empty. */
static int piece_of(const job_t *j, const ctile_t *t, int32_t k, piece_t *pc) {
  const int32_t v = k % j->nv, r1 = k / j->nv, xi = r1 % j->px, r2 = r1 / j->px, yi = r2 % j->py, ci = r2 / j->py;
  const int32_t csz = cdiv(j->nch_max, j->pc), ysz = cdiv(j->kh, j->py), xsz = cdiv(j->kw, j->px);
  pc->c_lo = ci * csz;
  pc->c_hi = imin(t->nch, pc->c_lo + csz);
  pc->ky_lo = yi * ysz;
  pc->ky_hi = imin(j->kh, pc->ky_lo + ysz);
  pc->kx_lo = xi * xsz;
  pc->kx_hi = imin(j->kw, pc->kx_lo + xsz);
  pc->v = v;
  return pc->c_lo < pc->c_hi && pc->ky_lo < pc->ky_hi && pc->kx_lo < pc->kx_hi;
}

/* Piece k of tile t from the plan's table, or NULL when it is empty. */
static const piece_t *piece(const job_t *j, int32_t t, int32_t k) {
  const piece_t *pc = &j->pcs[(size_t)t * (size_t)j->K + (size_t)k];
  return pc->c_lo < pc->c_hi ? pc : NULL;
}

/* Weight rows of a piece. */
static uint64_t piece_rows(const job_t *j, const piece_t *pc) {
  return (uint64_t)(pc->c_hi - pc->c_lo) * (uint64_t)(pc->kx_hi - pc->kx_lo) * (uint64_t)(pc->ky_hi - pc->ky_lo) *
         j->wrows;
}

/* The input rows and columns a tile's piece reads (every ly-th row and
 * lx-th column from (iy_lo, ix_lo)), and how many of them are padding. */
typedef struct {
  int32_t iy_lo, ix_lo, ph, pw;
  uint32_t pad_ylo, pad_yhi, pad_xlo, pad_xhi;
} patch_t;

static patch_t patch_of(const job_t *j, int32_t oy0, int32_t toh, int32_t ox0, int32_t tow, int32_t ky_lo,
                        int32_t ky_hi, int32_t kx_lo, int32_t kx_hi) {
  patch_t p;
  p.iy_lo = oy0 * j->sh - j->pt + j->dh * ky_lo;
  const int32_t iy_hi = (oy0 + toh - 1) * j->sh - j->pt + j->dh * (ky_hi - 1);
  p.ix_lo = ox0 * j->sw - j->pl + j->dw * kx_lo;
  const int32_t ix_hi = (ox0 + tow - 1) * j->sw - j->pl + j->dw * (kx_hi - 1);
  p.ph = (iy_hi - p.iy_lo) / j->ly + 1;
  p.pw = (ix_hi - p.ix_lo) / j->lx + 1;
  p.pad_ylo = (uint32_t)imin(p.ph, p.iy_lo < 0 ? cdiv(-p.iy_lo, j->ly) : 0);
  p.pad_yhi = (uint32_t)imin(p.ph - (int32_t)p.pad_ylo, iy_hi > j->h - 1 ? cdiv(iy_hi - (j->h - 1), j->ly) : 0);
  p.pad_xlo = (uint32_t)imin(p.pw, p.ix_lo < 0 ? cdiv(-p.ix_lo, j->lx) : 0);
  p.pad_xhi = (uint32_t)imin(p.pw - (int32_t)p.pad_xlo, ix_hi > j->w - 1 ? cdiv(ix_hi - (j->w - 1), j->lx) : 0);
  return p;
}

/* ---- planning ------------------------------------------------------------------- */

/* Weight rows of the largest piece under splits (pc, py, px). */
static uint64_t block_rows(const job_t *j, int32_t pc, int32_t py, int32_t px) {
  return (uint64_t)cdiv(j->nch_max, pc) * (uint64_t)cdiv(j->kw, px) * (uint64_t)cdiv(j->kh, py) * j->wrows;
}

/* Whether tile size (toh, tow) with splits (pc, py, px) fits: the largest
 * patch a slot, the largest weight block a slot (or all of the layer's
 * weights the whole scratchpad, resident). */
static int fits(const job_t *j, int32_t toh, int32_t tow, int32_t pc, int32_t py, int32_t px) {
  const int32_t csz = cdiv(j->nch_max, pc);
  const patch_t p = patch_of(j, 0, toh, 0, tow, 0, cdiv(j->kh, py), 0, cdiv(j->kw, px));
  if ((uint64_t)p.ph * (uint64_t)p.pw * (uint64_t)csz > j->act_half) return 0;
  return block_rows(j, pc, py, px) <= j->wgt_half || j->total_folds * j->wrows <= j->wgt_rows;
}

/* The cost model: max(array cycles, DRAM cycles) plus command issue. */
static uint64_t cost(const job_t *j, int32_t toh, int32_t tow, int32_t pc, int32_t py, int32_t px, int resident) {
  const int32_t ny = cdiv(j->oh, toh), nx = cdiv(j->ow, tow);
  const uint64_t nsp = (uint64_t)j->n * (uint64_t)ny * (uint64_t)nx;
  const uint64_t K = (uint64_t)pc * (uint64_t)py * (uint64_t)px * (uint64_t)j->nv;
  const uint64_t folds = j->total_folds, wbytes = folds * j->wrows * j->C;
  const uint64_t m = (uint64_t)toh * (uint64_t)tow;
  const uint64_t array = nsp * folds * (m > j->R ? m : j->R);
  const int32_t csz = cdiv(j->nch_max, pc);
  const patch_t p = patch_of(j, 0, toh, 0, tow, 0, cdiv(j->kh, py), 0, cdiv(j->kw, px));
  const uint64_t patch_bytes = (uint64_t)p.ph * (uint64_t)p.pw * (uint64_t)csz * j->R;
  const int shared = j->og == j->o && K == 1; /* one patch serves every tile */
  uint64_t dram = nsp * patch_bytes * (shared ? 1u : (uint64_t)j->nct * (K / (uint64_t)j->nv));
  dram += resident ? wbytes : nsp * wbytes;
  dram += (uint64_t)j->n * (uint64_t)j->oh * (uint64_t)j->ow * j->ob;
  const uint64_t dcyc = dram / COST_BYTES_PER_CYCLE;
  const uint64_t steps = nsp * (uint64_t)j->nct * K;
  return (array > dcyc ? array : dcyc) + steps * COST_STEP_CYCLES + patch_bytes / COST_BYTES_PER_CYCLE;
}

static qnpu_status_t plan(job_t *j, const qnpu_rt_options_t *opt, uint64_t *est, char *err, size_t errlen) {
  qnpu_status_t st = make_ctiles(j, err, errlen);
  if (st) return st;
  int32_t mmax = (int32_t)(j->acc_half < j->out_half ? j->acc_half : j->out_half);
  if (opt && opt->max_tile_pixels && (int32_t)opt->max_tile_pixels < mmax) mmax = (int32_t)opt->max_tile_pixels;
  const int32_t tow = cdiv(j->ow, cdiv(j->ow, mmax));
  uint64_t best = UINT64_MAX;
  /* Split the reduction as little as possible: channel chunks first, then
   * kernel rows, then kernel columns. */
  for (int32_t toh = imin(j->oh, mmax / tow); toh >= 1; toh--) {
    for (int32_t sp = 0; sp < j->kh + j->kw - 1; sp++) {
      const int32_t py = sp < j->kh ? sp + 1 : j->kh, px = sp < j->kh ? 1 : sp - j->kh + 2;
      int found = 0;
      for (int32_t pc = 1; pc <= j->nch_max; pc++) {
        if (!fits(j, toh, tow, pc, py, px)) continue;
        const int resident = j->total_folds * j->wrows <= j->wgt_rows && !(opt && opt->no_resident);
        if (!resident && block_rows(j, pc, py, px) > j->wgt_half) continue;
        const uint64_t c = cost(j, toh, tow, pc, py, px, resident);
        if (c < best) {
          best = c;
          j->toh = toh, j->tow = tow, j->pc = pc, j->py = py, j->px = px, j->resident = resident;
        }
        found = 1;
        break; /* more pieces only add patch traffic */
      }
      if (found) break;
    }
  }
  if (best == UINT64_MAX)
    return qnpu_error(QNPU_ERR_UNSUPPORTED, err, errlen,
                      "%s: the %dx%d kernel (dilation %dx%d) on %d channels does not fit the scratchpads even one "
                      "output pixel and one kernel tap at a time",
                      qnpu_op_name(j->l->op), j->kh, j->kw, j->dh, j->dw, j->c);
  j->K = j->pc * j->py * j->px * j->nv;
  *est = best;
  /* the pieces of every tile, and where their weight blocks go: one after
   * another, in DRAM and (resident) at the same rows of the scratchpad */
  const size_t np = (size_t)j->nct * (size_t)j->K;
  j->pcs = calloc(np, sizeof *j->pcs);
  j->wblk = calloc(np, sizeof *j->wblk);
  if (!j->pcs || !j->wblk) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory");
  for (int32_t t = 0; t < j->nct; t++)
    for (int32_t k = 0; k < j->K; k++) {
      piece_t *pc = &j->pcs[(size_t)t * (size_t)j->K + (size_t)k];
      j->wblk[(size_t)t * (size_t)j->K + (size_t)k] = j->wrows_all;
      if (piece_of(j, &j->ct[t], k, pc))
        j->wrows_all += piece_rows(j, pc);
      else
        pc->c_lo = pc->c_hi = 0;
    }
  /* spatial tiles */
  const int32_t ny = cdiv(j->oh, j->toh), nx = cdiv(j->ow, j->tow);
  j->nst = j->n * ny * nx;
  j->st = calloc((size_t)j->nst, sizeof *j->st);
  if (!j->st) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory");
  int32_t s = 0;
  for (int32_t b = 0; b < j->n; b++)
    for (int32_t y = 0; y < ny; y++)
      for (int32_t x = 0; x < nx; x++) {
        stile_t *t = &j->st[s++];
        t->img = b;
        t->oy0 = y * j->toh;
        t->toh = imin(j->toh, j->oh - t->oy0);
        t->ox0 = x * j->tow;
        t->tow = imin(j->tow, j->ow - t->ox0);
      }
  return QNPU_OK;
}

/* ---- packing -------------------------------------------------------------------- */

/* Weight rows of piece pc of tile t: fold g = ((ky - ky_lo) * fx + kx - kx_lo) *
 * chunks + (chunk - c_lo); row i of a fold holds window channel
 * chunk * kf + i (W4A8/W4A4: channels 2i, 2i+1 in the low/high nibble);
 * column o - o0. */
static qnpu_status_t pack_weights(const job_t *j, const ctile_t *t, const piece_t *pc, uint8_t *dst) {
  const uint32_t pch = (uint32_t)(pc->c_hi - pc->c_lo), fx = (uint32_t)(pc->kx_hi - pc->kx_lo);
  const size_t taps = (size_t)j->kh * (size_t)j->kw * (size_t)j->cg;
  int8_t vals[512];
  uint8_t col[256];
  if (j->mode == QNPU_MODE_W8A8 && j->og == j->o && j->nv == 1) {
    /* dense int8 without a zero-point split: row by row, so that the
     * writes are contiguous (the common case, and the one that is hot) */
    for (int32_t ky = pc->ky_lo; ky < pc->ky_hi; ky++)
      for (int32_t kx = pc->kx_lo; kx < pc->kx_hi; kx++)
        for (uint32_t cc = 0; cc < pch; cc++) {
          const uint32_t g = ((uint32_t)(ky - pc->ky_lo) * fx + (uint32_t)(kx - pc->kx_lo)) * pch + cc;
          const int32_t ch0 = t->cw0 + (pc->c_lo + (int32_t)cc) * (int32_t)j->kf;
          const size_t at = ((size_t)ky * (size_t)j->kw + (size_t)kx) * (size_t)j->cg + (size_t)ch0;
          for (uint32_t i = 0; i < j->R && ch0 + (int32_t)i < j->c; i++) {
            uint8_t *row = dst + ((size_t)g * j->R + i) * j->C;
            if (j->f8)
              for (int32_t o = t->o0; o < t->o1; o++) row[o - t->o0] = (uint8_t)j->f8[(size_t)o * taps + at + i];
            else
              for (int32_t o = t->o0; o < t->o1; o++)
                row[o - t->o0] = (uint8_t)(int8_t)j->fn[(size_t)o * taps + at + i];
          }
        }
    return QNPU_OK;
  }
  for (int32_t o = t->o0; o < t->o1; o++) {
    const int32_t g0 = o / j->og * j->cg; /* first input channel of o's group */
    for (int32_t ky = pc->ky_lo; ky < pc->ky_hi; ky++)
      for (int32_t kx = pc->kx_lo; kx < pc->kx_hi; kx++)
        for (uint32_t cc = 0; cc < pch; cc++) {
          const uint32_t g = ((uint32_t)(ky - pc->ky_lo) * fx + (uint32_t)(kx - pc->kx_lo)) * pch + cc;
          /* the window channels of this fold that belong to o's group */
          const int32_t ch0 = t->cw0 + (pc->c_lo + (int32_t)cc) * (int32_t)j->kf;
          const int32_t lo = imax(0, g0 - ch0), hi = imin((int32_t)j->kf, imin(g0 + j->cg, j->c) - ch0);
          const size_t at = (size_t)o * taps + ((size_t)ky * (size_t)j->kw + (size_t)kx) * (size_t)j->cg;
          memset(vals, 0, j->kf);
          for (int32_t i = lo; i < hi; i++) {
            const int32_t v = wval(j, at + (size_t)(ch0 + i - g0));
            vals[i] = (int8_t)(j->nv == 1 ? v : variant(j, v, pc->v));
          }
          if (j->mode == QNPU_MODE_W8A8)
            memcpy(col, vals, j->R);
          else if (qnpu_golden_pack_int4(vals, j->kf, col))
            return QNPU_ERR_ARG;
          for (uint32_t i = 0; i < j->wrows; i++)
            dst[((size_t)g * j->wrows + i) * j->C + (uint32_t)(o - t->o0)] = col[i];
        }
  }
  return QNPU_OK;
}

/* The C parameter records of tile t. */
static void pack_params(const job_t *j, const ctile_t *t, uint8_t *dst) {
  const qnpu_layer_t *l = j->l;
  const size_t taps = (size_t)j->kh * (size_t)j->kw * (size_t)j->cg;
  for (uint32_t c = 0; c < j->C; c++) {
    const int32_t o = t->o0 + (int32_t)c;
    const int real = o < t->o1;
    qnpu_prm_t p;
    memset(&p, 0, sizeof p);
    if (real) {
      int64_t wsum = 0;
      if (j->f8) { /* (two loops, so that each vectorizes) */
        const int8_t *w = j->f8 + (size_t)o * taps;
        for (size_t i = 0; i < taps; i++) wsum += w[i];
      } else {
        const int16_t *w = j->fn + (size_t)o * taps;
        for (size_t i = 0; i < taps; i++) wsum += w[i];
      }
      const uint32_t b = l->bias ? (uint32_t)l->bias[o] : 0u;
      p.bias = (int32_t)(b - (uint32_t)((int64_t)l->p.input_zero_point * wsum));
      const size_t r = l->rq.per_channel ? (size_t)o : 0;
      if (l->rq.mode == QNPU_REQUANT_ORT_F32) { /* M0 carries the float32 scale's bits */
        uint32_t bits;
        memcpy(&bits, &l->rq.scale_f32[r], 4);
        p.m0 = (int32_t)bits;
      } else if (!j->bypass) {
        p.m0 = l->rq.multiplier[r];
        p.shift = l->rq.shift[r];
      }
    }
    p.flags = j->bypass ? 1u : l->rq.mode == QNPU_REQUANT_ORT_F32 ? 2u : 0u;
    p.zp = j->bypass ? 0 : l->rq.output_zero_point;
    p.act_min = j->bypass ? 0 : l->rq.act_min;
    p.act_max = j->bypass ? 0 : l->rq.act_max;
    qnpu_prm_encode(&p, dst + (size_t)QNPU_PRM_RECORD_BYTES * c);
  }
}

/* ---- the command stream --------------------------------------------------------- */

typedef struct {
  qnpu_cmd_t *v;
  size_t n, cap;
} cmdbuf_t;

static int push_cmd(cmdbuf_t *b, qnpu_cmd_t c) {
  if (b->n == b->cap) {
    const size_t cap = b->cap ? 2 * b->cap : 1024;
    qnpu_cmd_t *v = realloc(b->v, cap * sizeof *v);
    if (!v) return -1;
    b->v = v;
    b->cap = cap;
  }
  b->v[b->n++] = c;
  return 0;
}

/* A slot set: which key each slot holds and its last user. */
typedef struct {
  int64_t key[2], key2[2];
  int32_t last[2];
} slots_t;

/* Step n uses (key, key2): the slot holding it, or else the least recently
 * used slot, which it will load (*load = 1) once that slot's last user,
 * folded into *wait, has finished. */
static int slot_use(slots_t *s, int64_t key, int64_t key2, int32_t n, int32_t *wait, int *load) {
  int i = 0;
  while (i < 2 && !(s->key[i] == key && s->key2[i] == key2)) i++;
  *load = i == 2;
  if (*load) {
    i = s->last[0] <= s->last[1] ? 0 : 1;
    if (s->last[i] > *wait) *wait = s->last[i];
    s->key[i] = key;
    s->key2[i] = key2;
  }
  s->last[i] = n;
  return i;
}

typedef struct {
  uint64_t in, wgt, prm, out; /* DRAM addresses of the buffers */
} bufs_t;

/* Pass 1: the steps, their slots and their tokens. A step's loads are
 * emitted just before it; they may overwrite a slot only once its last user
 * has finished, so the first of them waits for a release token that this
 * user gives (users release in order, so one wait covers every slot). */
static qnpu_status_t make_steps(const job_t *j, step_t **out, int32_t *nout) {
  const int64_t nsteps = (int64_t)j->nst * j->nct * j->K;
  step_t *s = calloc((size_t)nsteps, sizeof *s);
  if (!s) return QNPU_ERR_NOMEM;
  slots_t act = {{-1, -1}, {0, 0}, {-1, -1}}, wgt = act, prm = act;
  int32_t n = 0, waited = -1;
  uint32_t u = 0;
  for (int32_t si = 0; si < j->nst; si++)
    for (int32_t t = 0; t < j->nct; t++) {
      int32_t k_first = -1, k_last = -1;
      for (int32_t k = 0; k < j->K; k++)
        if (piece(j, t, k)) k_last = k, k_first = k_first < 0 ? k : k_first;
      for (int32_t k = k_first; k >= 0 && k <= k_last; k++) {
        const piece_t *pc = piece(j, t, k);
        if (!pc) continue;
        step_t *x = &s[n];
        x->s = si, x->t = t, x->k = k, x->u = u;
        x->first = k == k_first;
        x->last = k == k_last;
        int32_t wait = -1;
        /* a patch is the spatial tile x (window, chunks, kernel rows, columns) */
        const int64_t akey2 = (((int64_t)j->ct[t].cw0 * 65536 + pc->c_lo) * 1024 + pc->ky_lo) * 1024 + pc->kx_lo;
        x->act_base = (uint32_t)slot_use(&act, si, akey2, n, &wait, &x->act_load) * j->act_half;
        if (!j->resident)
          x->wgt_base = (uint32_t)slot_use(&wgt, (int64_t)t * j->K + k, 0, n, &wait, &x->wgt_load) * j->wgt_half;
        if (x->last) /* the parameter bank of the requantization */
          x->pbank = (uint32_t)slot_use(&prm, t, 0, n, &wait, &x->prm_load);
        if (wait > waited) {
          x->wait = 1;
          s[wait].release = 1;
          waited = wait;
        }
        n++;
      }
      if (k_first >= 0) u++;
    }
  *out = s;
  *nout = n;
  return QNPU_OK;
}

/* Pass 2: the commands of every step, after its loads, then its STORE. */
static qnpu_status_t emit(const job_t *j, const step_t *s, int32_t ns, const bufs_t *b, cmdbuf_t *cb) {
  uint8_t *loaded = calloc((size_t)j->nct * (size_t)j->K, 1); /* resident weight blocks */
  if (!loaded) return QNPU_ERR_NOMEM;
  uint32_t U = 0;
  for (int32_t i = 0; i < ns; i++) U += s[i].last ? 1u : 0u;
  const uint32_t cw_div = j->w4a4 ? 2u : 1u;
  int bad = 0;
  for (int32_t i = 0; i < ns && !bad; i++) {
    const step_t *x = &s[i];
    const stile_t *sp = &j->st[x->s];
    const ctile_t *t = &j->ct[x->t];
    const piece_t *pc = piece(j, x->t, x->k);
    const uint32_t pch = (uint32_t)(pc->c_hi - pc->c_lo), fy = (uint32_t)(pc->ky_hi - pc->ky_lo);
    const uint32_t fx = (uint32_t)(pc->kx_hi - pc->kx_lo);
    const patch_t p = patch_of(j, sp->oy0, sp->toh, sp->ox0, sp->tow, pc->ky_lo, pc->ky_hi, pc->kx_lo, pc->kx_hi);
    const size_t blk = (size_t)x->t * (size_t)j->K + (size_t)x->k;
    const uint32_t wrows = (uint32_t)piece_rows(j, pc);
    const uint32_t wbase = j->resident ? (uint32_t)j->wblk[blk] : x->wgt_base;
    const int wload = j->resident ? !loaded[blk] : x->wgt_load;
    if (j->resident) loaded[blk] = 1;
    qnpu_cmd_t ld[3];
    int nl = 0;
    if (x->act_load) {
      const uint64_t img = b->in + (uint64_t)sp->img * (uint64_t)j->h * (uint64_t)j->w * j->cb;
      const int64_t off = ((int64_t)p.iy_lo * j->w + p.ix_lo) * (int64_t)j->cb + (int64_t)((uint32_t)t->cw0 / cw_div) +
                          (int64_t)pc->c_lo * j->R;
      const uint32_t z = (uint32_t)j->l->p.input_zero_point;
      const qnpu_xfer_t a = {.target = QNPU_TGT_LOAD_ACT,
                             .spad_row = x->act_base,
                             .dram_addr = (uint32_t)(img + (uint64_t)off),
                             .len = j->R,
                             .count1 = pch,
                             .count2 = (uint32_t)p.pw,
                             .count3 = (uint32_t)p.ph,
                             .stride1 = j->R,
                             .stride2 = (uint32_t)j->lx * j->cb,
                             .stride3 = (uint32_t)j->ly * (uint32_t)j->w * j->cb,
                             .pad_xlo = p.pad_xlo,
                             .pad_xhi = p.pad_xhi,
                             .pad_ylo = p.pad_ylo,
                             .pad_yhi = p.pad_yhi,
                             .fill = j->w4a4 ? (z & 15u) * 0x11u : z & 0xffu};
      ld[nl++] = qnpu_cmd_load(&a);
    }
    if (wload) {
      const qnpu_xfer_t w = {.target = QNPU_TGT_LOAD_WGT,
                             .spad_row = wbase,
                             .dram_addr = (uint32_t)(b->wgt + j->wblk[blk] * j->C),
                             .len = j->C,
                             .count1 = wrows,
                             .count2 = 1,
                             .count3 = 1,
                             .stride1 = j->C};
      ld[nl++] = qnpu_cmd_load(&w);
    }
    if (x->prm_load) {
      const qnpu_xfer_t q = {.target = x->pbank ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0,
                             .dram_addr = (uint32_t)(b->prm + (uint64_t)x->t * QNPU_PRM_RECORD_BYTES * j->C),
                             .len = QNPU_PRM_RECORD_BYTES * j->C,
                             .count1 = 1,
                             .count2 = 1,
                             .count3 = 1};
      ld[nl++] = qnpu_cmd_load(&q);
    }
    for (int q = 0; q < nl; q++) {
      qnpu_cmd_deps(&ld[q], 0, q == 0 && x->wait, 0, q == nl - 1);
      bad |= push_cmd(cb, ld[q]);
    }
    const uint32_t half = x->u & 1u;
    const qnpu_compute_t c = {.mode = j->mode,
                              .a_row = x->act_base,
                              .w_row = wbase,
                              .acc_row = half * j->acc_half,
                              .out_row = half * j->out_half,
                              .mx = (uint32_t)sp->tow,
                              .my = (uint32_t)sp->toh,
                              .as_x = (uint32_t)(j->sw / j->lx) * pch,
                              .as_y = (uint32_t)(j->sh / j->ly) * (uint32_t)p.pw * pch,
                              .f1 = pch,
                              .f2 = fx,
                              .f3 = fy,
                              .fs1 = 1,
                              .fs2 = (uint32_t)j->dw * pch,
                              .fs3 = (uint32_t)j->dh * (uint32_t)p.pw * pch,
                              .first = x->first,
                              .last = x->last,
                              .pbank = x->pbank};
    qnpu_cmd_t cc = qnpu_cmd_compute(&c);
    qnpu_cmd_deps(&cc, nl > 0, x->last && x->u >= 2, x->release, x->last);
    bad |= push_cmd(cb, cc);
    if (!x->last) continue;
    const uint32_t nt = (uint32_t)(t->o1 - t->o0);
    uint32_t len, o0b;
    if (j->out_tgt == QNPU_TGT_STORE_OUT32)
      len = 4u * nt, o0b = 4u * (uint32_t)t->o0;
    else if (j->out_tgt == QNPU_TGT_STORE_OUT4)
      len = (nt + 1) / 2, o0b = (uint32_t)t->o0 / 2;
    else
      len = nt, o0b = (uint32_t)t->o0;
    const uint64_t px = ((uint64_t)sp->img * (uint64_t)j->oh + (uint64_t)sp->oy0) * (uint64_t)j->ow + (uint64_t)sp->ox0;
    const qnpu_xfer_t o = {.target = j->out_tgt,
                           .spad_row = half * j->out_half,
                           .dram_addr = (uint32_t)(b->out + px * j->ob + o0b),
                           .len = len,
                           .count1 = (uint32_t)sp->tow,
                           .count2 = (uint32_t)sp->toh,
                           .count3 = 1,
                           .stride1 = j->ob,
                           .stride2 = (uint32_t)j->ow * j->ob};
    qnpu_cmd_t sc = qnpu_cmd_store(&o);
    qnpu_cmd_deps(&sc, 1, 0, x->u + 2 < U, 0);
    bad |= push_cmd(cb, sc);
  }
  free(loaded);
  if (!bad) bad |= push_cmd(cb, qnpu_cmd_fence(1));
  return bad ? QNPU_ERR_NOMEM : QNPU_OK;
}

/* The input in its device layout: [n][h][w][cb], int4 packed per pixel,
 * with the padding rows and columns beyond 15 filled with the zero point. */
static qnpu_status_t pack_input(const job_t *j, uint8_t *dst) {
  const int32_t z = j->l->p.input_zero_point;
  int8_t *zrow = malloc((size_t)j->c);
  if (!zrow) return QNPU_ERR_NOMEM;
  memset(zrow, (int8_t)z, (size_t)j->c);
  for (int32_t b = 0; b < j->n; b++)
    for (int32_t y = 0; y < j->h; y++)
      for (int32_t x = 0; x < j->w; x++) {
        const int32_t iy = y - j->ex_t, ix = x - j->ex_l;
        const int inside = iy >= 0 && iy < j->h0 && ix >= 0 && ix < j->w0;
        const int8_t *src =
            inside
                ? j->l->input + (((size_t)b * (size_t)j->h0 + (size_t)iy) * (size_t)j->w0 + (size_t)ix) * (size_t)j->c
                : zrow;
        uint8_t *d = dst + (((size_t)b * (size_t)j->h + (size_t)y) * (size_t)j->w + (size_t)x) * j->cb;
        if (!j->w4a4)
          memcpy(d, src, (size_t)j->c);
        else if (qnpu_golden_pack_int4(src, (size_t)j->c, d)) {
          free(zrow);
          return QNPU_ERR_ARG;
        }
      }
  free(zrow);
  return QNPU_OK;
}

static void unpack_output(const job_t *j, const uint8_t *buf, int32_t *out) {
  const size_t px = (size_t)j->n * (size_t)j->oh * (size_t)j->ow;
  for (size_t i = 0; i < px; i++) {
    const uint8_t *row = buf + i * j->ob;
    for (int32_t o = 0; o < j->o; o++) {
      int32_t v;
      if (j->out_tgt == QNPU_TGT_STORE_OUT32)
        v = (int32_t)((uint32_t)row[4 * o] | (uint32_t)row[4 * o + 1] << 8 | (uint32_t)row[4 * o + 2] << 16 |
                      (uint32_t)row[4 * o + 3] << 24);
      else if (j->out_tgt == QNPU_TGT_STORE_OUT4)
        v = (int32_t)(int8_t)(uint8_t)(((row[o / 2] >> (4 * (o & 1))) & 15u) << 4) >> 4;
      else
        v = (int8_t)row[o];
      out[i * (size_t)j->o + (size_t)o] = v;
    }
  }
}

/* ---- tap packing ------------------------------------------------------------------ */

/* A conv2d of few input channels fills a fold poorly: every kernel tap is a
 * fold of its own with only C of its kf rows busy (a network's first layer,
 * C = 1 or 3). Packed, it runs as a 1x1 convolution over the im2col of its
 * input, built on the host: the KH x KW x C taps of each output pixel (the
 * input zero point where a tap falls outside the input) are that pixel's
 * channels. The filter [O][KH][KW][C] already is [O][1][1][KH*KW*C] and
 * every sum is the same, so is every result. The cost model picks the
 * cheaper of the two plans. */
typedef struct {
  qnpu_layer_t l;
  int8_t *cols; /* NULL: not packed */
} packed_t;

#define MAX_PACKED_BYTES (16u << 20)

/* Whether packing l's taps takes fewer folds per output tile. */
static int packable(const job_t *j, const qnpu_layer_t *l) {
  const qnpu_conv_params_t *p = &l->p;
  if (l->op != QNPU_OP_CONV2D || p->groups != 1 || p->kh * p->kw == 1) return 0;
  const int64_t k = (int64_t)p->kh * p->kw * p->c;
  return cdiv(k, j->kf) < (int64_t)p->kh * p->kw * cdiv(p->c, j->kf) &&
         qnpu_layer_out_count(l) / (size_t)p->out_c * (size_t)k <= MAX_PACKED_BYTES;
}

static qnpu_status_t pack_taps(const qnpu_layer_t *l, packed_t *pk) {
  const qnpu_conv_params_t *p = &l->p;
  const int32_t oh = qnpu_layer_out_h(l), ow = qnpu_layer_out_w(l);
  const size_t k = (size_t)p->kh * (size_t)p->kw * (size_t)p->c;
  pk->cols = malloc(qnpu_layer_out_count(l) / (size_t)p->out_c * k);
  if (!pk->cols) return QNPU_ERR_NOMEM;
  int8_t *d = pk->cols;
  for (int32_t b = 0; b < p->n; b++)
    for (int32_t oy = 0; oy < oh; oy++)
      for (int32_t ox = 0; ox < ow; ox++)
        for (int32_t ky = 0; ky < p->kh; ky++)
          for (int32_t kx = 0; kx < p->kw; kx++, d += p->c) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
              memset(d, (int8_t)p->input_zero_point, (size_t)p->c);
            else
              memcpy(d, l->input + (((size_t)b * (size_t)p->h + (size_t)iy) * (size_t)p->w + (size_t)ix) * (size_t)p->c,
                     (size_t)p->c);
          }
  pk->l = *l;
  pk->l.p.h = oh, pk->l.p.w = ow, pk->l.p.c = (int32_t)k;
  pk->l.p.kh = pk->l.p.kw = pk->l.p.stride_h = pk->l.p.stride_w = pk->l.p.dil_h = pk->l.p.dil_w = 1;
  pk->l.p.pad_top = pk->l.p.pad_left = pk->l.p.pad_bottom = pk->l.p.pad_right = 0;
  pk->l.input = pk->cols;
  return QNPU_OK;
}

/* The job and the plan of l for this device. */
static qnpu_status_t plan_layer(job_t *j, const qnpu_dev_info_t *in, const qnpu_layer_t *l,
                                const qnpu_rt_options_t *opt, uint64_t *est, char *err, size_t errlen) {
  qnpu_status_t st = job_init(j, in, l, err, errlen);
  if (!st && opt && opt->act_slot_rows && opt->act_slot_rows < j->act_half) j->act_half = opt->act_slot_rows;
  if (!st && opt && opt->wgt_slot_rows && opt->wgt_slot_rows < j->wgt_half) j->wgt_half = opt->wgt_slot_rows;
  if (!st) st = plan(j, opt, est, err, errlen);
  return st;
}

/* Plans l, and l with its taps packed when that may help, and keeps the
 * cheaper (pk owns the packed layer's input until the caller frees it). */
static qnpu_status_t prepare(job_t *j, const qnpu_dev_info_t *in, const qnpu_layer_t *l, const qnpu_rt_options_t *opt,
                             packed_t *pk, qnpu_rt_stats_t *stats, char *err, size_t errlen) {
  memset(pk, 0, sizeof *pk);
  uint64_t est = 0;
  qnpu_status_t st = plan_layer(j, in, l, opt, &est, err, errlen);
  if (!st && !(opt && opt->no_packing) && packable(j, l)) {
    if (pack_taps(l, pk)) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory for the im2col input");
    job_t jp;
    uint64_t ep;
    if (plan_layer(&jp, in, &pk->l, opt, &ep, NULL, 0) == QNPU_OK && ep < est) {
      job_free(j);
      *j = jp;
      est = ep;
    } else {
      job_free(&jp);
      free(pk->cols);
      pk->cols = NULL;
    }
  }
  if (st) return st;
  memset(stats, 0, sizeof *stats);
  stats->tile_oh = (uint32_t)j->toh;
  stats->tile_ow = (uint32_t)j->tow;
  stats->channel_tiles = (uint32_t)j->nct;
  stats->pieces = (uint32_t)j->K;
  stats->weights_resident = j->resident;
  stats->taps_packed = pk->cols != NULL;
  stats->est_cycles = est;
  stats->macs = qnpu_layer_macs(l);
  stats->min_bytes = qnpu_layer_min_bytes(l);
  return QNPU_OK;
}

qnpu_status_t qnpu_rt_plan(const qnpu_dev_info_t *in, const qnpu_layer_t *l, const qnpu_rt_options_t *opt,
                           qnpu_rt_stats_t *stats, char *err, size_t errlen) {
  if (!in || !l || !stats) return qnpu_error(QNPU_ERR_ARG, err, errlen, "qnpu_rt_plan: missing argument");
  job_t j;
  packed_t pk;
  const qnpu_status_t st = prepare(&j, in, l, opt, &pk, stats, err, errlen);
  job_free(&j);
  free(pk.cols);
  return st;
}

qnpu_status_t qnpu_rt_run(qnpu_dev_t *dev, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, int32_t *out,
                          qnpu_rt_stats_t *stats, char *err, size_t errlen) {
  qnpu_rt_stats_t local;
  if (!stats) stats = &local;
  const qnpu_dev_info_t *in = dev ? qnpu_drv_info(dev) : NULL;
  if (!in || !l || !out) return qnpu_error(QNPU_ERR_ARG, err, errlen, "qnpu_rt_run: missing argument");
  const double t_start = now_s();
  double t_dev = 0;
  job_t j;
  packed_t pk;
  qnpu_status_t st = prepare(&j, in, l, opt, &pk, stats, err, errlen);
  step_t *steps = NULL;
  int32_t ns = 0;
  cmdbuf_t cb = {NULL, 0, 0};
  bufs_t b;
  memset(&b, 0, sizeof b);
  uint64_t addr[4] = {0, 0, 0, 0};
  int nalloc = 0;
  uint8_t *host = NULL;
  if (st) goto done;
  if ((st = make_steps(&j, &steps, &ns))) goto nomem;

  const size_t in_bytes = (size_t)j.n * (size_t)j.h * (size_t)j.w * j.cb + j.R; /* slack: a chunk past the end */
  const size_t w_bytes = (size_t)j.wrows_all * j.C + 16, p_bytes = (size_t)j.nct * QNPU_PRM_RECORD_BYTES * j.C;
  const size_t o_bytes = (size_t)j.n * (size_t)j.oh * (size_t)j.ow * j.ob;
  const size_t sizes[4] = {in_bytes, w_bytes, p_bytes, o_bytes};
  for (nalloc = 0; nalloc < 4; nalloc++)
    if ((st = qnpu_drv_alloc(dev, sizes[nalloc], 16, &addr[nalloc]))) {
      uint64_t used = 0, gap = 0;
      qnpu_drv_mem_stats(dev, &used, &gap);
      qnpu_error(st, err, errlen,
                 "device memory: %zu bytes do not fit (%llu bytes in use, largest free gap %llu); the layer needs "
                 "%zu bytes in all",
                 sizes[nalloc], (unsigned long long)used, (unsigned long long)gap,
                 in_bytes + w_bytes + p_bytes + o_bytes);
      goto done;
    }
  b.in = addr[0], b.wgt = addr[1], b.prm = addr[2], b.out = addr[3];
  size_t host_bytes = 0; /* one host buffer serves the four in turn */
  for (int i = 0; i < 4; i++) host_bytes = sizes[i] > host_bytes ? sizes[i] : host_bytes;
  host = calloc(host_bytes, 1);
  if (!host) goto nomem;
  if ((st = pack_input(&j, host)) || (st = qnpu_drv_write(dev, b.in, host, in_bytes))) goto hw;
  memset(host, 0, w_bytes);
  for (int32_t t = 0; t < j.nct && !st; t++)
    for (int32_t k = 0; k < j.K && !st; k++) {
      const piece_t *pc = piece(&j, t, k);
      if (pc) st = pack_weights(&j, &j.ct[t], pc, host + j.wblk[(size_t)t * (size_t)j.K + (size_t)k] * j.C);
    }
  if (st || (st = qnpu_drv_write(dev, b.wgt, host, w_bytes))) goto hw;
  for (int32_t t = 0; t < j.nct; t++) pack_params(&j, &j.ct[t], host + (size_t)t * QNPU_PRM_RECORD_BYTES * j.C);
  if ((st = qnpu_drv_write(dev, b.prm, host, p_bytes))) goto hw;
  if ((st = emit(&j, steps, ns, &b, &cb))) goto nomem;

  stats->steps = (uint32_t)ns;
  stats->commands = (uint32_t)cb.n;
  for (int32_t i = 0; i < ns; i++) { /* rows x folds x the array's MACs per fold row */
    const uint64_t pr = piece_rows(&j, piece(&j, steps[i].t, steps[i].k));
    stats->issued_macs += (uint64_t)j.st[steps[i].s].toh * (uint64_t)j.st[steps[i].s].tow * pr / j.wrows * j.kf * j.C;
    stats->wgt_rows += pr;
  }
  t_dev = now_s();
  stats->prep_s = t_dev - t_start;
  if ((st = qnpu_drv_clear_counters(dev))) goto hw;
  if ((st = qnpu_drv_submit(dev, cb.v, cb.n))) goto hw;
  const uint64_t timeout = opt && opt->timeout_cycles ? opt->timeout_cycles : 8 * stats->est_cycles + 10000000u;
  if ((st = qnpu_drv_wait(dev, timeout))) goto hw;
  qnpu_counters_t k;
  if ((st = qnpu_drv_counters(dev, &k))) goto hw;
  stats->cycles = k.cycles;
  stats->hw_macs = k.macs;
  stats->rd_bytes = k.rd_bytes;
  stats->wr_bytes = k.wr_bytes;
  stats->saturations = k.saturations;
  stats->hw_rows = k.rows;
  {
    const qnpu_dev_info_t *di = qnpu_drv_info(dev);
    const int int4 = l->prec == QNPU_PREC_W4A4;
    const qnpu_energy_in_t ei = {.rows = di->rows,
                                 .cols = di->cols,
                                 .act_spad_bytes = (uint64_t)di->act_rows * di->rows,
                                 .wgt_spad_bytes = (uint64_t)di->wgt_rows * di->cols,
                                 .out_spad_bytes = (uint64_t)di->out_rows * di->cols * 4u,
                                 .acc_bytes_per_col = (uint64_t)di->acc_depth * 4u,
                                 .macs8 = int4 ? 0 : k.macs,
                                 .macs4 = int4 ? k.macs : 0,
                                 .act_rows = k.rows,
                                 .wgt_rows = stats->wgt_rows,
                                 .outputs = qnpu_layer_out_count(l),
                                 .dram_rd = k.rd_bytes,
                                 .dram_wr = k.wr_bytes,
                                 .fetch_bytes = (uint64_t)cb.n * QNPU_CMD_BYTES};
    stats->energy = qnpu_energy_estimate(&ei);
  }
  if ((st = qnpu_drv_read(dev, b.out, host, o_bytes))) goto hw;
  unpack_output(&j, host, out);
  stats->device_s = now_s() - t_dev;
  goto done;
nomem:
  st = qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of host memory");
  goto done;
hw:
  if (st == QNPU_ERR_HW) {
    qnpu_hw_error_t e;
    if (qnpu_drv_hw_error(dev, &e) == QNPU_OK)
      qnpu_error(st, err, errlen, "the device halted: %s", e.message);
    else
      qnpu_error(st, err, errlen, "the device halted (its error registers could not be read)");
  } else {
    qnpu_error(st, err, errlen, "device: %s", qnpu_status_str(st));
  }
  /* Soft reset, so that the session's next run starts on a clean device
   * (and its memory frees below cannot race writes still in flight). */
  if ((st == QNPU_ERR_HW || st == QNPU_ERR_TIMEOUT) && qnpu_drv_reset(dev)) {
    const size_t used = strlen(err);
    if (used + 40 < errlen) snprintf(err + used, errlen - used, "; the soft reset failed too");
  }
done:
  for (int i = 0; i < nalloc; i++)
    if (qnpu_drv_free(dev, addr[i]) && !st) st = qnpu_error(QNPU_ERR_ARG, err, errlen, "device memory: free failed");
  free(host);
  free(cb.v);
  free(steps);
  job_free(&j);
  free(pk.cols);
  return st;
}
