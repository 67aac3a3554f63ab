/* test_sim.c - the accelerator on the Verilator model, through the driver:
 * each command type, GEMM tiles in every precision against the golden
 * model and byte for byte against the fast model, performance counters,
 * and every error path ending in an error status (never a hang). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim_fixture.h"

static void test_sim_open_checks_configuration(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const qnpu_sim_shape_t sh = qnpu_sim_shape(f->sim);
  assert_int_equal(in->rows, sh.rows);
  assert_int_equal(in->cols, sh.cols);
  assert_int_equal(in->precisions, 7);
  assert_int_equal(in->data_bytes, 16);
  assert_true(in->act_rows >= 64 && in->acc_depth >= 16);
  const qnpu_dev_expect_t wrong = {sh.rows + 2, 0};
  qnpu_dev_t *d = (qnpu_dev_t *)1;
  assert_int_equal(qnpu_drv_open(&f->hal_sim, &wrong, NULL, &d), QNPU_ERR_UNSUPPORTED);
  const qnpu_dev_expect_t right = {sh.rows, sh.cols};
  assert_int_equal(qnpu_drv_open(&f->hal_sim, &right, NULL, &d), QNPU_OK);
  qnpu_drv_close(d);
}

/* LOAD then STORE through the activation and weight scratchpads with odd
 * alignments and strides: DRAM must hold exactly the gathered rows. */
static void test_sim_load_store_strided(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {test_master_seed()};
  const uint64_t src = 0x10003, dst = 0x40005, dst2 = 0x60000;
  uint8_t data[8192];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)rng_next(&r);
  write_both(f, src, data, sizeof data);
  uint8_t guard[4096];
  memset(guard, 0xA5, sizeof guard);
  write_both(f, dst - 64, guard, sizeof guard);
  write_both(f, dst2 - 64, guard, sizeof guard);
  const uint32_t c1 = 5, c2 = 3, s1 = 37, s2 = 301, len = in->rows - 1, wlen = in->cols;
  const qnpu_xfer_t la = {.target = QNPU_TGT_LOAD_ACT, .spad_row = 7, .dram_addr = (uint32_t)src, .len = len,
                          .count1 = c1, .count2 = c2, .count3 = 1, .stride1 = s1, .stride2 = s2};
  const uint32_t sstride = in->rows + 3; /* odd, and room for a whole row */
  const qnpu_xfer_t sa = {.target = QNPU_TGT_STORE_ACT, .spad_row = 7, .dram_addr = (uint32_t)dst, .len = in->rows,
                          .count1 = c1 * c2, .count2 = 1, .count3 = 1, .stride1 = sstride};
  const qnpu_xfer_t lw = {.target = QNPU_TGT_LOAD_WGT, .spad_row = 3, .dram_addr = (uint32_t)src + 11, .len = wlen,
                          .count1 = 4, .count2 = 2, .count3 = 1, .stride1 = 53, .stride2 = 1000};
  const qnpu_xfer_t sw = {.target = QNPU_TGT_STORE_WGT, .spad_row = 3, .dram_addr = (uint32_t)dst2, .len = wlen,
                          .count1 = 8, .count2 = 1, .count3 = 1, .stride1 = wlen + 3};
  /* Phase 1 loads, phase 2 stores; the fence between makes the stores see
   * the loaded rows (the engines run concurrently otherwise). */
  const qnpu_cmd_t c[4] = {qnpu_cmd_load(&la), qnpu_cmd_load(&lw), qnpu_cmd_store(&sa), qnpu_cmd_store(&sw)};
  const qnpu_cmd_t phase1[3] = {c[0], c[1], qnpu_cmd_fence(0)};
  run_both(f, phase1, 3, 0, 0x1000);
  const qnpu_cmd_t phase2[3] = {c[2], c[3], qnpu_cmd_fence(0)};
  run_both(f, phase2, 3, 0x3ff00, 0x70000);
  uint8_t got[4096];
  assert_int_equal(qnpu_drv_read(f->dev, dst - 64, got, sizeof got), QNPU_OK);
  for (uint32_t i2 = 0; i2 < c2; i2++)
    for (uint32_t i1 = 0; i1 < c1; i1++) {
      const uint32_t row = i2 * c1 + i1;
      const uint8_t *want = data + i2 * s2 + i1 * s1;
      const uint8_t *g = got + 64 + row * sstride;
      assert_memory_equal(g, want, len);
      assert_int_equal(g[len], 0); /* the row was zero-padded to Rows bytes */
    }
  assert_int_equal(got[63], 0xA5);                       /* before the first row */
  assert_int_equal(got[64 + (c1 * c2 - 1) * sstride + in->rows], 0xA5); /* after the last */
  assert_int_equal(qnpu_drv_read(f->dev, dst2 - 64, got, sizeof got), QNPU_OK);
  for (uint32_t row = 0; row < 8; row++) {
    const uint8_t *want = data + 11 + (row / 4) * 1000 + (row % 4) * 53;
    assert_memory_equal(got + 64 + row * (wlen + 3), want, wlen);
    assert_int_equal(got[64 + row * (wlen + 3) + wlen], 0xA5); /* stride gap untouched */
  }
}

/* ---- GEMM tiles ------------------------------------------------------------------ */

static void gemm_case(fixture_t *f, uint32_t mode, int bypass, uint64_t seed) {
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {seed};
  const int32_t kf = mode == 2 ? 2 * (int32_t)in->rows : (int32_t)in->rows;
  qnpu_tile_t t;
  memset(&t, 0, sizeof t);
  t.mode = mode;
  t.m = 24;
  t.k = 3 * kf;
  t.n = (int32_t)in->cols;
  const int alo = mode == 2 ? -8 : -128, ahi = mode == 2 ? 7 : 127, wlo = mode == 0 ? -128 : -8,
            whi = mode == 0 ? 127 : 7;
  int8_t *a = malloc((size_t)t.m * t.k), *b = malloc((size_t)t.k * t.n);
  int32_t bias[64], m0[64], sh[64];
  for (int i = 0; i < t.m * t.k; i++) a[i] = (int8_t)rng_range(&r, alo, ahi);
  for (int i = 0; i < t.k * t.n; i++) b[i] = (int8_t)rng_range(&r, wlo, whi);
  for (int j = 0; j < t.n; j++) {
    bias[j] = rng_range(&r, -5000, 5000);
    m0[j] = rng_range(&r, 1 << 30, INT32_MAX);
    sh[j] = rng_range(&r, -12, 1);
  }
  t.a = a;
  t.b = b;
  t.zx = rng_range(&r, alo, ahi);
  t.bias = bias;
  t.m0 = m0;
  t.shift = sh;
  t.zp = rng_range(&r, mode == 2 ? -8 : -128, mode == 2 ? 7 : 127);
  t.act_min = mode == 2 ? -8 : -128;
  t.act_max = mode == 2 ? 7 : 127;
  t.bypass = bypass;
  int32_t *want = malloc(sizeof(int32_t) * (size_t)t.m * t.n), *got = malloc(sizeof(int32_t) * (size_t)t.m * t.n);
  const qnpu_requant_t rq = {.mode = bypass ? QNPU_REQUANT_NONE : QNPU_REQUANT_TFLITE_Q31, .per_channel = 1,
                             .multiplier = m0, .shift = sh, .output_zero_point = t.zp, .act_min = t.act_min,
                             .act_max = t.act_max};
  assert_int_equal(qnpu_golden_gemm(t.m, t.k, t.n, t.zx, 0, &rq, a, b, bias, want), QNPU_OK);

  qnpu_drv_free_all(f->dev);
  qnpu_drv_free_all(f->fdev);
  qnpu_counters_t cs, cf;
  assert_int_equal(qnpu_drv_clear_counters(f->dev), QNPU_OK);
  assert_int_equal(qnpu_drv_clear_counters(f->fdev), QNPU_OK);
  qnpu_tile_plan_t plan, fplan;
  const uint64_t c0 = qnpu_sim_cycles(f->sim);
  const qnpu_status_t rst = qnpu_tile_run(f->dev, &t, 5000000, got, &plan);
  if (rst != QNPU_OK) {
    qnpu_hw_error_t e;
    if (qnpu_drv_hw_error(f->dev, &e) != QNPU_OK) snprintf(e.message, sizeof e.message, "unreadable");
    fail_msg("mode %u: tile run failed: %s (%s)", mode, qnpu_status_str(rst), e.message);
  }
  const uint64_t cyc = qnpu_sim_cycles(f->sim) - c0;
  for (int i = 0; i < t.m * t.n; i++)
    if (got[i] != want[i])
      fail_msg("mode %u%s: out[%d][%d] = %d, golden %d; repro: QNPU_SEED=%llu build/tests/test_sim", mode,
               bypass ? " bypass" : "", i / t.n, i % t.n, got[i], want[i], (unsigned long long)test_master_seed());
  assert_int_equal(qnpu_drv_counters(f->dev, &cs), QNPU_OK);
  /* The same command stream on the fast model: same result, same DRAM. */
  int32_t *fgot = malloc(sizeof(int32_t) * (size_t)t.m * t.n);
  assert_int_equal(qnpu_tile_run(f->fdev, &t, 0, fgot, &fplan), QNPU_OK);
  assert_memory_equal(fgot, got, sizeof(int32_t) * (size_t)t.m * t.n);
  assert_int_equal(qnpu_drv_counters(f->fdev, &cf), QNPU_OK);
  const size_t span = (size_t)(plan.out_addr + plan.out_bytes);
  uint8_t *ds = malloc(span), *df = malloc(span);
  assert_int_equal(qnpu_drv_read(f->dev, 0, ds, span), QNPU_OK);
  assert_int_equal(qnpu_drv_read(f->fdev, 0, df, span), QNPU_OK);
  assert_memory_equal(ds, df, span);
  /* Counters agree with what ran: MACs = the tile's (K and N fill the
   * array exactly), DRAM bytes = bytes moved. */
  assert_int_equal(cs.macs, (uint64_t)t.m * t.k * t.n);
  assert_int_equal(cs.macs, plan.macs);
  assert_int_equal(cs.rd_bytes, plan.rd_bytes);
  assert_int_equal(cs.wr_bytes, plan.wr_bytes);
  assert_int_equal(cf.macs, cs.macs);
  assert_int_equal(cf.rd_bytes, cs.rd_bytes);
  assert_int_equal(cf.wr_bytes, cs.wr_bytes);
  assert_int_equal(cf.saturations, cs.saturations);
  assert_true(cs.cycles > 0 && cs.ex_busy > 0 && cs.ld_busy > 0 && cs.st_busy > 0);
  print_message("  mode %u%s: %dx%dx%d bit-exact on sim and fast model; %llu MACs, %u B read, %u B written, "
                "%u saturated, %llu cycles\n",
                mode, bypass ? " (int32)" : "", t.m, t.k, t.n, (unsigned long long)cs.macs, cs.rd_bytes,
                cs.wr_bytes, cs.saturations, (unsigned long long)cyc);
  free(a);
  free(b);
  free(want);
  free(got);
  free(fgot);
  free(ds);
  free(df);
}

static void test_sim_gemm_w8a8(void **state) { gemm_case(*state, 0, 0, test_master_seed() + 1); }
static void test_sim_gemm_w4a8(void **state) { gemm_case(*state, 1, 0, test_master_seed() + 2); }
static void test_sim_gemm_w4a4(void **state) { gemm_case(*state, 2, 0, test_master_seed() + 3); }
static void test_sim_gemm_int32_output(void **state) { gemm_case(*state, 0, 1, test_master_seed() + 4); }

/* Two tiles in one stream, the second one's operands in other scratchpad
 * rows and the other parameter bank: its loads run while the first tile
 * computes, so the engines' busy cycles add up to more than the elapsed
 * cycles. Both results bit-exact; DRAM identical on the fast model. */
static void test_sim_two_tiles_overlap_dma_and_compute(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {test_master_seed() + 9};
  const int32_t M = 48, K = 4 * (int32_t)in->rows, N = (int32_t)in->cols;
  int8_t *a[2], *b[2];
  int32_t bias[2][64], m0[2][64], sh[2][64], *want[2], *got[2];
  qnpu_tile_t t[2];
  for (int i = 0; i < 2; i++) {
    a[i] = malloc((size_t)M * K);
    b[i] = malloc((size_t)K * N);
    want[i] = malloc(sizeof(int32_t) * (size_t)M * N);
    got[i] = malloc(sizeof(int32_t) * (size_t)M * N);
    for (int k = 0; k < M * K; k++) a[i][k] = (int8_t)rng_range(&r, -128, 127);
    for (int k = 0; k < K * N; k++) b[i][k] = (int8_t)rng_range(&r, -128, 127);
    for (int j = 0; j < N; j++) {
      bias[i][j] = rng_range(&r, -9000, 9000);
      m0[i][j] = rng_range(&r, 1 << 30, INT32_MAX);
      sh[i][j] = rng_range(&r, -12, -6);
    }
    memset(&t[i], 0, sizeof t[i]);
    t[i].m = M;
    t[i].k = K;
    t[i].n = N;
    t[i].a = a[i];
    t[i].b = b[i];
    t[i].zx = rng_range(&r, -128, 127);
    t[i].bias = bias[i];
    t[i].m0 = m0[i];
    t[i].shift = sh[i];
    t[i].zp = rng_range(&r, -20, 20);
    t[i].act_min = -128;
    t[i].act_max = 127;
    t[i].act_row0 = (uint32_t)(i * K / (int32_t)in->rows * M);
    t[i].wgt_row0 = (uint32_t)(i * K);
    t[i].acc_row0 = (uint32_t)(i * M);
    t[i].out_row0 = (uint32_t)(i * M);
    t[i].pbank = (uint32_t)i;
    const qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0[i], .shift = sh[i],
                               .scale = NULL, .output_zero_point = t[i].zp, .act_min = -128, .act_max = 127};
    assert_int_equal(qnpu_golden_gemm(M, K, N, t[i].zx, 0, &rq, a[i], b[i], bias[i], want[i]), QNPU_OK);
  }
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  qnpu_counters_t cnt[2];
  qnpu_tile_plan_t plan[2][2];
  for (int d = 0; d < 2; d++) {
    qnpu_drv_free_all(devs[d]);
    qnpu_cmd_t c0[QNPU_TILE_MAX_CMDS], c1[QNPU_TILE_MAX_CMDS], all[2 * QNPU_TILE_MAX_CMDS + 1];
    assert_int_equal(qnpu_tile_prepare(devs[d], &t[0], &plan[d][0], c0), QNPU_OK);
    assert_int_equal(qnpu_tile_prepare(devs[d], &t[1], &plan[d][1], c1), QNPU_OK);
    /* loads 0, loads 1, computes+store 0, computes+store 1, fence */
    size_t n = 0;
    const uint32_t nl = plan[d][0].n_load, ne = plan[d][0].n_compute + plan[d][0].n_store;
    for (uint32_t i = 0; i < nl; i++) all[n++] = c0[i];
    for (uint32_t i = 0; i < nl; i++) all[n++] = c1[i];
    for (uint32_t i = 0; i < ne; i++) all[n++] = c0[nl + i];
    for (uint32_t i = 0; i < ne; i++) all[n++] = c1[nl + i];
    all[n++] = qnpu_cmd_fence(0);
    assert_int_equal(qnpu_drv_clear_counters(devs[d]), QNPU_OK);
    assert_int_equal(qnpu_drv_submit(devs[d], all, n), QNPU_OK);
    assert_int_equal(qnpu_drv_wait(devs[d], 5000000), QNPU_OK);
    assert_int_equal(qnpu_drv_counters(devs[d], &cnt[d]), QNPU_OK);
    for (int i = 0; i < 2; i++) {
      assert_int_equal(qnpu_tile_result(devs[d], &t[i], &plan[d][i], got[i]), QNPU_OK);
      assert_memory_equal(got[i], want[i], sizeof(int32_t) * (size_t)M * N);
    }
  }
  const qnpu_counters_t *c = &cnt[0];
  const uint64_t busy = (uint64_t)c->ld_busy + c->ex_busy + c->st_busy;
  print_message("  two tiles: %llu cycles; load busy %u, compute busy %u, store busy %u (sum %llu): %.0f%% overlap\n",
                (unsigned long long)c->cycles, c->ld_busy, c->ex_busy, c->st_busy, (unsigned long long)busy,
                100.0 * ((double)busy - (double)c->cycles) / (double)c->cycles);
  /* the engines ran at the same time: compute started before the loads
   * were done; and with one requantization unit per column (no drain tail
   * after the last tile) the busy cycles add up to more than the run */
  assert_true(c->first_row < c->ld_busy);
  if (in->req_share == 1) assert_true(busy > c->cycles);
  assert_int_equal(c->macs, 2ull * M * K * N);
  assert_int_equal(cnt[1].macs, c->macs);
  assert_int_equal(cnt[1].rd_bytes, c->rd_bytes);
  assert_int_equal(cnt[1].wr_bytes, c->wr_bytes);
  const size_t span = (size_t)(plan[0][1].out_addr + plan[0][1].out_bytes);
  assert_int_equal(span, (size_t)(plan[1][1].out_addr + plan[1][1].out_bytes));
  uint8_t *ds = malloc(span), *df = malloc(span);
  assert_int_equal(qnpu_drv_read(f->dev, 0, ds, span), QNPU_OK);
  assert_int_equal(qnpu_drv_read(f->fdev, 0, df, span), QNPU_OK);
  assert_memory_equal(ds, df, span);
  for (int i = 0; i < 2; i++) {
    free(a[i]);
    free(b[i]);
    free(want[i]);
    free(got[i]);
  }
  free(ds);
  free(df);
}

/* ---- MMIO push and fences ------------------------------------------------------ */

static void test_sim_mmio_push_and_fence_irq(void **state) {
  fixture_t *f = *state;
  qnpu_hal_t *h[2] = {&f->hal_sim, &f->hal_fm};
  qnpu_dev_t *d[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    const qnpu_cmd_t nop = qnpu_cmd_nop(), fence = qnpu_cmd_fence(1);
    assert_int_equal(qnpu_drv_push(d[k], &nop), QNPU_OK);
    assert_int_equal(qnpu_drv_push(d[k], &fence), QNPU_OK);
    assert_int_equal(qnpu_drv_wait(d[k], 100000), QNPU_OK);
    uint32_t irq = 0;
    assert_int_equal(qnpu_hal_reg_read(h[k], QNPU_IRQ_STATUS_REG_OFFSET, &irq), QNPU_OK);
    assert_int_equal(irq, 1u << QNPU_IRQ_STATUS_FENCE_SHIFT);
    assert_int_equal(qnpu_hal_reg_write(h[k], QNPU_IRQ_STATUS_REG_OFFSET, irq), QNPU_OK);
    assert_int_equal(qnpu_hal_reg_read(h[k], QNPU_IRQ_STATUS_REG_OFFSET, &irq), QNPU_OK);
    assert_int_equal(irq, 0);
  }
}

/* ---- errors: each ends in an error status, on both backends --------------------- */

static void test_sim_errors(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const uint64_t dram = 1u << 20;
  qnpu_dev_t *d[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    /* illegal opcode as the 3rd command */
    qnpu_cmd_t c[3] = {qnpu_cmd_nop(), qnpu_cmd_nop(), qnpu_cmd_nop()};
    QNPU_CMD_SET(c[2].w, OPCODE, 9);
    expect_error(f, d[k], c, 3, QNPU_HWERR_ILLEGAL_OPCODE, QNPU_ENGINE_DISPATCH, 2, "illegal opcode");
    /* illegal field: a row longer than the scratchpad row */
    const qnpu_xfer_t bad = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = in->rows + 1,
                             .count1 = 1, .count2 = 1, .count3 = 1};
    c[0] = qnpu_cmd_load(&bad);
    expect_error(f, d[k], c, 1, QNPU_HWERR_ILLEGAL_FIELD, QNPU_ENGINE_DISPATCH, 0, "row too long");
    /* illegal field: COMPUTE with M beyond the accumulators */
    c[0] = qnpu_cmd_nop();
    const qnpu_compute_t big = {.mx = in->acc_depth + 1, .my = 1, .f1 = 1, .f2 = 1, .f3 = 1, .first = 1, .last = 1};
    c[1] = qnpu_cmd_compute(&big);
    expect_error(f, d[k], c, 2, QNPU_HWERR_ILLEGAL_FIELD, QNPU_ENGINE_DISPATCH, 1, "M too large");
    /* DMA out of range on a load: the first beat past the end */
    const qnpu_xfer_t oob = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = (uint32_t)dram - 32, .len = in->rows,
                             .count1 = 4, .count2 = 1, .count3 = 1, .stride1 = 16};
    c[0] = qnpu_cmd_load(&oob);
    expect_error(f, d[k], c, 1, QNPU_HWERR_DMA, QNPU_ENGINE_LOAD, (uint32_t)dram, "load out of range");
    /* DMA out of range on a store */
    const qnpu_xfer_t soob = {.target = QNPU_TGT_STORE_WGT, .dram_addr = (uint32_t)dram + 4096, .len = in->cols,
                              .count1 = 1, .count2 = 1, .count3 = 1};
    c[0] = qnpu_cmd_store(&soob);
    expect_error(f, d[k], c, 1, QNPU_HWERR_DMA, QNPU_ENGINE_STORE, (uint32_t)dram + 4096, "store out of range");
    /* watchdog: a COMPUTE waiting for a token no LOAD will give */
    qnpu_hal_t *h = k ? &f->hal_fm : &f->hal_sim;
    assert_int_equal(qnpu_hal_reg_write(h, QNPU_WATCHDOG_REG_OFFSET, 3000), QNPU_OK);
    const qnpu_compute_t one = {.mx = 4, .my = 1, .f1 = 1, .f2 = 1, .f3 = 1, .first = 1, .last = 1};
    c[0] = qnpu_cmd_compute(&one);
    qnpu_cmd_deps(&c[0], 1, 0, 0, 0);
    expect_error(f, d[k], c, 1, QNPU_HWERR_WATCHDOG, QNPU_ENGINE_COMPUTE, 3000, "dependency deadlock");
    assert_int_equal(qnpu_hal_reg_write(h, QNPU_WATCHDOG_REG_OFFSET, QNPU_WATCHDOG_RESET), QNPU_OK);
  }
}

/* A bad ring setup is an error status, not a hang. */
static void test_sim_ring_error(void **state) {
  fixture_t *f = *state;
  qnpu_hal_t *h[2] = {&f->hal_sim, &f->hal_fm};
  qnpu_dev_t *d[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_reset(d[k]), QNPU_OK);
    assert_int_equal(qnpu_hal_reg_write(h[k], QNPU_RING_SIZE_REG_OFFSET, 3), QNPU_OK);
    assert_int_equal(qnpu_hal_reg_write(h[k], QNPU_RING_HEAD_REG_OFFSET, 1), QNPU_OK);
    const qnpu_status_t wst = qnpu_drv_wait(d[k], 100000);
    if (wst != QNPU_ERR_HW) fail_msg("backend %d: ring error not raised: %s", k, qnpu_status_str(wst));
    qnpu_hw_error_t e;
    assert_int_equal(qnpu_drv_hw_error(d[k], &e), QNPU_OK);
    assert_int_equal(e.code, QNPU_HWERR_RING);
    assert_int_equal(e.engine, QNPU_ENGINE_FETCH);
    assert_int_equal(qnpu_drv_reset(d[k]), QNPU_OK);
  }
}

/* The driver's wait gives up with a timeout status. */
static void test_sim_wait_times_out(void **state) {
  fixture_t *f = *state;
  assert_int_equal(qnpu_drv_reset(f->dev), QNPU_OK);
  /* A long load: many rows, one beat each. */
  const qnpu_xfer_t big = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = 4, .count1 = 500, .count2 = 1,
                           .count3 = 1, .stride1 = 64};
  const qnpu_cmd_t c = qnpu_cmd_load(&big);
  assert_int_equal(qnpu_drv_submit(f->dev, &c, 1), QNPU_OK);
  assert_int_equal(qnpu_drv_wait(f->dev, 300), QNPU_ERR_TIMEOUT);
  assert_int_equal(qnpu_drv_wait(f->dev, 2000000), QNPU_OK);
}

/* Tracing: off by default, an FST file when asked (a cycle window here). */
static void test_sim_trace_file(void **state) {
  (void)state;
  char dir[64], path[128];
  assert_true(test_mkdtemp(dir));
  snprintf(path, sizeof path, "%s/wave.fst", dir);
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = 1u << 16;
  sc.trace_path = path;
  sc.trace_start = 10;
  sc.trace_end = 60;
  qnpu_sim_t *s;
  assert_int_equal(qnpu_sim_create(&sc, &s), QNPU_OK);
  assert_int_equal(qnpu_sim_step(s, 200), QNPU_OK);
  qnpu_sim_destroy(s);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  const long size = ftell(fp);
  fclose(fp);
  assert_true(size > 100);
  /* An unwritable path is an error, not a crash. */
  sc.trace_path = "/nonexistent-dir/wave.fst";
  assert_int_equal(qnpu_sim_create(&sc, &s), QNPU_ERR_IO);
  /* Bad configurations are refused. */
  sc.trace_path = NULL;
  sc.dram_bytes = 0;
  assert_int_equal(qnpu_sim_create(&sc, &s), QNPU_ERR_ARG);
  test_rmdir(dir);
}

/* Two models at once: each keeps its own state. */
static void test_sim_two_instances(void **state) {
  (void)state;
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = 1u << 16;
  qnpu_sim_t *s[2];
  qnpu_dev_t *d[2];
  qnpu_hal_t h[2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(qnpu_sim_create(&sc, &s[i]), QNPU_OK);
    h[i] = qnpu_hal_sim(s[i]);
    assert_int_equal(qnpu_drv_open(&h[i], NULL, NULL, &d[i]), QNPU_OK);
  }
  const qnpu_dev_info_t info = *qnpu_drv_info(d[0]), *in = &info; /* a copy: d[0] is closed first */
  uint8_t src[2][4 * 255];
  for (int i = 0; i < 2; i++) {
    for (int k = 0; k < 4 * 255; k++) src[i][k] = (uint8_t)(i * 100 + k);
    assert_int_equal(qnpu_drv_write(d[i], 0x4000, src[i], 4 * in->cols), QNPU_OK);
  }
  const qnpu_xfer_t ld = {.target = QNPU_TGT_LOAD_WGT, .dram_addr = 0x4000, .len = in->cols, .count1 = 4,
                          .count2 = 1, .count3 = 1, .stride1 = in->cols};
  const qnpu_xfer_t st = {.target = QNPU_TGT_STORE_WGT, .dram_addr = 0x8000, .len = in->cols, .count1 = 4,
                          .count2 = 1, .count3 = 1, .stride1 = in->cols};
  const qnpu_cmd_t c[3] = {qnpu_cmd_load(&ld), qnpu_cmd_fence(0), qnpu_cmd_store(&st)};
  for (int i = 0; i < 2; i++) assert_int_equal(qnpu_drv_submit(d[i], c, 3), QNPU_OK);
  for (int i = 0; i < 2; i++) assert_int_equal(qnpu_drv_wait(d[i], 100000), QNPU_OK);
  for (int i = 0; i < 2; i++) {
    uint8_t got[4 * 255];
    assert_int_equal(qnpu_drv_read(d[i], 0x8000, got, 4 * in->cols), QNPU_OK);
    assert_memory_equal(got, src[i], 4 * in->cols);
    qnpu_drv_close(d[i]);
    qnpu_sim_destroy(s[i]);
  }
}

/* The fault spec parser: every key, and one clear error for anything else. */
static void test_sim_faults_parse(void **state) {
  (void)state;
  qnpu_sim_faults_t f;
  char err[256] = "";
  assert_int_equal(qnpu_sim_faults_parse("seed=9,jitter=40,throttle=25,stall=300@150,error-beat=77,error-ppm=5", &f,
                                         err, sizeof err),
                   QNPU_OK);
  assert_int_equal(f.seed, 9);
  assert_int_equal(f.jitter, 40);
  assert_int_equal(f.throttle_pct, 25);
  assert_int_equal(f.stall_cycles, 300);
  assert_int_equal(f.stall_ppm, 150);
  assert_int_equal(f.error_beat, 77);
  assert_int_equal(f.error_ppm, 5);
  assert_int_equal(qnpu_sim_faults_parse("", &f, err, sizeof err), QNPU_OK);
  assert_int_equal(f.jitter + f.throttle_pct + f.stall_cycles + f.error_beat, 0);
  static const char *const bad[] = {"jitter",    "jitter=",   "jitter=-1",         "throttle=100",
                                    "stall=5",   "stall=5@",  "error-ppm=1000001", "speed=3",
                                    "jitter=3,", ",jitter=3", "jitter=3x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    if (qnpu_sim_faults_parse(bad[i], &f, err, sizeof err) != QNPU_ERR_ARG) fail_msg("'%s' was accepted", bad[i]);
    assert_non_null(strstr(err, "fault spec"));
  }
}

/* One DMA copy (load 4 rows, store them elsewhere) on a model with faults;
 * returns the wait's status and the cycles it took. */
static qnpu_status_t faulted_copy(qnpu_sim_t *s, qnpu_dev_t *d, const uint8_t *src, uint8_t *got, uint64_t *cycles) {
  const qnpu_dev_info_t *in = qnpu_drv_info(d);
  assert_int_equal(qnpu_drv_write(d, 0x4000, src, 4 * in->cols), QNPU_OK);
  memset(got, 0, 4 * in->cols);
  assert_int_equal(qnpu_drv_write(d, 0x8000, got, 4 * in->cols), QNPU_OK);
  const qnpu_xfer_t ld = {.target = QNPU_TGT_LOAD_WGT,
                          .dram_addr = 0x4000,
                          .len = in->cols,
                          .count1 = 4,
                          .count2 = 1,
                          .count3 = 1,
                          .stride1 = in->cols};
  const qnpu_xfer_t st = {.target = QNPU_TGT_STORE_WGT,
                          .dram_addr = 0x8000,
                          .len = in->cols,
                          .count1 = 4,
                          .count2 = 1,
                          .count3 = 1,
                          .stride1 = in->cols};
  const qnpu_cmd_t c[3] = {qnpu_cmd_load(&ld), qnpu_cmd_fence(0), qnpu_cmd_store(&st)};
  const uint64_t c0 = qnpu_sim_cycles(s);
  assert_int_equal(qnpu_drv_submit(d, c, 3), QNPU_OK);
  const qnpu_status_t rc = qnpu_drv_wait(d, 1000000);
  *cycles = qnpu_sim_cycles(s) - c0;
  assert_int_equal(qnpu_drv_read(d, 0x8000, got, 4 * in->cols), QNPU_OK);
  return rc;
}

/* Jitter, throttling and stalls change only the timing, the same seed the
 * same timing; an error response halts the device with the DMA error and
 * the failing address, and after a soft reset the copy is right again. */
static void test_sim_faults(void **state) {
  (void)state;
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = 1u << 16;
  uint8_t src[4 * 255], got[4 * 255];
  for (int k = 0; k < 4 * 255; k++) src[k] = (uint8_t)(k * 7 + 3);
  uint64_t cyc[4];
  uint32_t bytes = 0;
  static const char *const spec[4] = {"", "seed=5,jitter=200,throttle=60,stall=400@3000",
                                      "seed=5,jitter=200,throttle=60,stall=400@3000", "seed=6,jitter=200"};
  qnpu_sim_fault_stats_t fs[4];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(qnpu_sim_faults_parse(spec[i], &sc.faults, NULL, 0), QNPU_OK);
    qnpu_sim_t *s;
    qnpu_dev_t *d;
    assert_int_equal(qnpu_sim_create(&sc, &s), QNPU_OK);
    qnpu_hal_t h = qnpu_hal_sim(s);
    assert_int_equal(qnpu_drv_open(&h, NULL, NULL, &d), QNPU_OK);
    assert_int_equal(faulted_copy(s, d, src, got, &cyc[i]), QNPU_OK);
    assert_memory_equal(got, src, 4 * qnpu_drv_info(d)->cols);
    fs[i] = qnpu_sim_fault_stats(s);
    bytes = 4 * qnpu_drv_info(d)->cols;
    if (i == 1) { /* an error on the 3rd response from now: a load beat */
      const qnpu_sim_faults_t e = {.error_beat = 3};
      assert_int_equal(qnpu_sim_set_faults(s, &e), QNPU_OK);
      uint64_t c;
      assert_int_equal(faulted_copy(s, d, src, got, &c), QNPU_ERR_HW);
      qnpu_hw_error_t he;
      assert_int_equal(qnpu_drv_hw_error(d, &he), QNPU_OK);
      assert_int_equal(he.code, QNPU_HWERR_DMA);
      assert_int_equal(qnpu_sim_fault_stats(s).errors, 1);
      assert_int_equal(he.info, qnpu_sim_fault_stats(s).last_error_addr);
      assert_int_equal(qnpu_drv_reset(d), QNPU_OK);
      assert_int_equal(qnpu_drv_hw_error(d, &he), QNPU_OK);
      assert_int_equal(he.code, QNPU_HWERR_NONE);
      assert_int_equal(faulted_copy(s, d, src, got, &c), QNPU_OK);
      assert_memory_equal(got, src, 4 * qnpu_drv_info(d)->cols);
    }
    qnpu_drv_close(d);
    qnpu_sim_destroy(s);
  }
  assert_int_equal(cyc[1], cyc[2]); /* the same seed: the same timing */
  assert_true(cyc[1] > cyc[0] && cyc[3] > cyc[0]);
  assert_true(fs[1].jitter_cycles > 0 && fs[1].throttled > 0 && fs[1].stalls > 0 && fs[1].stall_cycles > 0);
  assert_int_equal(fs[0].jitter_cycles + fs[0].throttled + fs[0].stalls, 0);
  print_message("  a %u-byte copy: %llu cycles, %llu with jitter/throttling/stalls, %llu with jitter alone\n", bytes,
                (unsigned long long)cyc[0], (unsigned long long)cyc[1], (unsigned long long)cyc[3]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sim_trace_file),
      cmocka_unit_test(test_sim_two_instances),
      cmocka_unit_test(test_sim_faults_parse),
      cmocka_unit_test(test_sim_faults),
      cmocka_unit_test_setup_teardown(test_sim_open_checks_configuration, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_load_store_strided, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_gemm_w8a8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_gemm_w4a8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_gemm_w4a4, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_gemm_int32_output, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_two_tiles_overlap_dma_and_compute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_mmio_push_and_fence_irq, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_ring_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sim_wait_times_out, setup, teardown),
  };
  return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
