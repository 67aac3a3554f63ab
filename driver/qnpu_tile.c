/* qnpu_tile.c - one GEMM tile through the driver (qnpu_tile.h). */
#include "qnpu_tile.h"

#include <stdlib.h>
#include <string.h>

#include "qnpu_golden.h"
#include "qnpu_walk.h"

/* Packs n int4 values of src (stride apart) into dst[ceil(n/2)]. */
static qnpu_status_t pack4(const int8_t *src, size_t n, size_t stride, uint8_t *dst, int8_t *tmp) {
  for (size_t i = 0; i < n; i++) tmp[i] = src[i * stride];
  return qnpu_golden_pack_int4(tmp, n, dst);
}

/* The requantization side of a tile, shared by GEMM and convolution. */
typedef struct {
  const int32_t *bias, *m0, *shift;
  int32_t zx, zp, act_min, act_max;
  int bypass;
} rq_side_t;

/* C parameter records: channel j < n gets bias[j] - zx * wsum[j] and its
 * multiplier; the rest zero. */
static void encode_params(const rq_side_t *q, const int64_t *wsum, uint32_t n, uint32_t C, uint8_t *P) {
  for (uint32_t j = 0; j < C; j++) {
    const int real = j < n;
    qnpu_prm_t p;
    memset(&p, 0, sizeof p);
    p.bias = (int32_t)((real && q->bias ? (uint32_t)q->bias[j] : 0u) - (real ? (uint32_t)((int64_t)q->zx * wsum[j]) : 0u));
    p.m0 = real && !q->bypass ? q->m0[j] : 0;
    p.shift = real && !q->bypass ? q->shift[j] : 0;
    p.flags = q->bypass ? 1u : 0u;
    p.zp = q->zp;
    p.act_min = q->act_min;
    p.act_max = q->act_max;
    qnpu_prm_encode(&p, P + (size_t)QNPU_PRM_RECORD_BYTES * j);
  }
}

/* The STORE target and row bytes of a tile's output. */
static void out_format(uint32_t mode, int bypass, uint32_t n, uint32_t *tgt, uint32_t *orow) {
  *tgt = bypass ? QNPU_TGT_STORE_OUT32 : mode == QNPU_MODE_W4A4 ? QNPU_TGT_STORE_OUT4 : QNPU_TGT_STORE_OUT8;
  *orow = bypass ? 4u * n : mode == QNPU_MODE_W4A4 ? (n + 1) / 2 : n;
}

/* Unless st is already an error: writes the three operand buffers to device
 * memory and allocates the output. Frees the host buffers either way. */
static qnpu_status_t place(qnpu_dev_t *dev, qnpu_status_t st, uint8_t *A, size_t a_bytes, uint8_t *B,
                           size_t b_bytes, uint8_t *P, size_t p_bytes, size_t o_bytes, uint64_t addr[4]) {
  if (!st) st = qnpu_drv_alloc(dev, a_bytes, 16, &addr[0]);
  if (!st) st = qnpu_drv_alloc(dev, b_bytes, 16, &addr[1]);
  if (!st) st = qnpu_drv_alloc(dev, p_bytes, 16, &addr[2]);
  if (!st) st = qnpu_drv_alloc(dev, o_bytes, 16, &addr[3]);
  if (!st) st = qnpu_drv_write(dev, addr[0], A, a_bytes);
  if (!st) st = qnpu_drv_write(dev, addr[1], B, b_bytes);
  if (!st) st = qnpu_drv_write(dev, addr[2], P, p_bytes);
  free(A);
  free(B);
  free(P);
  return st;
}

/* The five commands of a tile: LOAD parameters, weights, activations; the
 * COMPUTE; the STORE; with the load -> compute -> store tokens. */
static void tile_commands(const qnpu_xfer_t *prm, const qnpu_xfer_t *wgt, const qnpu_xfer_t *act,
                          const qnpu_compute_t *cmp, const qnpu_xfer_t *out, qnpu_tile_plan_t *plan, qnpu_cmd_t *cmds) {
  uint32_t n = 0;
  cmds[n++] = qnpu_cmd_load(prm);
  cmds[n++] = qnpu_cmd_load(wgt);
  cmds[n] = qnpu_cmd_load(act);
  qnpu_cmd_deps(&cmds[n++], 0, 0, 0, 1);
  cmds[n] = qnpu_cmd_compute(cmp);
  qnpu_cmd_deps(&cmds[n++], 1, 0, 0, 1);
  cmds[n] = qnpu_cmd_store(out);
  qnpu_cmd_deps(&cmds[n++], 1, 0, 0, 0);
  plan->n_load = 3;
  plan->n_compute = 1;
  plan->n_store = 1;
  plan->commands = n;
  /* command fetches, and every beat the loads read */
  plan->rd_bytes = (uint64_t)QNPU_CMD_BYTES * n;
  for (uint32_t i = 0; i < plan->n_load; i++) {
    const qnpu_walk_t w = qnpu_walk_of_cmd(cmds[i].w);
    plan->rd_bytes += QNPU_BEAT_BYTES * qnpu_walk_beats(&w);
  }
}

/* Decodes m rows of n values from a tile's output buffer. */
static qnpu_status_t read_rows(qnpu_dev_t *dev, const qnpu_tile_plan_t *plan, uint32_t mode, int bypass, int32_t m,
                               int32_t n, int32_t *out) {
  uint8_t *buf = malloc(plan->out_bytes);
  if (!buf) return QNPU_ERR_NOMEM;
  const qnpu_status_t st = qnpu_drv_read(dev, plan->out_addr, buf, plan->out_bytes);
  if (st) {
    free(buf);
    return st;
  }
  const uint32_t orow = plan->out_bytes / (uint32_t)m;
  for (int32_t r = 0; r < m; r++) {
    const uint8_t *row = buf + (size_t)r * orow;
    if (mode == QNPU_MODE_W4A4 && !bypass) {
      int8_t v[256];
      qnpu_golden_unpack_int4(row, (size_t)n, v);
      for (int32_t j = 0; j < n; j++) out[(size_t)r * n + j] = v[j];
      continue;
    }
    for (int32_t j = 0; j < n; j++)
      out[(size_t)r * n + j] =
          bypass ? (int32_t)((uint32_t)row[4 * j] | (uint32_t)row[4 * j + 1] << 8 | (uint32_t)row[4 * j + 2] << 16 |
                             (uint32_t)row[4 * j + 3] << 24)
                 : (int8_t)row[j];
  }
  free(buf);
  return QNPU_OK;
}

qnpu_status_t qnpu_tile_prepare(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan, qnpu_cmd_t *cmds) {
  const qnpu_dev_info_t *in = qnpu_drv_info(dev);
  if (!in || !t || !plan || !t->a || !t->b || (!t->bypass && (!t->m0 || !t->shift)) || t->mode > QNPU_MODE_W4A4 ||
      t->m < 1 || t->k < 1 || t->n < 1)
    return QNPU_ERR_ARG;
  const uint32_t R = in->rows, C = in->cols;
  const uint32_t kf = t->mode == QNPU_MODE_W4A4 ? 2 * R : R;       /* K per fold       */
  const uint32_t folds = ((uint32_t)t->k + kf - 1) / kf;
  const uint32_t wrows = t->mode == QNPU_MODE_W4A8 ? R / 2 : R;    /* weight rows/fold */
  const uint32_t m = (uint32_t)t->m;
  if (!cmds || (uint32_t)t->n > C || t->pbank > 1 || folds > 0xffffu ||
      t->acc_row0 + (uint64_t)m > in->acc_depth || t->act_row0 + (uint64_t)folds * m > in->act_rows ||
      t->wgt_row0 + (uint64_t)folds * wrows > in->wgt_rows || t->out_row0 + (uint64_t)m > in->out_rows)
    return QNPU_ERR_ARG;

  /* Activations: [m][folds*R bytes] (K pairs packed in W4A4); weights:
   * [folds][wrows][C] (W4A8/W4A4: K pairs in the nibbles, even k low). */
  const uint32_t arow = folds * R;
  const size_t a_bytes = (size_t)m * arow, b_bytes = (size_t)folds * wrows * C;
  uint8_t *A = calloc(a_bytes, 1), *B = calloc(b_bytes, 1), *P = calloc(QNPU_PRM_RECORD_BYTES, C);
  int8_t *tmp = calloc((size_t)t->k + 1, 1);
  qnpu_status_t st = (!A || !B || !P || !tmp) ? QNPU_ERR_NOMEM : QNPU_OK;
  for (uint32_t r = 0; r < m && !st; r++) {
    const int8_t *src = t->a + (size_t)r * t->k;
    if (t->mode == QNPU_MODE_W4A4) st = pack4(src, (size_t)t->k, 1, A + (size_t)r * arow, tmp);
    else memcpy(A + (size_t)r * arow, src, (size_t)t->k);
  }
  for (uint32_t j = 0; j < (uint32_t)t->n && !st; j++)
    for (uint32_t f = 0; f < folds && !st; f++) {
      const uint32_t k0 = f * kf, nk = (uint32_t)t->k - k0 < kf ? (uint32_t)t->k - k0 : kf;
      const int8_t *src = t->b + (size_t)k0 * t->n + j;
      uint8_t col[256];
      memset(col, 0, sizeof col);
      if (t->mode == QNPU_MODE_W8A8) {
        for (uint32_t i = 0; i < nk; i++) col[i] = (uint8_t)src[(size_t)i * t->n];
      } else {
        st = pack4(src, nk, (size_t)t->n, col, tmp);
      }
      for (uint32_t i = 0; i < wrows; i++) B[((size_t)f * wrows + i) * C + j] = col[i];
    }
  int64_t *wsum = calloc((size_t)t->n, sizeof *wsum);
  if (!wsum && !st) st = QNPU_ERR_NOMEM;
  for (int32_t j = 0; j < t->n && !st; j++)
    for (int32_t k = 0; k < t->k; k++) wsum[j] += t->b[(size_t)k * t->n + j];
  const rq_side_t q = {t->bias, t->m0, t->shift, t->zx, t->zp, t->act_min, t->act_max, t->bypass};
  if (!st) encode_params(&q, wsum, (uint32_t)t->n, C, P);
  free(wsum);
  free(tmp);

  uint32_t tgt, orow;
  out_format(t->mode, t->bypass, (uint32_t)t->n, &tgt, &orow);
  uint64_t addr[4] = {0, 0, 0, 0};
  st = place(dev, st, A, a_bytes, B, b_bytes, P, (size_t)QNPU_PRM_RECORD_BYTES * C, (size_t)m * orow, addr);
  if (st) return st;
  const uint64_t a_addr = addr[0], b_addr = addr[1], p_addr = addr[2], o_addr = addr[3];

  /* LOAD parameters, weights, activations (activation row act_row0 + r*folds
   * + f <- A[r][f*R ..]); one COMPUTE over every fold; STORE. */
  memset(plan, 0, sizeof *plan);
  const qnpu_xfer_t prm = {.target = t->pbank ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0, .spad_row = 0,
                           .dram_addr = (uint32_t)p_addr, .len = QNPU_PRM_RECORD_BYTES * C,
                           .count1 = 1, .count2 = 1, .count3 = 1};
  const qnpu_xfer_t wgt = {.target = QNPU_TGT_LOAD_WGT, .spad_row = t->wgt_row0, .dram_addr = (uint32_t)b_addr,
                           .len = C, .count1 = folds * wrows, .count2 = 1, .count3 = 1, .stride1 = C};
  const qnpu_xfer_t act = {.target = QNPU_TGT_LOAD_ACT, .spad_row = t->act_row0, .dram_addr = (uint32_t)a_addr,
                           .len = R, .count1 = m * folds, .count2 = 1, .count3 = 1, .stride1 = R};
  const qnpu_compute_t cmp = {.mode = t->mode, .a_row = t->act_row0, .w_row = t->wgt_row0,
                              .acc_row = t->acc_row0, .out_row = t->out_row0, .mx = m, .my = 1, .as_x = folds,
                              .f1 = folds, .f2 = 1, .f3 = 1, .fs1 = 1, .first = 1, .last = 1, .pbank = t->pbank};
  const qnpu_xfer_t out = {.target = tgt, .spad_row = t->out_row0, .dram_addr = (uint32_t)o_addr, .len = orow,
                           .count1 = m, .count2 = 1, .count3 = 1, .stride1 = orow};
  tile_commands(&prm, &wgt, &act, &cmp, &out, plan, cmds);
  plan->macs = (uint64_t)m * folds * R * C * (t->mode == QNPU_MODE_W4A4 ? 2 : 1);
  plan->wr_bytes = (uint64_t)m * orow;
  plan->out_addr = o_addr;
  plan->out_bytes = m * orow;
  return QNPU_OK;
}

qnpu_status_t qnpu_tile_submit(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan) {
  qnpu_cmd_t cmds[QNPU_TILE_MAX_CMDS + 1];
  const qnpu_status_t st = qnpu_tile_prepare(dev, t, plan, cmds);
  if (st) return st;
  const uint32_t n = plan->commands;
  cmds[n] = qnpu_cmd_fence(1);
  plan->commands = n + 1;
  plan->rd_bytes += QNPU_CMD_BYTES; /* the fence is fetched too */
  return qnpu_drv_submit(dev, cmds, n + 1);
}

qnpu_status_t qnpu_tile_result(qnpu_dev_t *dev, const qnpu_tile_t *t, const qnpu_tile_plan_t *plan, int32_t *out) {
  if (!dev || !t || !plan || !out) return QNPU_ERR_ARG;
  return read_rows(dev, plan, t->mode, t->bypass, t->m, t->n, out);
}

qnpu_status_t qnpu_tile_run(qnpu_dev_t *dev, const qnpu_tile_t *t, uint64_t timeout_cycles, int32_t *out,
                            qnpu_tile_plan_t *plan) {
  qnpu_tile_plan_t local;
  if (!plan) plan = &local;
  qnpu_status_t st = qnpu_tile_submit(dev, t, plan);
  if (st) return st;
  if ((st = qnpu_drv_wait(dev, timeout_cycles))) return st;
  return qnpu_tile_result(dev, t, plan, out);
}

/* ---- convolution tile ----------------------------------------------------------- */

int32_t qnpu_conv_tile_oh(const qnpu_conv_tile_t *t) {
  return qnpu_golden_conv_out_dim(t->h, t->kh, t->stride_h, t->dil_h, t->pad_top, t->pad_bottom);
}

int32_t qnpu_conv_tile_ow(const qnpu_conv_tile_t *t) {
  return qnpu_golden_conv_out_dim(t->w, t->kw, t->stride_w, t->dil_w, t->pad_left, t->pad_right);
}

qnpu_status_t qnpu_conv_tile_prepare(qnpu_dev_t *dev, const qnpu_conv_tile_t *t, qnpu_tile_plan_t *plan,
                                     qnpu_cmd_t *cmds) {
  const qnpu_dev_info_t *in = qnpu_drv_info(dev);
  if (!in || !t || !plan || !cmds || !t->input || !t->filter || (!t->bypass && (!t->m0 || !t->shift)) ||
      t->mode > QNPU_MODE_W4A4 || t->h < 1 || t->w < 1 || t->c < 1 || t->o < 1 || t->kh < 1 || t->kw < 1 ||
      t->stride_h < 1 || t->stride_w < 1 || t->dil_h < 1 || t->dil_w < 1 || t->pad_top < 0 || t->pad_left < 0 ||
      t->pad_bottom < 0 || t->pad_right < 0 || t->pad_top > 15 || t->pad_left > 15 || t->pad_bottom > 15 ||
      t->pad_right > 15 || t->pbank > 1)
    return QNPU_ERR_ARG;
  const uint32_t R = in->rows, C = in->cols;
  const int w4a4 = t->mode == QNPU_MODE_W4A4;
  const uint32_t kf = w4a4 ? 2 * R : R;                            /* channels per chunk */
  const uint32_t ch = ((uint32_t)t->c + kf - 1) / kf;              /* chunks per pixel   */
  const uint32_t wrows = t->mode == QNPU_MODE_W4A8 ? R / 2 : R;
  const int32_t oh = qnpu_conv_tile_oh(t), ow = qnpu_conv_tile_ow(t);
  const uint32_t ph = (uint32_t)(t->h + t->pad_top + t->pad_bottom), pw = (uint32_t)(t->w + t->pad_left + t->pad_right);
  const uint32_t m = (uint32_t)(oh * ow), folds = ch * (uint32_t)t->kw * (uint32_t)t->kh;
  if (oh < 1 || ow < 1 || (uint32_t)t->o > C || t->acc_row0 + (uint64_t)m > in->acc_depth ||
      t->out_row0 + (uint64_t)m > in->out_rows || t->act_row0 + (uint64_t)ph * pw * ch > in->act_rows ||
      t->wgt_row0 + (uint64_t)folds * wrows > in->wgt_rows || folds * wrows > 0xffffu)
    return QNPU_ERR_ARG;

  /* Input in DRAM: [h][w][ch*R bytes], channels zero-padded to whole chunks
   * (the weights of padded channels are 0). */
  const uint32_t pix = ch * R;
  const size_t a_bytes = (size_t)t->h * t->w * pix, b_bytes = (size_t)folds * wrows * C;
  uint8_t *A = calloc(a_bytes, 1), *B = calloc(b_bytes, 1), *P = calloc(QNPU_PRM_RECORD_BYTES, C);
  int8_t *tmp = calloc((size_t)ch * kf, 1);
  int64_t *wsum = calloc((size_t)t->o, sizeof *wsum);
  qnpu_status_t st = (!A || !B || !P || !tmp || !wsum) ? QNPU_ERR_NOMEM : QNPU_OK;
  for (int32_t p = 0; p < t->h * t->w && !st; p++) {
    const int8_t *src = t->input + (size_t)p * t->c;
    if (w4a4) st = qnpu_golden_pack_int4(src, (size_t)t->c, A + (size_t)p * pix);
    else memcpy(A + (size_t)p * pix, src, (size_t)t->c);
  }
  /* Weights: fold g = (ky*KW + kx)*ch + c' holds channels c'*kf.. of tap
   * (ky, kx), PE row i = channel c'*kf + i (W4A4: pairs; W4A8: two per row). */
  for (int32_t o = 0; o < t->o && !st; o++)
    for (int32_t ky = 0; ky < t->kh && !st; ky++)
      for (int32_t kx = 0; kx < t->kw && !st; kx++) {
        const int8_t *src = t->filter + (((size_t)o * t->kh + ky) * t->kw + kx) * t->c;
        for (int32_t c = 0; c < t->c; c++) wsum[o] += src[c];
        memset(tmp, 0, (size_t)ch * kf);
        memcpy(tmp, src, (size_t)t->c);
        for (uint32_t cc = 0; cc < ch && !st; cc++) {
          const uint32_t g = ((uint32_t)ky * (uint32_t)t->kw + (uint32_t)kx) * ch + cc;
          uint8_t col[256];
          if (t->mode == QNPU_MODE_W8A8) memcpy(col, tmp + cc * kf, R);
          else st = qnpu_golden_pack_int4(tmp + cc * kf, t->mode == QNPU_MODE_W4A4 ? 2 * R : R, col);
          for (uint32_t i = 0; i < wrows; i++) B[((size_t)g * wrows + i) * C + (uint32_t)o] = col[i];
        }
      }
  const rq_side_t q = {t->bias, t->m0, t->shift, t->zx, t->zp, t->act_min, t->act_max, t->bypass};
  if (!st) encode_params(&q, wsum, (uint32_t)t->o, C, P);
  free(tmp);
  free(wsum);

  uint32_t tgt, orow;
  out_format(t->mode, t->bypass, (uint32_t)t->o, &tgt, &orow);
  uint64_t addr[4] = {0, 0, 0, 0};
  st = place(dev, st, A, a_bytes, B, b_bytes, P, (size_t)QNPU_PRM_RECORD_BYTES * C, (size_t)m * orow, addr);
  if (st) return st;

  /* The padded patch: scratchpad row act_row0 + (y*pw + x)*ch + c' holds
   * chunk c' of padded pixel (y, x); its DRAM origin is pad_top rows and
   * pad_left pixels before the input (addresses wrap). */
  const uint32_t fill = w4a4 ? ((uint32_t)t->zx & 15u) * 0x11u : (uint32_t)t->zx & 0xffu;
  const uint32_t origin = (uint32_t)addr[0] - (uint32_t)t->pad_top * (uint32_t)t->w * pix - (uint32_t)t->pad_left * pix;
  memset(plan, 0, sizeof *plan);
  const qnpu_xfer_t prm = {.target = t->pbank ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0,
                           .dram_addr = (uint32_t)addr[2], .len = QNPU_PRM_RECORD_BYTES * C,
                           .count1 = 1, .count2 = 1, .count3 = 1};
  const qnpu_xfer_t wgt = {.target = QNPU_TGT_LOAD_WGT, .spad_row = t->wgt_row0, .dram_addr = (uint32_t)addr[1],
                           .len = C, .count1 = folds * wrows, .count2 = 1, .count3 = 1, .stride1 = C};
  const qnpu_xfer_t act = {.target = QNPU_TGT_LOAD_ACT, .spad_row = t->act_row0, .dram_addr = origin, .len = R,
                           .count1 = ch, .count2 = pw, .count3 = ph, .stride1 = R, .stride2 = pix,
                           .stride3 = (uint32_t)t->w * pix, .pad_xlo = (uint32_t)t->pad_left,
                           .pad_xhi = (uint32_t)t->pad_right, .pad_ylo = (uint32_t)t->pad_top,
                           .pad_yhi = (uint32_t)t->pad_bottom, .fill = fill};
  const qnpu_compute_t cmp = {.mode = t->mode, .a_row = t->act_row0, .w_row = t->wgt_row0, .acc_row = t->acc_row0,
                              .out_row = t->out_row0, .mx = (uint32_t)ow, .my = (uint32_t)oh,
                              .as_x = (uint32_t)t->stride_w * ch, .as_y = (uint32_t)t->stride_h * pw * ch,
                              .f1 = ch, .f2 = (uint32_t)t->kw, .f3 = (uint32_t)t->kh, .fs1 = 1,
                              .fs2 = (uint32_t)t->dil_w * ch, .fs3 = (uint32_t)t->dil_h * pw * ch,
                              .first = 1, .last = 1, .pbank = t->pbank};
  const qnpu_xfer_t out = {.target = tgt, .spad_row = t->out_row0, .dram_addr = (uint32_t)addr[3], .len = orow,
                           .count1 = m, .count2 = 1, .count3 = 1, .stride1 = orow};
  tile_commands(&prm, &wgt, &act, &cmp, &out, plan, cmds);
  plan->macs = (uint64_t)m * folds * R * C * (w4a4 ? 2 : 1);
  plan->wr_bytes = (uint64_t)m * orow;
  plan->out_addr = addr[3];
  plan->out_bytes = m * orow;
  return QNPU_OK;
}

qnpu_status_t qnpu_conv_tile_result(qnpu_dev_t *dev, const qnpu_conv_tile_t *t, const qnpu_tile_plan_t *plan,
                                    int32_t *out) {
  if (!dev || !t || !plan || !out) return QNPU_ERR_ARG;
  return read_rows(dev, plan, t->mode, t->bypass, qnpu_conv_tile_oh(t) * qnpu_conv_tile_ow(t), t->o, out);
}
