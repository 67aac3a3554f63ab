/* qnpu_tile.c - one GEMM tile through the driver (qnpu_tile.h). */
#include "qnpu_tile.h"

#include <stdlib.h>
#include <string.h>

static uint32_t beats(uint64_t addr, uint64_t len) {
  return (uint32_t)((((addr + len - 1) & ~15ull) - (addr & ~15ull)) / 16 + 1);
}

qnpu_status_t qnpu_tile_prepare(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan, qnpu_cmd_t *cmds) {
  const qnpu_dev_info_t *in = qnpu_drv_info(dev);
  if (!in || !t || !plan || !t->a || !t->b || (!t->bypass && (!t->m0 || !t->shift)) || t->mode > 2 ||
      t->m < 1 || t->k < 1 || t->n < 1)
    return QNPU_ERR_ARG;
  const uint32_t R = in->rows, C = in->cols;
  const uint32_t kf = t->mode == 2 ? 2 * R : R;                 /* K per fold       */
  const uint32_t folds = ((uint32_t)t->k + kf - 1) / kf;
  const uint32_t wrows = t->mode == 1 ? R / 2 : R;              /* weight rows/fold */
  const uint32_t m = (uint32_t)t->m;
  if (!cmds || (uint32_t)t->n > C || m > in->acc_depth || t->pbank > 1 ||
      t->act_row0 + (uint64_t)folds * m > in->act_rows || t->wgt_row0 + (uint64_t)folds * wrows > in->wgt_rows ||
      t->out_row0 + (uint64_t)m > in->out_rows || 5 + folds > QNPU_TILE_MAX_CMDS)
    return QNPU_ERR_ARG;

  /* Activations: [m][folds*R bytes]; W4A4 packs two K values per byte. */
  const uint32_t arow = folds * R;
  uint8_t *A = calloc((size_t)m * arow, 1);
  /* Weights: [folds][wrows][C]; W4A8/W4A4: K pairs in the nibbles. */
  uint8_t *B = calloc((size_t)folds * wrows * C, 1);
  uint8_t *P = calloc(16u * C, 1);
  if (!A || !B || !P) {
    free(A);
    free(B);
    free(P);
    return QNPU_ERR_NOMEM;
  }
  for (uint32_t r = 0; r < m; r++)
    for (uint32_t k = 0; k < (uint32_t)t->k; k++) {
      const uint8_t v = (uint8_t)t->a[(size_t)r * t->k + k];
      if (t->mode == 2) A[(size_t)r * arow + k / 2] |= (uint8_t)((v & 15u) << (4 * (k & 1)));
      else A[(size_t)r * arow + k] = v;
    }
  for (uint32_t k = 0; k < (uint32_t)t->k; k++)
    for (uint32_t j = 0; j < (uint32_t)t->n; j++) {
      const uint8_t v = (uint8_t)t->b[(size_t)k * t->n + j];
      const uint32_t f = k / kf, i = k % kf;
      if (t->mode == 0) B[((size_t)f * wrows + i) * C + j] = v;
      else B[((size_t)f * wrows + i / 2) * C + j] |= (uint8_t)((v & 15u) << (4 * (i & 1)));
    }
  for (uint32_t j = 0; j < C; j++) {
    uint8_t *r = P + 16 * j;
    int64_t colsum = 0;
    for (int32_t k = 0; j < (uint32_t)t->n && k < t->k; k++) colsum += t->b[(size_t)k * t->n + j];
    const int real = j < (uint32_t)t->n;
    const uint32_t bias = (real && t->bias ? (uint32_t)t->bias[j] : 0u) - (uint32_t)((int64_t)t->zx * colsum);
    const uint32_t m0 = real && !t->bypass ? (uint32_t)t->m0[j] : 0u;
    const int32_t sh = real && !t->bypass ? t->shift[j] : 0;
    for (int b = 0; b < 4; b++) {
      r[b] = (uint8_t)(bias >> (8 * b));
      r[4 + b] = (uint8_t)(m0 >> (8 * b));
    }
    r[8] = (uint8_t)sh;
    r[9] = t->bypass ? 1 : 0;
    r[10] = (uint8_t)t->zp;
    r[11] = (uint8_t)((uint32_t)t->zp >> 8);
    r[12] = (uint8_t)t->act_min;
    r[13] = (uint8_t)((uint32_t)t->act_min >> 8);
    r[14] = (uint8_t)t->act_max;
    r[15] = (uint8_t)((uint32_t)t->act_max >> 8);
  }

  /* Output: int32 (bypass), packed int4 (W4A4) or int8 rows of N. */
  const uint32_t tgt = t->bypass ? QNPU_TGT_STORE_OUT32 : t->mode == 2 ? QNPU_TGT_STORE_OUT4 : QNPU_TGT_STORE_OUT8;
  const uint32_t orow = t->bypass ? 4u * (uint32_t)t->n : t->mode == 2 ? ((uint32_t)t->n + 1) / 2 : (uint32_t)t->n;

  uint64_t a_addr, b_addr, p_addr, o_addr;
  qnpu_status_t st;
  if ((st = qnpu_drv_alloc(dev, (size_t)m * arow, 16, &a_addr)) ||
      (st = qnpu_drv_alloc(dev, (size_t)folds * wrows * C, 16, &b_addr)) ||
      (st = qnpu_drv_alloc(dev, 16u * C, 16, &p_addr)) ||
      (st = qnpu_drv_alloc(dev, (size_t)m * orow, 16, &o_addr)) ||
      (st = qnpu_drv_write(dev, a_addr, A, (size_t)m * arow)) ||
      (st = qnpu_drv_write(dev, b_addr, B, (size_t)folds * wrows * C)) ||
      (st = qnpu_drv_write(dev, p_addr, P, 16u * C))) {
    free(A);
    free(B);
    free(P);
    return st;
  }
  free(A);
  free(B);
  free(P);

  uint32_t n = 0;
  memset(plan, 0, sizeof *plan);
  const uint32_t prm_tgt = t->pbank ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0;
  const qnpu_xfer_t prm = {prm_tgt, 0, (uint32_t)p_addr, 16u * C, 1, 1, 0, 0};
  const qnpu_xfer_t wgt = {QNPU_TGT_LOAD_WGT, t->wgt_row0, (uint32_t)b_addr, C, folds * wrows, 1, C, 0};
  /* activation rows act_row0 + f*m + r <- A[r][f*R .. f*R + R - 1] */
  const qnpu_xfer_t act = {QNPU_TGT_LOAD_ACT, t->act_row0, (uint32_t)a_addr, R, m, folds, arow, R};
  cmds[n++] = qnpu_cmd_load(&prm);
  cmds[n++] = qnpu_cmd_load(&wgt);
  cmds[n] = qnpu_cmd_load(&act);
  qnpu_cmd_deps(&cmds[n++], 0, 0, 0, 1);
  for (uint32_t f = 0; f < folds; f++) {
    cmds[n] = qnpu_cmd_compute(t->mode, t->act_row0 + f * m, t->wgt_row0 + f * wrows, m, t->out_row0, f == 0,
                               f == folds - 1, t->pbank);
    qnpu_cmd_deps(&cmds[n++], f == 0, 0, 0, f == folds - 1);
  }
  const qnpu_xfer_t out = {tgt, t->out_row0, (uint32_t)o_addr, orow, m, 1, orow, 0};
  cmds[n] = qnpu_cmd_store(&out);
  qnpu_cmd_deps(&cmds[n++], 1, 0, 0, 0);
  plan->n_load = 3;
  plan->n_compute = folds;
  plan->n_store = 1;
  plan->commands = n;
  plan->macs = (uint64_t)m * folds * R * C * (t->mode == 2 ? 2 : 1);
  plan->rd_bytes = 32ull * n + 16ull * C; /* command fetches and parameter records */
  /* weight rows are C bytes each; every row is fetched as whole beats */
  for (uint32_t r = 0; r < folds * wrows; r++) plan->rd_bytes += 16ull * beats(b_addr + (uint64_t)r * C, C);
  for (uint32_t f = 0; f < folds; f++)
    for (uint32_t r = 0; r < m; r++) plan->rd_bytes += 16ull * beats(a_addr + (uint64_t)r * arow + f * R, R);
  plan->wr_bytes = (uint64_t)m * orow;
  plan->out_addr = o_addr;
  plan->out_bytes = m * orow;
  return QNPU_OK;
}

qnpu_status_t qnpu_tile_submit(qnpu_dev_t *dev, const qnpu_tile_t *t, qnpu_tile_plan_t *plan) {
  qnpu_cmd_t cmds[QNPU_TILE_MAX_CMDS + 1];
  const qnpu_status_t st = qnpu_tile_prepare(dev, t, plan, cmds);
  if (st) return st;
  const uint32_t n = plan->n_load + plan->n_compute + plan->n_store;
  cmds[n] = qnpu_cmd_fence(1);
  plan->commands = n + 1;
  plan->rd_bytes += 32; /* the fence is fetched too */
  return qnpu_drv_submit(dev, cmds, n + 1);
}

qnpu_status_t qnpu_tile_result(qnpu_dev_t *dev, const qnpu_tile_t *t, const qnpu_tile_plan_t *plan, int32_t *out) {
  if (!dev || !t || !plan || !out) return QNPU_ERR_ARG;
  uint8_t *buf = malloc(plan->out_bytes);
  if (!buf) return QNPU_ERR_NOMEM;
  const qnpu_status_t st = qnpu_drv_read(dev, plan->out_addr, buf, plan->out_bytes);
  if (st) {
    free(buf);
    return st;
  }
  const uint32_t orow = plan->out_bytes / (uint32_t)t->m;
  for (int32_t r = 0; r < t->m; r++)
    for (int32_t j = 0; j < t->n; j++) {
      const uint8_t *row = buf + (size_t)r * orow;
      int32_t v;
      if (t->bypass)
        v = (int32_t)((uint32_t)row[4 * j] | (uint32_t)row[4 * j + 1] << 8 | (uint32_t)row[4 * j + 2] << 16 |
                      (uint32_t)row[4 * j + 3] << 24);
      else if (t->mode == 2)
        v = (int32_t)(((row[j / 2] >> (4 * (j & 1))) & 15u) ^ 8u) - 8;
      else
        v = (int8_t)row[j];
      out[(size_t)r * t->n + j] = v;
    }
  free(buf);
  return QNPU_OK;
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
