/* test_stream.c - the command set v2 on the Verilator model and the fast
 * model, each result against the golden model and the two backends against
 * each other (same DRAM bytes, status and counters):
 *   convolution tiles walking their taps over a padded patch (padding at
 *   every border, stride 2, dilation 2, W4A8 and W4A4), accumulator base
 *   rows (two output-channel tiles with K split and interleaved), output
 *   tiles back to back without a drain, pipelined LOAD and STORE streams,
 *   tokens whose producer comes later in the stream, the new field checks,
 *   token overflow, a soft reset with memory traffic in flight, and random
 *   streams of legal commands with tokens (seeded; QNPU_STREAMS=N, default
 *   50) and of illegal ones. A failure prints the line that repeats it. */
#define _GNU_SOURCE /* program_invocation_name */
#include <errno.h>

#include "sim_fixture.h"

#include "qnpu_walk.h"

#define TIMEOUT 20000000u

static unsigned env_uint(const char *name, unsigned dflt) {
  const char *s = getenv(name);
  return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

static unsigned current_stream;

/* The line that repeats the current random stream with this binary. */
static const char *repro_line(uint64_t seed) {
  static char line[512];
  snprintf(line, sizeof line, "QNPU_SEED=%llu QNPU_STREAM_FIRST=%u QNPU_STREAMS=1 %s", (unsigned long long)seed,
           current_stream, program_invocation_name);
  return line;
}

static void repro(const char *what, uint64_t seed) {
  print_error("repro: %s   (%s)\n", repro_line(seed), what);
}

/* Both backends hold the same bytes in [lo, hi). */
static void same_dram(fixture_t *f, uint64_t lo, uint64_t hi, const char *what) {
  uint8_t *a = malloc(hi - lo), *b = malloc(hi - lo);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(qnpu_drv_read(f->dev, lo, a, hi - lo), QNPU_OK);
  assert_int_equal(qnpu_drv_read(f->fdev, lo, b, hi - lo), QNPU_OK);
  for (uint64_t i = 0; i < hi - lo; i++)
    if (a[i] != b[i]) {
      repro(what, test_master_seed());
      fail_msg("%s: DRAM differs at 0x%llx: sim 0x%02x, fast model 0x%02x", what, (unsigned long long)(lo + i), a[i],
               b[i]);
    }
  free(a);
  free(b);
}

/* Both backends counted the same MACs, rows, bytes and saturations. */
static void same_counters(fixture_t *f, qnpu_counters_t *cs, const char *what) {
  qnpu_counters_t cf;
  assert_int_equal(qnpu_drv_counters(f->dev, cs), QNPU_OK);
  assert_int_equal(qnpu_drv_counters(f->fdev, &cf), QNPU_OK);
  if (cs->macs != cf.macs || cs->rows != cf.rows || cs->rd_bytes != cf.rd_bytes || cs->wr_bytes != cf.wr_bytes ||
      cs->saturations != cf.saturations) {
    repro(what, test_master_seed());
    fail_msg("%s: counters differ: sim macs %llu rows %u read %u written %u sat %u; fast model %llu %u %u %u %u", what,
             (unsigned long long)cs->macs, cs->rows, cs->rd_bytes, cs->wr_bytes, cs->saturations,
             (unsigned long long)cf.macs, cf.rows, cf.rd_bytes, cf.wr_bytes, cf.saturations);
  }
}

/* Submits c[0..n) on one backend and waits; the status. */
static qnpu_status_t run_on(qnpu_dev_t *d, const qnpu_cmd_t *c, size_t n) {
  qnpu_status_t st = qnpu_drv_submit(d, c, n);
  if (!st) st = qnpu_drv_wait(d, TIMEOUT);
  return st;
}

static void run_ok(fixture_t *f, qnpu_dev_t *d, const qnpu_cmd_t *c, size_t n, const char *what) {
  const qnpu_status_t st = run_on(d, c, n);
  if (st) {
    qnpu_hw_error_t e;
    if (qnpu_drv_hw_error(d, &e)) snprintf(e.message, sizeof e.message, "unreadable");
    fail_msg("%s on %s: %s (%s)", what, d == f->dev ? "sim" : "fast model", qnpu_status_str(st), e.message);
  }
}

static void fill_random(test_rng_t *r, int8_t *v, size_t n, int lo, int hi) {
  for (size_t i = 0; i < n; i++) v[i] = (int8_t)rng_range(r, lo, hi);
}

/* Random requantization of n channels for a precision. */
typedef struct {
  int32_t bias[256], m0[256], shift[256];
  int32_t zp, act_min, act_max;
  int bypass;
} rq_rand_t;

static void rq_random(test_rng_t *r, uint32_t mode, int n, int bypass, rq_rand_t *q) {
  const int olo = mode == QNPU_MODE_W4A4 ? -8 : -128, ohi = mode == QNPU_MODE_W4A4 ? 7 : 127;
  for (int j = 0; j < n; j++) {
    q->bias[j] = rng_range(r, -20000, 20000);
    q->m0[j] = rng_range(r, 1 << 30, INT32_MAX);
    q->shift[j] = rng_range(r, -14, 0);
  }
  q->zp = rng_range(r, olo, ohi);
  q->act_min = olo;
  q->act_max = ohi;
  if (rng_range(r, 0, 3) == 0) q->act_min = q->zp; /* ReLU */
  q->bypass = bypass;
}

static qnpu_requant_t rq_golden(const rq_rand_t *q) {
  const qnpu_requant_t rq = {.mode = q->bypass ? QNPU_REQUANT_NONE : QNPU_REQUANT_TFLITE_Q31, .per_channel = 1,
                             .multiplier = q->m0, .shift = q->shift, .output_zero_point = q->zp,
                             .act_min = q->act_min, .act_max = q->act_max};
  return rq;
}

/* ---- convolution tiles ----------------------------------------------------------- */

typedef struct {
  const char *name;
  uint32_t mode;
  int32_t h, w, c, o, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} conv_case_t;

/* A random convolution tile (o = 0: every column) on both backends. */
static void conv_run(fixture_t *f, const conv_case_t *cc, uint64_t seed) {
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {seed};
  const int i4a = cc->mode == QNPU_MODE_W4A4, i4w = cc->mode != QNPU_MODE_W8A8;
  const int32_t o = cc->o ? cc->o : (int32_t)in->cols;
  qnpu_conv_tile_t t;
  memset(&t, 0, sizeof t);
  t.mode = cc->mode;
  t.h = cc->h, t.w = cc->w, t.c = cc->c, t.o = o;
  t.kh = cc->kh, t.kw = cc->kw, t.stride_h = cc->sh, t.stride_w = cc->sw, t.dil_h = cc->dh, t.dil_w = cc->dw;
  t.pad_top = cc->pt, t.pad_left = cc->pl, t.pad_bottom = cc->pb, t.pad_right = cc->pr;
  const size_t ni = (size_t)t.h * t.w * t.c, nf = (size_t)o * t.kh * t.kw * t.c;
  int8_t *input = malloc(ni), *filter = malloc(nf);
  fill_random(&r, input, ni, i4a ? -8 : -128, i4a ? 7 : 127);
  fill_random(&r, filter, nf, i4w ? -8 : -128, i4w ? 7 : 127);
  rq_rand_t q;
  rq_random(&r, cc->mode, o, 0, &q);
  t.input = input;
  t.filter = filter;
  t.zx = rng_range(&r, i4a ? -8 : -128, i4a ? 7 : 127);
  t.bias = q.bias, t.m0 = q.m0, t.shift = q.shift;
  t.zp = q.zp, t.act_min = q.act_min, t.act_max = q.act_max;
  const int32_t oh = qnpu_conv_tile_oh(&t), ow = qnpu_conv_tile_ow(&t);
  assert_true(oh > 0 && ow > 0);
  const size_t no = (size_t)oh * ow * o;
  int32_t *want = malloc(no * sizeof *want), *got = malloc(no * sizeof *got);
  const qnpu_conv_params_t p = {1, t.h, t.w, t.c, o, t.kh, t.kw, t.stride_h, t.stride_w, t.dil_h, t.dil_w,
                                t.pad_top, t.pad_left, t.pad_bottom, t.pad_right, 1, 1, t.zx, 0};
  const qnpu_requant_t rq = rq_golden(&q);
  assert_int_equal(qnpu_golden_conv2d(&p, &rq, input, filter, q.bias, want), QNPU_OK);
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  qnpu_tile_plan_t plan[2];
  for (int k = 0; k < 2; k++) {
    qnpu_cmd_t cmds[QNPU_TILE_MAX_CMDS + 1];
    qnpu_drv_free_all(devs[k]);
    assert_int_equal(qnpu_drv_clear_counters(devs[k]), QNPU_OK);
    assert_int_equal(qnpu_conv_tile_prepare(devs[k], &t, &plan[k], cmds), QNPU_OK);
    cmds[plan[k].commands] = qnpu_cmd_fence(0);
    run_ok(f, devs[k], cmds, plan[k].commands + 1, cc->name);
    assert_int_equal(qnpu_conv_tile_result(devs[k], &t, &plan[k], got), QNPU_OK);
    for (size_t i = 0; i < no; i++)
      if (got[i] != want[i]) {
        repro(cc->name, test_master_seed());
        fail_msg("%s on %s: out[%zu][%zu][%zu] = %d, golden %d", cc->name, k ? "fast model" : "sim",
                 i / o / ow, i / o % ow, i % o, got[i], want[i]);
      }
  }
  qnpu_counters_t cs;
  same_counters(f, &cs, cc->name);
  same_dram(f, 0, plan[0].out_addr + plan[0].out_bytes, cc->name);
  assert_int_equal(cs.macs, plan[0].macs);
  assert_int_equal(cs.rd_bytes, plan[0].rd_bytes + QNPU_CMD_BYTES);
  /* The patch crossed the port once: padding rows were not read. */
  const uint32_t pix = ((uint32_t)t.c + (i4a ? 2 : 1) * in->rows - 1) / ((i4a ? 2 : 1) * in->rows) * in->rows;
  const uint64_t patch = (uint64_t)t.h * t.w * pix;
  print_message("  %s: %dx%dx%d -> %dx%dx%d, %llu cycles, %u B read (input %llu B)\n", cc->name, t.h, t.w, t.c,
                oh, ow, o, (unsigned long long)cs.cycles, cs.rd_bytes, (unsigned long long)patch);
  free(input);
  free(filter);
  free(want);
  free(got);
}

static void test_stream_conv_3x3_padding_at_every_border(void **state) {
  fixture_t *f = *state;
  const uint32_t R = qnpu_drv_info(f->dev)->rows;
  const conv_case_t cc = {"conv 3x3 pad 1 on all sides", QNPU_MODE_W8A8, 6, 7, (int32_t)(2 * R), 0,
                          3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  conv_run(f, &cc, test_master_seed() + 101);
}

static void test_stream_conv_stride2_uneven_padding(void **state) {
  fixture_t *f = *state;
  const conv_case_t cc = {"conv 3x3 stride 2, pads 2/0/1/3", QNPU_MODE_W8A8, 9, 8, 5, 3, 3, 3, 2, 2, 1, 1, 2, 0, 1, 3};
  conv_run(f, &cc, test_master_seed() + 102);
}

static void test_stream_conv_dilation2(void **state) {
  fixture_t *f = *state;
  const uint32_t R = qnpu_drv_info(f->dev)->rows;
  const conv_case_t cc = {"conv 3x3 dilation 2, pad 2", QNPU_MODE_W8A8, 7, 6, (int32_t)R + 1, 0,
                          3, 3, 1, 1, 2, 2, 2, 2, 2, 2};
  conv_run(f, &cc, test_master_seed() + 103);
}

static void test_stream_conv_w4a8(void **state) {
  fixture_t *f = *state;
  const conv_case_t cc = {"conv W4A8 5x3, stride 1x2", QNPU_MODE_W4A8, 8, 9, 7, 0, 5, 3, 1, 2, 1, 1, 2, 1, 2, 1};
  conv_run(f, &cc, test_master_seed() + 104);
}

static void test_stream_conv_w4a4(void **state) {
  fixture_t *f = *state;
  const uint32_t R = qnpu_drv_info(f->dev)->rows;
  const conv_case_t cc = {"conv W4A4 3x3, odd channels", QNPU_MODE_W4A4, 6, 6, (int32_t)(2 * R + 3), 0,
                          3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  conv_run(f, &cc, test_master_seed() + 105);
}

/* ---- accumulator base rows, and tiles without a drain ------------------------------- */

/* out[M][2C] = A[M][K] B[K][2C]: the two output-channel tiles accumulate
 * into accumulator rows 0.. and M.., K split in two halves and interleaved
 * (half 0 of both tiles, then half 1 of both), every activation row loaded
 * once. */
static void test_stream_accumulator_base_rows(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const uint32_t R = in->rows, C = in->cols, M = 24, folds = 4, K = folds * R, N = 2 * C;
  test_rng_t r = {test_master_seed() + 201};
  int8_t *a = malloc(M * K), *b = malloc(K * N);
  fill_random(&r, a, M * K, -128, 127);
  fill_random(&r, b, K * N, -128, 127);
  rq_rand_t q;
  rq_random(&r, QNPU_MODE_W8A8, (int)N, 0, &q);
  const int32_t zx = rng_range(&r, -128, 127);
  int32_t *want = malloc(sizeof(int32_t) * M * N), *got = malloc(sizeof(int32_t) * M * N);
  const qnpu_requant_t rq = rq_golden(&q);
  assert_int_equal(qnpu_golden_gemm((int32_t)M, (int32_t)K, (int32_t)N, zx, 0, &rq, a, b, q.bias, want), QNPU_OK);
  /* Activations [M][K] as rows of R; weights [tile][fold][R][C]; records [tile][C]. */
  uint8_t *B = malloc((size_t)2 * folds * R * C), P[2][16 * 256], *O = malloc((size_t)2 * M * C);
  for (uint32_t t = 0; t < 2; t++) {
    for (uint32_t k = 0; k < K; k++)
      for (uint32_t j = 0; j < C; j++) B[((size_t)t * K + k) * C + j] = (uint8_t)b[(size_t)k * N + t * C + j];
    for (uint32_t j = 0; j < C; j++) {
      int64_t s = 0;
      for (uint32_t k = 0; k < K; k++) s += b[(size_t)k * N + t * C + j];
      const qnpu_prm_t p = {(int32_t)((uint32_t)q.bias[t * C + j] - (uint32_t)(zx * s)), q.m0[t * C + j],
                            q.shift[t * C + j], 0, q.zp, q.act_min, q.act_max};
      qnpu_prm_encode(&p, P[t] + 16 * j);
    }
  }
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  const uint64_t A_AT = 0x10000, B_AT = 0x20000, P_AT = 0x30000, O_AT = 0x40000;
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_write(devs[k], A_AT, a, M * K), QNPU_OK);
    assert_int_equal(qnpu_drv_write(devs[k], B_AT, B, (size_t)2 * K * C), QNPU_OK);
    assert_int_equal(qnpu_drv_write(devs[k], P_AT, P, sizeof P), QNPU_OK);
  }
  qnpu_cmd_t c[16];
  size_t n = 0;
  const qnpu_xfer_t la = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = (uint32_t)A_AT, .len = R,
                          .count1 = M * folds, .count2 = 1, .count3 = 1, .stride1 = R};
  const qnpu_xfer_t lw = {.target = QNPU_TGT_LOAD_WGT, .dram_addr = (uint32_t)B_AT, .len = C,
                          .count1 = 2 * K, .count2 = 1, .count3 = 1, .stride1 = C};
  c[n++] = qnpu_cmd_load(&la);
  c[n++] = qnpu_cmd_load(&lw);
  for (uint32_t t = 0; t < 2; t++) {
    const qnpu_xfer_t lp = {.target = t ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0,
                            .dram_addr = (uint32_t)(P_AT + sizeof P[0] * t), .len = 16 * C,
                            .count1 = 1, .count2 = 1, .count3 = 1};
    c[n++] = qnpu_cmd_load(&lp);
  }
  c[n++] = qnpu_cmd_fence(0);
  for (uint32_t h = 0; h < 2; h++)
    for (uint32_t t = 0; t < 2; t++) {
      const qnpu_compute_t cp = {.mode = QNPU_MODE_W8A8, .a_row = h * 2, .w_row = t * K + h * 2 * R,
                                 .acc_row = t * M, .out_row = t * M, .mx = M, .my = 1, .as_x = folds,
                                 .f1 = 2, .f2 = 1, .f3 = 1, .fs1 = 1, .first = h == 0, .last = h == 1, .pbank = t};
      c[n++] = qnpu_cmd_compute(&cp);
    }
  c[n++] = qnpu_cmd_fence(0);
  const qnpu_xfer_t so = {.target = QNPU_TGT_STORE_OUT8, .dram_addr = (uint32_t)O_AT, .len = C,
                          .count1 = 2 * M, .count2 = 1, .count3 = 1, .stride1 = C};
  c[n++] = qnpu_cmd_store(&so);
  c[n++] = qnpu_cmd_fence(0);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_clear_counters(devs[k]), QNPU_OK);
    run_ok(f, devs[k], c, n, "base rows");
    assert_int_equal(qnpu_drv_read(devs[k], O_AT, O, (size_t)2 * M * C), QNPU_OK);
    for (uint32_t t = 0; t < 2; t++)
      for (uint32_t m = 0; m < M; m++)
        for (uint32_t j = 0; j < C; j++) {
          const int32_t g = (int8_t)O[((size_t)t * M + m) * C + j], w = want[(size_t)m * N + t * C + j];
          if (g != w) fail_msg("base rows on %s: out[%u][%u] = %d, golden %d", k ? "fast model" : "sim", m,
                               t * C + j, g, w);
        }
  }
  qnpu_counters_t cs;
  same_counters(f, &cs, "base rows");
  assert_int_equal(cs.macs, (uint64_t)M * K * N);
  same_dram(f, 0, O_AT + 2 * M * C, "base rows");
  free(a);
  free(b);
  free(B);
  free(O);
  free(want);
  free(got);
}

/* Six output tiles of three folds (or of as many folds as columns share a
 * requantization unit, if more), each its own COMPUTE with LAST, back to
 * back: every result bit-exact, and the array is fed in every cycle from
 * the first row to the last (no drain between tiles, folds every M cycles). */
static void test_stream_output_tiles_back_to_back(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const uint32_t R = in->rows, C = in->cols, M = 2 * R > 32 ? 2 * R : 32, T = 6;
  const uint32_t folds = in->req_share > 3 ? in->req_share : 3, K = folds * R;
  test_rng_t r = {test_master_seed() + 202};
  int8_t *a = malloc(M * K), *b = malloc((size_t)T * K * C);
  fill_random(&r, a, M * K, -128, 127);
  fill_random(&r, b, (size_t)T * K * C, -128, 127);
  rq_rand_t q;
  rq_random(&r, QNPU_MODE_W8A8, (int)C, 0, &q);
  uint8_t P[16 * 256], *O = malloc((size_t)T * M * C);
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_write(devs[k], 0x10000, a, M * K), QNPU_OK);
    assert_int_equal(qnpu_drv_write(devs[k], 0x20000, b, (size_t)T * K * C), QNPU_OK);
  }
  /* Every tile uses the bias as given (zx = 0) and one parameter bank. */
  for (uint32_t j = 0; j < C; j++) {
    const qnpu_prm_t p = {q.bias[j], q.m0[j], q.shift[j], 0, q.zp, q.act_min, q.act_max};
    qnpu_prm_encode(&p, P + 16 * j);
  }
  for (int k = 0; k < 2; k++) assert_int_equal(qnpu_drv_write(devs[k], 0x30000, P, 16 * C), QNPU_OK);
  qnpu_cmd_t c[24];
  size_t n = 0;
  const qnpu_xfer_t la = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x10000, .len = R, .count1 = M * folds,
                          .count2 = 1, .count3 = 1, .stride1 = R};
  const qnpu_xfer_t lw = {.target = QNPU_TGT_LOAD_WGT, .dram_addr = 0x20000, .len = C, .count1 = T * K,
                          .count2 = 1, .count3 = 1, .stride1 = C};
  const qnpu_xfer_t lp = {.target = QNPU_TGT_LOAD_PRM0, .dram_addr = 0x30000, .len = 16 * C, .count1 = 1,
                          .count2 = 1, .count3 = 1};
  c[n++] = qnpu_cmd_load(&la);
  c[n++] = qnpu_cmd_load(&lw);
  c[n++] = qnpu_cmd_load(&lp);
  c[n++] = qnpu_cmd_fence(0);
  for (uint32_t t = 0; t < T; t++) {
    const qnpu_compute_t cp = {.mode = QNPU_MODE_W8A8, .w_row = t * K, .acc_row = (t % 2) * M, .out_row = t * M,
                               .mx = M, .my = 1, .as_x = folds, .f1 = folds, .f2 = 1, .f3 = 1, .fs1 = 1,
                               .first = 1, .last = 1};
    c[n++] = qnpu_cmd_compute(&cp);
  }
  c[n++] = qnpu_cmd_fence(0);
  const qnpu_xfer_t so = {.target = QNPU_TGT_STORE_OUT8, .dram_addr = 0x40000, .len = C, .count1 = T * M,
                          .count2 = 1, .count3 = 1, .stride1 = C};
  c[n++] = qnpu_cmd_store(&so);
  c[n++] = qnpu_cmd_fence(0);
  int32_t *want = malloc(sizeof(int32_t) * M * C);
  const qnpu_requant_t rq = rq_golden(&q);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_clear_counters(devs[k]), QNPU_OK);
    run_ok(f, devs[k], c, n, "tiles back to back");
    assert_int_equal(qnpu_drv_read(devs[k], 0x40000, O, (size_t)T * M * C), QNPU_OK);
    for (uint32_t t = 0; t < T; t++) {
      /* tile t: B_t is [K][C], rows t*K.. of the weight buffer */
      assert_int_equal(qnpu_golden_gemm((int32_t)M, (int32_t)K, (int32_t)C, 0, 0, &rq, a, b + (size_t)t * K * C,
                                        q.bias, want), QNPU_OK);
      for (uint32_t i = 0; i < M * C; i++)
        if ((int8_t)O[(size_t)t * M * C + i] != want[i])
          fail_msg("tile %u on %s: out[%u][%u] = %d, golden %d", t, k ? "fast model" : "sim", i / C, i % C,
                   (int8_t)O[(size_t)t * M * C + i], want[i]);
    }
  }
  qnpu_counters_t cs;
  same_counters(f, &cs, "tiles back to back");
  assert_int_equal(cs.rows, T * folds * M);
  print_message("  %u tiles x %u folds at M = %u: %u rows in %u cycles from the first row to the last\n", T, folds,
                M, cs.rows, cs.last_row - cs.first_row + 1);
  assert_int_equal(cs.last_row - cs.first_row + 1, cs.rows);
  free(a);
  free(b);
  free(O);
  free(want);
}

/* ---- pipelined DMA ---------------------------------------------------------------- */

/* 24 LOADs and then 24 STOREs of 4 rows: the data is right, and each
 * engine stays busy for less time than one DRAM round trip per command
 * (a new command's requests go out while the previous one's responses are
 * still coming back). */
static void test_stream_pipelined_loads_and_stores(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const uint32_t R = in->rows, N = 24, ROWS = 4;
  test_rng_t r = {test_master_seed() + 301};
  uint8_t src[24 * 4 * 64], got[24 * 4 * 64];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)rng_next(&r);
  write_both(f, 0x10000, src, N * ROWS * R);
  qnpu_cmd_t c[2 * 24 + 2];
  size_t n = 0;
  for (uint32_t i = 0; i < N; i++) {
    const qnpu_xfer_t l = {.target = QNPU_TGT_LOAD_ACT, .spad_row = i * ROWS, .dram_addr = 0x10000 + i * ROWS * R,
                           .len = R, .count1 = ROWS, .count2 = 1, .count3 = 1, .stride1 = R};
    c[n++] = qnpu_cmd_load(&l);
  }
  c[n++] = qnpu_cmd_fence(0);
  for (uint32_t i = 0; i < N; i++) {
    const qnpu_xfer_t s = {.target = QNPU_TGT_STORE_ACT, .spad_row = i * ROWS, .dram_addr = 0x20000 + i * ROWS * R,
                           .len = R, .count1 = ROWS, .count2 = 1, .count3 = 1, .stride1 = R};
    c[n++] = qnpu_cmd_store(&s);
  }
  c[n++] = qnpu_cmd_fence(0);
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(qnpu_drv_clear_counters(devs[k]), QNPU_OK);
    run_ok(f, devs[k], c, n, "pipelined DMA");
    assert_int_equal(qnpu_drv_read(devs[k], 0x20000, got, N * ROWS * R), QNPU_OK);
    assert_memory_equal(got, src, N * ROWS * R);
  }
  qnpu_counters_t cs;
  same_counters(f, &cs, "pipelined DMA");
  print_message("  %u LOADs of %u rows: load engine busy %u cycles; %u STOREs: store engine busy %u cycles\n", N, ROWS,
                cs.ld_busy, N, cs.st_busy);
  const uint32_t latency = 64; /* the DRAM model's default */
  assert_true(cs.ld_busy < N * latency);
  assert_true(cs.st_busy < N * latency);
}

/* ---- tokens ------------------------------------------------------------------------ */

/* The COMPUTE and STORE come first in the stream and wait for the LOADs
 * after them: both backends complete, bit-exact. */
static void test_stream_token_producer_later_in_stream(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {test_master_seed() + 401};
  const int32_t M = 12, K = 2 * (int32_t)in->rows, N = (int32_t)in->cols;
  int8_t a[64 * 64], b[64 * 64];
  fill_random(&r, a, (size_t)M * K, -128, 127);
  fill_random(&r, b, (size_t)K * N, -128, 127);
  rq_rand_t q;
  rq_random(&r, QNPU_MODE_W8A8, N, 0, &q);
  qnpu_tile_t t = {.mode = QNPU_MODE_W8A8, .m = M, .k = K, .n = N, .a = a, .b = b, .zx = 3, .bias = q.bias,
                   .m0 = q.m0, .shift = q.shift, .zp = q.zp, .act_min = q.act_min, .act_max = q.act_max};
  int32_t want[64 * 64], got[64 * 64];
  const qnpu_requant_t rq = rq_golden(&q);
  assert_int_equal(qnpu_golden_gemm(M, K, N, 3, 0, &rq, a, b, q.bias, want), QNPU_OK);
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    qnpu_cmd_t c[QNPU_TILE_MAX_CMDS], s[QNPU_TILE_MAX_CMDS + 1];
    qnpu_tile_plan_t plan;
    qnpu_drv_free_all(devs[k]);
    assert_int_equal(qnpu_tile_prepare(devs[k], &t, &plan, c), QNPU_OK);
    /* COMPUTE, STORE, then the three LOADs */
    s[0] = c[3];
    s[1] = c[4];
    s[2] = c[0];
    s[3] = c[1];
    s[4] = c[2];
    s[5] = qnpu_cmd_fence(0);
    run_ok(f, devs[k], s, 6, "producer later");
    assert_int_equal(qnpu_tile_result(devs[k], &t, &plan, got), QNPU_OK);
    assert_memory_equal(got, want, sizeof(int32_t) * (size_t)M * N);
  }
}

/* Four COMPUTEs waiting for the four LOADs after them fit the compute
 * queue; a fifth blocks the dispatcher before any LOAD: a true deadlock,
 * which both backends end with the watchdog, for the compute engine. */
static void test_stream_token_deadlock_through_full_queue(void **state) {
  fixture_t *f = *state;
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  qnpu_hal_t *hals[2] = {&f->hal_sim, &f->hal_fm};
  const qnpu_compute_t cp = {.mx = 4, .my = 1, .f1 = 1, .f2 = 1, .f3 = 1, .first = 1, .last = 1};
  const qnpu_xfer_t ld = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = 4, .count1 = 1, .count2 = 1,
                          .count3 = 1};
  for (int k = 0; k < 2; k++) {
    for (uint32_t ncmp = QNPU_DEFAULT_ENG_Q; ncmp <= QNPU_DEFAULT_ENG_Q + 1; ncmp++) {
      qnpu_cmd_t c[16];
      size_t n = 0;
      for (uint32_t i = 0; i < ncmp; i++) {
        c[n] = qnpu_cmd_compute(&cp);
        qnpu_cmd_deps(&c[n++], 1, 0, 0, 0);
      }
      for (uint32_t i = 0; i < ncmp; i++) {
        c[n] = qnpu_cmd_load(&ld);
        qnpu_cmd_deps(&c[n++], 0, 0, 0, 1);
      }
      c[n++] = qnpu_cmd_fence(0);
      assert_int_equal(qnpu_drv_reset(devs[k]), QNPU_OK);
      assert_int_equal(qnpu_hal_reg_write(hals[k], QNPU_WATCHDOG_REG_OFFSET, 4000), QNPU_OK);
      if (ncmp == QNPU_DEFAULT_ENG_Q) {
        run_ok(f, devs[k], c, n, "four waiting COMPUTEs");
      } else {
        expect_error(f, devs[k], c, n, QNPU_HWERR_WATCHDOG, QNPU_ENGINE_COMPUTE, 4000, "a fifth COMPUTE");
      }
    }
    assert_int_equal(qnpu_hal_reg_write(hals[k], QNPU_WATCHDOG_REG_OFFSET, QNPU_WATCHDOG_RESET), QNPU_OK);
  }
}

/* 256 LOADs give the compute engine tokens nobody takes: the 256th would
 * wrap the counter, which is ERR_TOKEN for the load -> compute counter. */
static void test_stream_token_overflow(void **state) {
  fixture_t *f = *state;
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  static qnpu_cmd_t c[257];
  const qnpu_xfer_t ld = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = 4, .count1 = 1, .count2 = 1,
                          .count3 = 1};
  for (int i = 0; i < 256; i++) {
    c[i] = qnpu_cmd_load(&ld);
    qnpu_cmd_deps(&c[i], 0, 0, 0, 1);
  }
  c[256] = qnpu_cmd_fence(0);
  for (int k = 0; k < 2; k++) expect_error(f, devs[k], c, 257, QNPU_HWERR_TOKEN, QNPU_ENGINE_DISPATCH, 0, "256 tokens");
}

/* ---- field checks ------------------------------------------------------------------ */

static void test_stream_illegal_fields(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const qnpu_compute_t ok = {.mx = 4, .my = 2, .as_x = 1, .as_y = 4, .f1 = 2, .f2 = 1, .f3 = 1, .fs1 = 8,
                             .first = 1, .last = 1};
  const qnpu_xfer_t lok = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = in->rows, .count1 = 2,
                           .count2 = 3, .count3 = 2, .stride1 = 16, .stride2 = 64, .stride3 = 512};
  const qnpu_xfer_t pok = {.target = QNPU_TGT_LOAD_PRM0, .dram_addr = 0x1000, .len = 16 * in->cols, .count1 = 1,
                           .count2 = 1, .count3 = 1};
  const qnpu_xfer_t sok = {.target = QNPU_TGT_STORE_OUT8, .dram_addr = 0x2000, .len = in->cols, .count1 = 2,
                           .count2 = 2, .count3 = 2, .stride1 = 16, .stride2 = 64, .stride3 = 256};
  struct {
    const char *what;
    qnpu_cmd_t cmd;
  } cases[32];
  int n = 0;
#define CASE(W, EXPR)           \
  do {                          \
    cases[n].what = (W);        \
    cases[n].cmd = (EXPR);      \
    n++;                        \
  } while (0)
  qnpu_compute_t cp;
  qnpu_xfer_t x;
  cp = ok; cp.mode = 3; CASE("COMPUTE mode 3", qnpu_cmd_compute(&cp));
  cp = ok; cp.my = 0; CASE("COMPUTE MY = 0", qnpu_cmd_compute(&cp));
  cp = ok; cp.f2 = 0; CASE("COMPUTE F2 = 0", qnpu_cmd_compute(&cp));
  cp = ok; cp.f3 = 0; CASE("COMPUTE F3 = 0", qnpu_cmd_compute(&cp));
  cp = ok; cp.acc_row = in->acc_depth - 7; CASE("COMPUTE accumulator rows past the end", qnpu_cmd_compute(&cp));
  cp = ok; cp.out_row = in->out_rows - 7; CASE("COMPUTE output rows past the end", qnpu_cmd_compute(&cp));
  cp = ok; cp.w_row = in->wgt_rows - 2 * in->rows + 1; CASE("COMPUTE weight rows past the end", qnpu_cmd_compute(&cp));
  cp = ok; cp.a_row = in->act_rows - 15; CASE("COMPUTE activation walk past the end", qnpu_cmd_compute(&cp));
  cp = ok; cp.as_y = 0xffff; CASE("COMPUTE activation stride past the end", qnpu_cmd_compute(&cp));
  cp = ok; cp.f3 = 2; cp.fs3 = 0xfff0; CASE("COMPUTE fold stride past the end", qnpu_cmd_compute(&cp));
  x = lok; x.count3 = 0; CASE("LOAD COUNT3 = 0", qnpu_cmd_load(&x));
  x = lok; x.len = in->rows + 1; CASE("LOAD row longer than the scratchpad row", qnpu_cmd_load(&x));
  x = lok; x.spad_row = in->act_rows - 11; CASE("LOAD rows past the scratchpad", qnpu_cmd_load(&x));
  x = lok; x.pad_xlo = 2; x.pad_xhi = 2; CASE("LOAD more padding than columns", qnpu_cmd_load(&x));
  x = lok; x.pad_ylo = 3; CASE("LOAD more padding than rows", qnpu_cmd_load(&x));
  x = lok; x.target = 5; CASE("LOAD target 5", qnpu_cmd_load(&x));
  x = pok; x.spad_row = 1; CASE("PRM load past the last column", qnpu_cmd_load(&x));
  x = pok; x.len = 17; CASE("PRM load of a partial record", qnpu_cmd_load(&x));
  x = pok; x.dram_addr = 0x1008; CASE("PRM load misaligned", qnpu_cmd_load(&x));
  x = pok; x.count2 = 2; CASE("PRM load of several rows", qnpu_cmd_load(&x));
  x = sok; x.count1 = 0; CASE("STORE COUNT1 = 0", qnpu_cmd_store(&x));
  x = sok; x.spad_row = in->out_rows - 7; CASE("STORE rows past the scratchpad", qnpu_cmd_store(&x));
  x = sok; x.target = QNPU_TGT_STORE_OUT4; CASE("STORE OUT4 longer than Cols/2", qnpu_cmd_store(&x));
  cases[n].cmd = qnpu_cmd_store(&sok);
  QNPU_CMD_SET(cases[n].cmd.w, PAD_Y_HI, 1);
  cases[n++].what = "STORE with padding";
  cases[n].cmd = qnpu_cmd_load(&lok);
  qnpu_cmd_deps(&cases[n].cmd, 1, 0, 0, 0);
  cases[n++].what = "LOAD popping a previous-engine token";
  cases[n].cmd = qnpu_cmd_store(&sok);
  qnpu_cmd_deps(&cases[n].cmd, 0, 0, 0, 1);
  cases[n++].what = "STORE pushing a next-engine token";
#undef CASE
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  for (int k = 0; k < 2; k++) {
    /* Each, as command #2 after two legal ones; the legal versions pass. */
    qnpu_cmd_t c[3] = {qnpu_cmd_compute(&ok), qnpu_cmd_load(&lok), qnpu_cmd_nop()};
    assert_int_equal(qnpu_drv_reset(devs[k]), QNPU_OK);
    const qnpu_cmd_t good[4] = {c[0], c[1], qnpu_cmd_load(&pok), qnpu_cmd_store(&sok)};
    run_ok(f, devs[k], good, 4, "the legal versions");
    for (int i = 0; i < n; i++) {
      c[2] = cases[i].cmd;
      expect_error(f, devs[k], c, 3, QNPU_HWERR_ILLEGAL_FIELD, QNPU_ENGINE_DISPATCH, 2, cases[i].what);
    }
  }
}

/* A soft reset while a long LOAD's beats are in flight: the stale
 * responses are dropped and the next tile is bit-exact. */
static void test_stream_soft_reset_with_traffic_in_flight(void **state) {
  fixture_t *f = *state;
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  const qnpu_xfer_t big = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x1000, .len = in->rows, .count1 = 2000,
                           .count2 = 1, .count3 = 1, .stride1 = 48};
  const qnpu_xfer_t sbig = {.target = QNPU_TGT_STORE_WGT, .dram_addr = 0x40000, .len = in->cols, .count1 = 2000,
                            .count2 = 1, .count3 = 1, .stride1 = 32};
  for (int i = 0; i < 2; i++) {
    const qnpu_cmd_t c = i ? qnpu_cmd_store(&sbig) : qnpu_cmd_load(&big);
    assert_int_equal(qnpu_drv_reset(f->dev), QNPU_OK);
    assert_int_equal(qnpu_drv_submit(f->dev, &c, 1), QNPU_OK);
    assert_int_equal(qnpu_sim_step(f->sim, 150 + 37 * (uint64_t)i), QNPU_OK);
    assert_int_equal(qnpu_drv_reset(f->dev), QNPU_OK);
    test_rng_t r = {test_master_seed() + 501 + (uint64_t)i};
    const int32_t M = 20, K = 3 * (int32_t)in->rows, N = (int32_t)in->cols;
    int8_t a[64 * 192], b[192 * 64];
    fill_random(&r, a, (size_t)M * K, -128, 127);
    fill_random(&r, b, (size_t)K * N, -128, 127);
    rq_rand_t q;
    rq_random(&r, QNPU_MODE_W8A8, N, 0, &q);
    const qnpu_tile_t t = {.mode = QNPU_MODE_W8A8, .m = M, .k = K, .n = N, .a = a, .b = b, .zx = -5,
                           .bias = q.bias, .m0 = q.m0, .shift = q.shift, .zp = q.zp, .act_min = q.act_min,
                           .act_max = q.act_max};
    int32_t want[64 * 64], got[64 * 64];
    const qnpu_requant_t rq = rq_golden(&q);
    assert_int_equal(qnpu_golden_gemm(M, K, N, -5, 0, &rq, a, b, q.bias, want), QNPU_OK);
    qnpu_drv_free_all(f->dev);
    qnpu_tile_plan_t plan;
    assert_int_equal(qnpu_tile_run(f->dev, &t, TIMEOUT, got, &plan), QNPU_OK);
    assert_memory_equal(got, want, sizeof(int32_t) * (size_t)M * N);
  }
}

/* ---- random streams ----------------------------------------------------------------- */

/* A stream is a sequence of jobs (a GEMM tile or a convolution tile), job i
 * in buffer set i % 2 (scratchpad halves, a parameter bank, accumulator and
 * output halves), its loads running ahead of the previous job's compute:
 * L0 L1 C0 S0 L2 C1 S1 ... Tokens order everything that shares a buffer:
 * the first LOAD of job i waits for the COMPUTE of job i-2 to finish with
 * the set (compute -> load), its COMPUTE for the STORE of job i-2 (store ->
 * compute), and load -> compute -> store within a job. */
typedef struct {
  int conv;
  qnpu_tile_t g;
  qnpu_conv_tile_t c;
  int8_t *a, *b;                /* GEMM A, B / conv input, filter */
  rq_rand_t q;
  int32_t *want;
  size_t nout;
  qnpu_cmd_t cmd[QNPU_TILE_MAX_CMDS];
  qnpu_tile_plan_t plan;
} job_t;

static void job_random(test_rng_t *r, const qnpu_dev_info_t *in, uint32_t set, job_t *j) {
  memset(j, 0, sizeof *j);
  const uint32_t mode = (uint32_t)rng_range(r, 0, 2);
  const int i4a = mode == QNPU_MODE_W4A4, i4w = mode != QNPU_MODE_W8A8;
  const int alo = i4a ? -8 : -128, ahi = i4a ? 7 : 127, wlo = i4w ? -8 : -128, whi = i4w ? 7 : 127;
  const uint32_t kf = i4a ? 2 * in->rows : in->rows;
  const int bypass = rng_range(r, 0, 9) == 0;
  j->conv = rng_range(r, 0, 1);
  const uint32_t act0 = set * (in->act_rows / 2), wgt0 = set * (in->wgt_rows / 2);
  const uint32_t acc0 = set * (in->acc_depth / 2), out0 = set * (in->out_rows / 2);
  if (!j->conv) {
    qnpu_tile_t *t = &j->g;
    t->mode = mode;
    t->m = rng_range(r, 1, 48);
    t->k = rng_range(r, 1, 5 * (int32_t)kf);
    t->n = rng_range(r, 1, (int32_t)in->cols);
    j->a = malloc((size_t)t->m * t->k);
    j->b = malloc((size_t)t->k * t->n);
    fill_random(r, j->a, (size_t)t->m * t->k, alo, ahi);
    fill_random(r, j->b, (size_t)t->k * t->n, wlo, whi);
    rq_random(r, mode, t->n, bypass, &j->q);
    t->a = j->a, t->b = j->b, t->zx = rng_range(r, alo, ahi);
    t->bias = j->q.bias, t->m0 = j->q.m0, t->shift = j->q.shift;
    t->zp = j->q.zp, t->act_min = j->q.act_min, t->act_max = j->q.act_max, t->bypass = bypass;
    t->act_row0 = act0, t->wgt_row0 = wgt0, t->acc_row0 = acc0, t->out_row0 = out0, t->pbank = set;
    j->nout = (size_t)t->m * t->n;
    j->want = malloc(j->nout * sizeof *j->want);
    const qnpu_requant_t rq = rq_golden(&j->q);
    assert_int_equal(qnpu_golden_gemm(t->m, t->k, t->n, t->zx, 0, &rq, j->a, j->b, j->q.bias, j->want), QNPU_OK);
    return;
  }
  qnpu_conv_tile_t *t = &j->c;
  t->mode = mode;
  do {
    t->h = rng_range(r, 1, 8), t->w = rng_range(r, 1, 8), t->c = rng_range(r, 1, 3 * (int32_t)kf);
    t->kh = rng_range(r, 1, 3), t->kw = rng_range(r, 1, 3);
    t->stride_h = rng_range(r, 1, 2), t->stride_w = rng_range(r, 1, 2);
    t->dil_h = rng_range(r, 1, 2), t->dil_w = rng_range(r, 1, 2);
    t->pad_top = rng_range(r, 0, 2), t->pad_left = rng_range(r, 0, 2);
    t->pad_bottom = rng_range(r, 0, 2), t->pad_right = rng_range(r, 0, 2);
  } while (qnpu_conv_tile_oh(t) < 1 || qnpu_conv_tile_ow(t) < 1);
  t->o = rng_range(r, 1, (int32_t)in->cols);
  const size_t ni = (size_t)t->h * t->w * t->c, nf = (size_t)t->o * t->kh * t->kw * t->c;
  j->a = malloc(ni);
  j->b = malloc(nf);
  fill_random(r, j->a, ni, alo, ahi);
  fill_random(r, j->b, nf, wlo, whi);
  rq_random(r, mode, t->o, bypass, &j->q);
  t->input = j->a, t->filter = j->b, t->zx = rng_range(r, alo, ahi);
  t->bias = j->q.bias, t->m0 = j->q.m0, t->shift = j->q.shift;
  t->zp = j->q.zp, t->act_min = j->q.act_min, t->act_max = j->q.act_max, t->bypass = bypass;
  t->act_row0 = act0, t->wgt_row0 = wgt0, t->acc_row0 = acc0, t->out_row0 = out0, t->pbank = set;
  j->nout = (size_t)qnpu_conv_tile_oh(t) * qnpu_conv_tile_ow(t) * t->o;
  j->want = malloc(j->nout * sizeof *j->want);
  const qnpu_conv_params_t p = {1, t->h, t->w, t->c, t->o, t->kh, t->kw, t->stride_h, t->stride_w, t->dil_h,
                                t->dil_w, t->pad_top, t->pad_left, t->pad_bottom, t->pad_right, 1, 1, t->zx, 0};
  const qnpu_requant_t rq = rq_golden(&j->q);
  assert_int_equal(qnpu_golden_conv2d(&p, &rq, j->a, j->b, j->q.bias, j->want), QNPU_OK);
}

static void job_free(job_t *j) {
  free(j->a);
  free(j->b);
  free(j->want);
}

static void add_deps(qnpu_cmd_t *c, int pop_prev, int pop_next, int push_prev, int push_next) {
  if (pop_prev) QNPU_CMD_SET(c->w, POP_PREV, 1);
  if (pop_next) QNPU_CMD_SET(c->w, POP_NEXT, 1);
  if (push_prev) QNPU_CMD_SET(c->w, PUSH_PREV, 1);
  if (push_next) QNPU_CMD_SET(c->w, PUSH_NEXT, 1);
}

/* An illegal version of a command (its opcode's rules), or an illegal opcode. */
static uint32_t corrupt(test_rng_t *r, const qnpu_dev_info_t *in, qnpu_cmd_t *c) {
  const uint32_t op = QNPU_CMD_GET(c->w, OPCODE);
  const int pick = rng_range(r, 0, 5);
  if (pick == 0) {
    QNPU_CMD_SET(c->w, OPCODE, (uint32_t)rng_range(r, 5, 15));
    return QNPU_HWERR_ILLEGAL_OPCODE;
  }
  if (op == QNPU_OP_COMPUTE) {
    switch (pick) {
      case 1: QNPU_CMD_SET(c->w, MODE, 3); break;
      case 2: QNPU_CMD_SET(c->w, MX, 0); break;
      case 3: QNPU_CMD_SET(c->w, ACC_ROW, in->acc_depth); break;
      case 4: QNPU_CMD_SET(c->w, A_ROW, in->act_rows); break;
      default: QNPU_CMD_SET(c->w, W_ROW, in->wgt_rows); break;
    }
  } else if (op == QNPU_OP_LOAD) {
    /* one past the target's row bytes and rows (a weight row is Cols bytes) */
    const uint32_t tgt = QNPU_CMD_GET(c->w, TARGET), prm = tgt >= QNPU_TGT_LOAD_PRM0;
    const uint32_t row_bytes = prm ? 16u * in->cols : tgt == QNPU_TGT_LOAD_WGT ? in->cols : in->rows;
    const uint32_t rows = prm ? in->cols : tgt == QNPU_TGT_LOAD_WGT ? in->wgt_rows : in->act_rows;
    switch (pick) {
      case 1: QNPU_CMD_SET(c->w, COUNT3, 0); break;
      case 2: QNPU_CMD_SET(c->w, LEN, prm ? row_bytes + 16 : row_bytes + 1); break;
      case 3: QNPU_CMD_SET(c->w, SPAD_ROW, rows); break;
      case 4: QNPU_CMD_SET(c->w, PAD_X_LO, 15); QNPU_CMD_SET(c->w, PAD_X_HI, 15); QNPU_CMD_SET(c->w, COUNT2, 7); break;
      default: QNPU_CMD_SET(c->w, POP_PREV, 1); break;
    }
  } else {
    const uint32_t tgt = QNPU_CMD_GET(c->w, TARGET);
    const uint32_t rows = tgt == QNPU_TGT_STORE_ACT ? in->act_rows : tgt == QNPU_TGT_STORE_WGT ? in->wgt_rows
                                                                                           : in->out_rows;
    switch (pick) {
      case 1: QNPU_CMD_SET(c->w, COUNT2, 0); break;
      case 2: QNPU_CMD_SET(c->w, LEN, 4u * in->cols + 1); break;
      case 3: QNPU_CMD_SET(c->w, SPAD_ROW, rows); break;
      case 4: QNPU_CMD_SET(c->w, PAD_Y_LO, 1); break;
      default: QNPU_CMD_SET(c->w, PUSH_NEXT, 1); break;
    }
  }
  return QNPU_HWERR_ILLEGAL_FIELD;
}

/* One random stream on both backends; illegal >= 0: command illegal is
 * corrupted (the stream must then stop there with its index). */
static void stream_run(fixture_t *f, uint64_t seed, int illegal_stream) {
  const qnpu_dev_info_t *in = qnpu_drv_info(f->dev);
  test_rng_t r = {seed};
  const int njobs = rng_range(&r, 2, 6);
  job_t jobs[6];
  for (int i = 0; i < njobs; i++) job_random(&r, in, (uint32_t)(i % 2), &jobs[i]);
  qnpu_dev_t *devs[2] = {f->dev, f->fdev};
  uint64_t span = 0;
  qnpu_cmd_t s[6 * QNPU_TILE_MAX_CMDS + 2];
  size_t n = 0;
  uint32_t bad_code = 0;
  int bad_at = 0;
  /* The bytes the stream compares start equal on both backends (an illegal
   * stream before may have stored on one and not the other). */
  static uint8_t zero[256 << 10];
  for (int k = 0; k < 2; k++) {
    qnpu_drv_free_all(devs[k]);
    assert_int_equal(qnpu_drv_reset(devs[k]), QNPU_OK);
    assert_int_equal(qnpu_drv_clear_counters(devs[k]), QNPU_OK);
    uint64_t base;
    assert_int_equal(qnpu_drv_alloc(devs[k], 16, 16, &base), QNPU_OK);
    qnpu_drv_free_all(devs[k]);
    assert_int_equal(qnpu_drv_write(devs[k], base, zero, sizeof zero), QNPU_OK);
    for (int i = 0; i < njobs; i++) {
      job_t *j = &jobs[i];
      const qnpu_status_t st = j->conv ? qnpu_conv_tile_prepare(devs[k], &j->c, &j->plan, j->cmd)
                                       : qnpu_tile_prepare(devs[k], &j->g, &j->plan, j->cmd);
      if (st) fail_msg("stream %llu job %d: prepare failed: %s", (unsigned long long)seed, i, qnpu_status_str(st));
      if (i >= 2) add_deps(&j->cmd[0], 0, 1, 0, 0); /* wait for COMPUTE i-2 */
      add_deps(&j->cmd[3], 0, i >= 2, 1, 0);        /* wait for STORE i-2; free the set */
      add_deps(&j->cmd[4], 0, 0, 1, 0);             /* free the output half */
    }
    /* L0 L1 C0 S0 L2 C1 S1 ... */
    n = 0;
    for (int i = 0; i <= njobs; i++) {
      if (i < njobs)
        for (int c = 0; c < 3; c++) s[n++] = jobs[i].cmd[c];
      if (i >= 1) {
        s[n++] = jobs[i - 1].cmd[3];
        s[n++] = jobs[i - 1].cmd[4];
      }
    }
    s[n++] = qnpu_cmd_fence(0);
    if (illegal_stream) {
      /* the same command, corrupted the same way, on both backends */
      test_rng_t rb = {seed ^ 0xbadull};
      bad_at = rng_range(&rb, 0, (int32_t)n - 2);
      bad_code = corrupt(&rb, in, &s[bad_at]);
      char what[640];
      snprintf(what, sizeof what, "illegal stream %llu (command %d; repro: %s)", (unsigned long long)seed, bad_at,
               repro_line(test_master_seed()));
      expect_error(f, devs[k], s, n, bad_code, QNPU_ENGINE_DISPATCH, (uint32_t)bad_at, what);
      continue;
    }
    run_ok(f, devs[k], s, n, "random stream");
    for (int i = 0; i < njobs; i++) {
      job_t *j = &jobs[i];
      int32_t *got = malloc(j->nout * sizeof *got);
      assert_int_equal(j->conv ? qnpu_conv_tile_result(devs[k], &j->c, &j->plan, got)
                               : qnpu_tile_result(devs[k], &j->g, &j->plan, got),
                       QNPU_OK);
      for (size_t e = 0; e < j->nout; e++)
        if (got[e] != j->want[e]) {
          repro("test_stream_random_streams", test_master_seed());
          fail_msg("stream %llu on %s: job %d (%s, mode %u%s) element %zu = %d, golden %d",
                   (unsigned long long)seed, k ? "fast model" : "sim", i, j->conv ? "conv" : "gemm",
                   j->conv ? j->c.mode : j->g.mode, (j->conv ? j->c.bypass : j->g.bypass) ? ", int32" : "", e,
                   got[e], j->want[e]);
        }
      free(got);
      span = j->plan.out_addr + j->plan.out_bytes;
    }
  }
  if (!illegal_stream) {
    char what[64];
    snprintf(what, sizeof what, "random stream %llu", (unsigned long long)seed);
    qnpu_counters_t cs;
    same_counters(f, &cs, what);
    assert_true(span <= sizeof zero + 0x2000u);
    same_dram(f, 0, span, what);
  }
  for (int i = 0; i < njobs; i++) job_free(&jobs[i]);
}

/* QNPU_STREAMS streams from number QNPU_STREAM_FIRST on; stream i has seed
 * master * 1000003 + i, and every fourth is illegal. */
static void test_stream_random_streams(void **state) {
  fixture_t *f = *state;
  const unsigned first = env_uint("QNPU_STREAM_FIRST", 0), total = env_uint("QNPU_STREAMS", 50);
  unsigned legal = 0, illegal = 0;
  for (unsigned i = first; i < first + total; i++) {
    const uint64_t seed = test_master_seed() * 1000003ull + i;
    const int bad = i % 4 == 3;
    current_stream = i;
    stream_run(f, seed, bad);
    if (bad) illegal++;
    else legal++;
  }
  print_message("  %u random streams: %u legal bit-exact on both backends, %u illegal stopped at the same command\n",
                total, legal, illegal);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stream_conv_3x3_padding_at_every_border, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_conv_stride2_uneven_padding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_conv_dilation2, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_conv_w4a8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_conv_w4a4, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_accumulator_base_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_output_tiles_back_to_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_pipelined_loads_and_stores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_token_producer_later_in_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_token_deadlock_through_full_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_token_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_illegal_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_soft_reset_with_traffic_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream_random_streams, setup, teardown),
  };
  return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
