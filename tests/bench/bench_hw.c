/* bench_hw.c - the accelerator's micro-benchmarks and the simulator's speed
 * (make bench-hw): figures, never pass/fail. Every number comes from the
 * hardware's own counters or the DRAM model's port record, on the fast
 * Verilated model, and every result is checked bit-exact on the way.
 *
 *   bench_hw [--json FILE] [--runs N] [--speed-cycles N] [--speed-only | --train] [--quiet]
 *
 * --speed-only runs just the GEMM stream and prints its cycles (for
 * profiling the model: valgrind --tool=callgrind bench_hw --speed-only).
 * --train runs just benchmarks 1-4, silently: the training run of the fast
 * model's profile-guided build (Makefile), which so never sees the speed
 * benchmark's own workload.
 *
 * 1. 64 LOADs of 16 rows: bytes the DRAM port moved per cycle, from the
 *    stream's first request to its last response.
 * 2. 32 output tiles x 8 folds at M = 64, back to back: activation rows
 *    issued per cycle from the first row to the last.
 * 3. M = 16 folds: cycles per fold, one COMPUTE of 64 folds and 64
 *    COMPUTEs of one fold.
 * 4. A 3x3 stride-1 padded convolution tile: DRAM bytes read over the
 *    patch + weights + parameters.
 * 5. Simulation speed while a GEMM streams: simulated cycles per host
 *    second (median of --runs), to be set beside the bare-array reference
 *    measured in the same job (the Makefile runs it and adds the ratio). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnpu_drv.h"
#include "qnpu_golden.h"
#include "qnpu_hal_sim.h"
#include "qnpu_tile.h"

#define TIMEOUT 200000000u

static int quiet;

static void die(const char *what, qnpu_status_t st) {
  fprintf(stderr, "bench_hw: %s: %s\n", what, qnpu_status_str(st));
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
  qnpu_sim_t *sim;
  qnpu_hal_t hal;
  qnpu_dev_t *dev;
  const qnpu_dev_info_t *in;
} bench_t;

static void open_bench(bench_t *b) {
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = 8u << 20;
  qnpu_status_t st = qnpu_sim_create(&sc, &b->sim);
  if (st) die("creating the model", st);
  b->hal = qnpu_hal_sim(b->sim);
  /* Poll often, so that a wait ends within a few cycles of the device. */
  const qnpu_drv_options_t o = {256, 8};
  if ((st = qnpu_drv_open(&b->hal, NULL, &o, &b->dev))) die("opening the device", st);
  b->in = qnpu_drv_info(b->dev);
}

static void close_bench(bench_t *b) {
  qnpu_drv_close(b->dev);
  qnpu_sim_destroy(b->sim);
}

static void run(bench_t *b, const qnpu_cmd_t *c, size_t n, const char *what) {
  qnpu_status_t st = qnpu_drv_submit(b->dev, c, n);
  if (!st) st = qnpu_drv_wait(b->dev, TIMEOUT);
  if (st) {
    qnpu_hw_error_t e;
    if (qnpu_drv_hw_error(b->dev, &e) == QNPU_OK) fprintf(stderr, "bench_hw: %s: %s\n", what, e.message);
    die(what, st);
  }
}

static void write_dev(bench_t *b, uint64_t addr, const void *p, size_t n) {
  const qnpu_status_t st = qnpu_drv_write(b->dev, addr, p, n);
  if (st) die("writing device memory", st);
}

static qnpu_counters_t counters(bench_t *b) {
  qnpu_counters_t c;
  const qnpu_status_t st = qnpu_drv_counters(b->dev, &c);
  if (st) die("reading the counters", st);
  return c;
}

static void clear(bench_t *b) {
  const qnpu_status_t st = qnpu_drv_clear_counters(b->dev);
  if (st) die("clearing the counters", st);
}

static uint64_t rng_state = 0x5eed2026u;
static uint32_t rnd(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (uint32_t)(z ^ (z >> 31));
}

static void fill(void *p, size_t n) {
  for (size_t i = 0; i < n; i++) ((uint8_t *)p)[i] = (uint8_t)rnd();
}

/* Parameter records for C columns: pass-through requantization. */
static void plain_params(bench_t *b, uint64_t at) {
  uint8_t rec[16 * 256];
  for (uint32_t j = 0; j < b->in->cols; j++) {
    const qnpu_prm_t p = {(int32_t)(rnd() % 2000), 1 << 30, -10, 0, 0, -128, 127};
    qnpu_prm_encode(&p, rec + 16 * j);
  }
  write_dev(b, at, rec, 16u * b->in->cols);
}

/* ---- 1. a stream of LOADs --------------------------------------------------- */
typedef struct {
  double port, data, steady_port, steady_data;
  uint64_t window, beats, data_beats, steady_window, steady_beats, lead, tail;
} load_fig_t;

static load_fig_t bench_loads(bench_t *b, uint32_t N) {
  const uint32_t ROWS = 16, R = b->in->rows;
  uint8_t *src = malloc((size_t)N * ROWS * R), *back = malloc((size_t)N * ROWS * R);
  fill(src, (size_t)N * ROWS * R);
  write_dev(b, 0x100000, src, (size_t)N * ROWS * R);
  qnpu_cmd_t *c = calloc(N + 1, sizeof *c);
  for (uint32_t i = 0; i < N; i++) {
    const qnpu_xfer_t l = {.target = QNPU_TGT_LOAD_ACT, .spad_row = i * ROWS,
                           .dram_addr = 0x100000 + i * ROWS * R, .len = R, .count1 = ROWS, .count2 = 1,
                           .count3 = 1, .stride1 = R};
    c[i] = qnpu_cmd_load(&l);
  }
  c[N] = qnpu_cmd_fence(0);
  qnpu_sim_port_reset(b->sim, 0x100000, 0x100000 + (uint64_t)N * ROWS * R);
  run(b, c, N + 1, "the LOAD stream");
  free(c);
  const qnpu_sim_port_stats_t p = qnpu_sim_port_stats(b->sim);
  load_fig_t f;
  f.window = p.last_rsp - p.first_req + 1;
  f.beats = p.read_beats;
  f.data_beats = p.range_beats;
  f.port = (double)f.beats / (double)f.window;
  f.data = (double)f.data_beats / (double)f.window;
  /* From the first row's request to the last row's request: the rate. */
  f.steady_window = p.range_last_req - p.range_first_req + 1;
  f.steady_beats = p.beats_in_range_window;
  f.steady_port = (double)f.steady_beats / (double)f.steady_window;
  f.steady_data = (double)f.data_beats / (double)f.steady_window;
  f.lead = p.range_first_req - p.first_req;
  f.tail = p.last_rsp - p.range_last_req;
  /* the rows arrived: store them back and compare */
  qnpu_cmd_t s[2];
  const qnpu_xfer_t st = {.target = QNPU_TGT_STORE_ACT, .dram_addr = 0x200000, .len = R, .count1 = N * ROWS,
                          .count2 = 1, .count3 = 1, .stride1 = R};
  s[0] = qnpu_cmd_store(&st);
  s[1] = qnpu_cmd_fence(0);
  run(b, s, 2, "storing the loaded rows");
  if (qnpu_drv_read(b->dev, 0x200000, back, (size_t)N * ROWS * R) ||
      memcmp(back, src, (size_t)N * ROWS * R)) {
    fprintf(stderr, "bench_hw: the LOAD stream moved the wrong bytes\n");
    exit(1);
  }
  free(src);
  free(back);
  return f;
}

/* ---- 2. and 3. compute streams ------------------------------------------------ */
typedef struct {
  uint32_t rows, window;
  double busy, per_fold;
} comp_fig_t;

/* T COMPUTEs of F folds each at M rows, operands already in the scratchpads. */
static comp_fig_t bench_compute(bench_t *b, uint32_t T, uint32_t F, uint32_t M) {
  const uint32_t R = b->in->rows, C = b->in->cols;
  /* activations: M x F rows; weights: one set of F folds per command, wrapping */
  const uint32_t wsets = b->in->wgt_rows / (F * R);
  uint8_t *buf = malloc((size_t)M * F * R + (size_t)wsets * F * R * C);
  fill(buf, (size_t)M * F * R + (size_t)wsets * F * R * C);
  write_dev(b, 0x100000, buf, (size_t)M * F * R);
  write_dev(b, 0x300000, buf + (size_t)M * F * R, (size_t)wsets * F * R * C);
  free(buf);
  plain_params(b, 0x500000);
  qnpu_cmd_t *c = calloc(T + 8, sizeof *c);
  size_t n = 0;
  const qnpu_xfer_t la = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x100000, .len = R, .count1 = M * F,
                          .count2 = 1, .count3 = 1, .stride1 = R};
  const qnpu_xfer_t lw = {.target = QNPU_TGT_LOAD_WGT, .dram_addr = 0x300000, .len = C,
                          .count1 = wsets * F * R, .count2 = 1, .count3 = 1, .stride1 = C};
  const qnpu_xfer_t lp = {.target = QNPU_TGT_LOAD_PRM0, .dram_addr = 0x500000, .len = 16 * C, .count1 = 1,
                          .count2 = 1, .count3 = 1};
  c[n++] = qnpu_cmd_load(&la);
  c[n++] = qnpu_cmd_load(&lw);
  c[n++] = qnpu_cmd_load(&lp);
  c[n++] = qnpu_cmd_fence(0);
  run(b, c, n, "loading the operands");
  clear(b);
  n = 0;
  const uint32_t acc_tiles = b->in->acc_depth / M, out_tiles = b->in->out_rows / M;
  for (uint32_t t = 0; t < T; t++) {
    const qnpu_compute_t cp = {.mode = QNPU_MODE_W8A8, .a_row = 0, .w_row = (t % wsets) * F * R,
                               .acc_row = (t % acc_tiles) * M, .out_row = (t % out_tiles) * M, .mx = M, .my = 1,
                               .as_x = F, .f1 = F, .f2 = 1, .f3 = 1, .fs1 = 1, .first = 1, .last = 1};
    c[n++] = qnpu_cmd_compute(&cp);
  }
  c[n++] = qnpu_cmd_fence(0);
  run(b, c, n, "the compute stream");
  free(c);
  const qnpu_counters_t k = counters(b);
  comp_fig_t f;
  f.rows = k.rows;
  f.window = k.last_row - k.first_row + 1;
  f.busy = (double)k.rows / (double)f.window;
  f.per_fold = (double)f.window / ((double)T * F);
  return f;
}

/* ---- 4. a padded convolution tile ------------------------------------------- */
typedef struct {
  uint64_t read, patch, weights, params, cycles;
  double ratio, util;
} conv_fig_t;

static conv_fig_t bench_conv(bench_t *b) {
  const qnpu_dev_info_t *in = b->in;
  const int32_t H = 14, W = 14, Cin = 4 * (int32_t)in->rows, O = (int32_t)in->cols;
  int8_t *x = malloc((size_t)H * W * Cin), *w = malloc((size_t)O * 9 * Cin);
  fill(x, (size_t)H * W * Cin);
  fill(w, (size_t)O * 9 * Cin);
  int32_t bias[256], m0[256], sh[256];
  for (int32_t j = 0; j < O; j++) bias[j] = (int32_t)(rnd() % 4000) - 2000, m0[j] = 1 << 30, sh[j] = -9;
  qnpu_conv_tile_t t;
  memset(&t, 0, sizeof t);
  t.mode = QNPU_MODE_W8A8;
  t.h = H, t.w = W, t.c = Cin, t.o = O, t.kh = 3, t.kw = 3, t.stride_h = t.stride_w = 1, t.dil_h = t.dil_w = 1;
  t.pad_top = t.pad_left = t.pad_bottom = t.pad_right = 1;
  t.input = x, t.filter = w, t.zx = 7, t.bias = bias, t.m0 = m0, t.shift = sh;
  t.zp = -3, t.act_min = -128, t.act_max = 127;
  qnpu_drv_free_all(b->dev);
  qnpu_tile_plan_t plan;
  qnpu_cmd_t c[QNPU_TILE_MAX_CMDS + 1];
  qnpu_status_t st = qnpu_conv_tile_prepare(b->dev, &t, &plan, c);
  if (st) die("preparing the convolution tile", st);
  c[plan.commands] = qnpu_cmd_fence(0);
  clear(b);
  run(b, c, plan.commands + 1, "the convolution tile");
  const qnpu_counters_t k = counters(b);
  const int32_t n = H * W * O;
  int32_t *got = malloc(sizeof(int32_t) * (size_t)n), *want = malloc(sizeof(int32_t) * (size_t)n);
  const qnpu_conv_params_t p = {1, H, W, Cin, O, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7, 0};
  const qnpu_requant_t rq = {.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = m0, .shift = sh,
                             .scale = NULL, .output_zero_point = -3, .act_min = -128, .act_max = 127};
  if ((st = qnpu_conv_tile_result(b->dev, &t, &plan, got)) ||
      (st = qnpu_golden_conv2d(&p, &rq, x, w, bias, want)))
    die("checking the convolution tile", st);
  if (memcmp(got, want, sizeof(int32_t) * (size_t)n)) {
    fprintf(stderr, "bench_hw: the convolution tile is not bit-exact\n");
    exit(1);
  }
  conv_fig_t f;
  f.read = k.rd_bytes;
  f.patch = (uint64_t)H * W * Cin;
  f.weights = (uint64_t)9 * Cin * O;
  f.params = 16ull * in->cols;
  f.cycles = k.cycles;
  f.ratio = (double)f.read / (double)(f.patch + f.weights + f.params);
  f.util = (double)H * W * 9 * Cin * O / ((double)in->rows * in->cols * (double)(k.last_row - k.first_row + 1));
  free(x);
  free(w);
  free(got);
  free(want);
  return f;
}

/* ---- 5. simulation speed while a GEMM streams ------------------------------------ */
typedef struct {
  double mcps[16], median, util;
  uint64_t cycles;
  int runs;
} speed_fig_t;

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Jobs of out[64][16] = A[64][512] B_j[512][16]: A stays in the scratchpad,
 * each job loads its weights into the free half (double buffering through
 * tokens), computes 32 folds and stores its rows. */
static void speed_run(bench_t *b, uint64_t min_cycles, double *mcps, uint64_t *cycles, double *util) {
  const uint32_t R = b->in->rows, C = b->in->cols, M = 64, F = 512 / R, K = F * R;
  const uint32_t jobs = (uint32_t)(min_cycles / ((uint64_t)M * F)) + 1;
  uint8_t *buf = malloc((size_t)M * K + (size_t)2 * K * C);
  fill(buf, (size_t)M * K + (size_t)2 * K * C);
  write_dev(b, 0x100000, buf, (size_t)M * K);
  write_dev(b, 0x300000, buf + (size_t)M * K, (size_t)2 * K * C);
  free(buf);
  plain_params(b, 0x500000);
  qnpu_cmd_t *c = calloc((size_t)jobs * 3 + 8, sizeof *c);
  size_t n = 0;
  const qnpu_xfer_t la = {.target = QNPU_TGT_LOAD_ACT, .dram_addr = 0x100000, .len = R, .count1 = M * F,
                          .count2 = 1, .count3 = 1, .stride1 = R};
  c[n++] = qnpu_cmd_load(&la);
  for (uint32_t bank = 0; bank < 2; bank++) {
    const qnpu_xfer_t lp = {.target = bank ? QNPU_TGT_LOAD_PRM1 : QNPU_TGT_LOAD_PRM0, .dram_addr = 0x500000,
                            .len = 16 * C, .count1 = 1, .count2 = 1, .count3 = 1};
    c[n++] = qnpu_cmd_load(&lp);
  }
  c[n++] = qnpu_cmd_fence(0);
  run(b, c, n, "loading the activations");
  n = 0;
  qnpu_cmd_t ld[2], cp[2], st[2];
  for (uint32_t i = 0; i < jobs + 1; i++) {
    if (i < jobs) {
      const uint32_t h = i % 2;
      const qnpu_xfer_t lw = {.target = QNPU_TGT_LOAD_WGT, .spad_row = h * K, .dram_addr = 0x300000 + h * K * C,
                              .len = C, .count1 = K, .count2 = 1, .count3 = 1, .stride1 = C};
      ld[h] = qnpu_cmd_load(&lw);
      qnpu_cmd_deps(&ld[h], 0, i >= 2, 0, 1);
      const qnpu_compute_t k = {.mode = QNPU_MODE_W8A8, .w_row = h * K, .acc_row = h * M, .out_row = h * M,
                                .mx = M, .my = 1, .as_x = F, .f1 = F, .f2 = 1, .f3 = 1, .fs1 = 1, .first = 1,
                                .last = 1, .pbank = h};
      cp[h] = qnpu_cmd_compute(&k);
      qnpu_cmd_deps(&cp[h], 1, i >= 2, 1, 1);
      const qnpu_xfer_t so = {.target = QNPU_TGT_STORE_OUT8, .spad_row = h * M,
                              .dram_addr = 0x600000 + (i % 64) * M * C, .len = C, .count1 = M, .count2 = 1,
                              .count3 = 1, .stride1 = C};
      st[h] = qnpu_cmd_store(&so);
      qnpu_cmd_deps(&st[h], 1, 0, 1, 0);
      c[n++] = ld[h];
    }
    if (i >= 1) {
      c[n++] = cp[(i - 1) % 2];
      c[n++] = st[(i - 1) % 2];
    }
  }
  c[n++] = qnpu_cmd_fence(0);
  clear(b);
  const uint64_t c0 = qnpu_sim_cycles(b->sim);
  const double t0 = now();
  run(b, c, n, "the GEMM stream");
  const double t1 = now();
  *cycles = qnpu_sim_cycles(b->sim) - c0;
  *mcps = (double)*cycles / (t1 - t0) / 1e6;
  const qnpu_counters_t k = counters(b);
  *util = (double)k.macs / ((double)R * C * (double)k.cycles);
  free(c);
  /* a reset drops the tokens the last two jobs left */
  const qnpu_status_t s = qnpu_drv_reset(b->dev);
  if (s) die("resetting", s);
}

int main(int argc, char **argv) {
  const char *json = NULL;
  int runs = 5, speed_only = 0, train = 0;
  uint64_t speed_cycles = 400000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--speed-cycles") && i + 1 < argc) speed_cycles = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--quiet")) quiet = 1;
    else if (!strcmp(argv[i], "--speed-only")) speed_only = 1;
    else if (!strcmp(argv[i], "--train")) train = 1;
    else {
      fprintf(stderr, "usage: %s [--json FILE] [--runs N] [--speed-cycles N] [--speed-only | --train] [--quiet]\n",
              argv[0]);
      return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
    }
  }
  if (runs < 1 || runs > 16) {
    fprintf(stderr, "bench_hw: --runs must be 1..16\n");
    return 2;
  }
  bench_t b;
  open_bench(&b);
  const qnpu_dev_info_t *in = b.in;
  if (speed_only) {
    double mcps, util;
    uint64_t cycles;
    const uint64_t c0 = qnpu_sim_cycles(b.sim);
    speed_run(&b, speed_cycles, &mcps, &cycles, &util);
    printf("speed-only: %llu cycles in the stream, %llu simulated in all; %.3f M cycles/s, %.1f%% of peak\n",
           (unsigned long long)cycles, (unsigned long long)(qnpu_sim_cycles(b.sim) - c0), mcps, 100 * util);
    close_bench(&b);
    return 0;
  }
  if (train) {
    (void)bench_loads(&b, 64);
    (void)bench_compute(&b, 32, 8, 64);
    (void)bench_compute(&b, 1, 64, 16);
    (void)bench_compute(&b, 64, 1, 16);
    (void)bench_conv(&b);
    close_bench(&b);
    return 0;
  }
  if (!quiet)
    printf("bench-hw: %ux%u fast model, DRAM %u B/cycle, %u-cycle latency\n", in->rows, in->cols, 16, 64);
  const load_fig_t lf = bench_loads(&b, 64);
  const comp_fig_t t2 = bench_compute(&b, 32, 8, 64);
  const comp_fig_t t3a = bench_compute(&b, 1, 64, 16);
  const comp_fig_t t3b = bench_compute(&b, 64, 1, 16);
  const conv_fig_t cf = bench_conv(&b);
  speed_fig_t sp = {{0}, 0, 0, 0, runs};
  for (int r = 0; r < runs; r++) {
    speed_run(&b, speed_cycles, &sp.mcps[r], &sp.cycles, &sp.util);
    if (!quiet) fprintf(stderr, "  speed run %d: %.3f M cycles/s\n", r + 1, sp.mcps[r]);
  }
  double sorted[16];
  memcpy(sorted, sp.mcps, sizeof sorted);
  qsort(sorted, (size_t)runs, sizeof sorted[0], cmp_double);
  sp.median = runs % 2 ? sorted[runs / 2] : 0.5 * (sorted[runs / 2 - 1] + sorted[runs / 2]);
  close_bench(&b);

  if (!quiet) {
    printf("  1. 64 LOADs x 16 rows: from the first row's request to the last row's, the port moved %.1f%% of its "
           "bytes per cycle (%llu beats in %llu cycles; the rows alone %.1f%%: each 16-beat LOAD also fetches its "
           "2-beat command); from the first command fetch to the last response %.1f%% (%llu beats in %llu cycles, "
           "%llu of them before the first row's request and %llu after its last)   target >= 90%%\n",
           100 * lf.steady_port, (unsigned long long)lf.steady_beats, (unsigned long long)lf.steady_window,
           100 * lf.steady_data, 100 * lf.port, (unsigned long long)lf.beats, (unsigned long long)lf.window,
           (unsigned long long)lf.lead, (unsigned long long)lf.tail);
    printf("  2. 32 tiles x 8 folds at M = 64, back to back: rows issued in %.2f%% of the cycles from the first row "
           "to the last (%u rows in %u cycles)   target >= 99%%\n",
           100 * t2.busy, t2.rows, t2.window);
    printf("  3. M = 16 folds: %.2f cycles per fold as one COMPUTE of 64 folds, %.2f as 64 COMPUTEs of one fold   "
           "target 16\n",
           t3a.per_fold, t3b.per_fold);
    printf("  4. 3x3 stride-1 pad-1 convolution tile 14x14x%u -> 14x14x%u: %llu B read = %.3f x (patch %llu + "
           "weights %llu + parameters %llu); the array busy %.1f%% from its first row to its last   target <= 1.2\n",
           in->rows * 4, in->cols, (unsigned long long)cf.read, cf.ratio, (unsigned long long)cf.patch,
           (unsigned long long)cf.weights, (unsigned long long)cf.params, 100 * cf.util);
    printf("  5. simulation while a GEMM streams (%.1f%% of peak, %llu cycles a run): %.3f M cycles/s, median of %d\n",
           100 * sp.util, (unsigned long long)sp.cycles, sp.median, runs);
  }
  if (json) {
    FILE *fp = fopen(json, "w");
    if (!fp) {
      fprintf(stderr, "bench_hw: cannot write %s\n", json);
      return 1;
    }
    fprintf(fp, "{\n  \"config\": {\"rows\": %u, \"cols\": %u, \"acc_depth\": %u, \"act_rows\": %u, \"wgt_rows\": %u, "
                "\"out_rows\": %u, \"dram_bytes_per_cycle\": 16, \"dram_latency\": 64},\n",
            in->rows, in->cols, in->acc_depth, in->act_rows, in->wgt_rows, in->out_rows);
    fprintf(fp, "  \"load_stream\": {\"loads\": 64, \"rows\": 16, \"stream_cycles\": %llu, \"stream_beats\": %llu, "
                "\"data_beats\": %llu, \"port_utilization\": %.4f, \"data_utilization\": %.4f, "
                "\"whole_window_cycles\": %llu, \"whole_window_beats\": %llu, \"whole_window_port_utilization\": %.4f, "
                "\"whole_window_data_utilization\": %.4f, \"lead_cycles\": %llu, \"tail_cycles\": %llu, "
                "\"target\": 0.90},\n",
            (unsigned long long)lf.steady_window, (unsigned long long)lf.steady_beats,
            (unsigned long long)lf.data_beats, lf.steady_port, lf.steady_data, (unsigned long long)lf.window,
            (unsigned long long)lf.beats, lf.port, lf.data, (unsigned long long)lf.lead, (unsigned long long)lf.tail);
    fprintf(fp, "  \"tiles_back_to_back\": {\"tiles\": 32, \"folds\": 8, \"m\": 64, \"rows\": %u, \"window_cycles\": %u, "
                "\"busy\": %.5f, \"target\": 0.99},\n",
            t2.rows, t2.window, t2.busy);
    fprintf(fp, "  \"m16_folds\": {\"one_command_cycles_per_fold\": %.3f, \"one_fold_commands_cycles_per_fold\": %.3f, "
                "\"target\": 16},\n",
            t3a.per_fold, t3b.per_fold);
    fprintf(fp, "  \"conv_tile\": {\"shape\": \"14x14x%u -> 14x14x%u, 3x3, stride 1, pad 1\", \"read_bytes\": %llu, "
                "\"patch_bytes\": %llu, \"weight_bytes\": %llu, \"param_bytes\": %llu, \"ratio\": %.4f, "
                "\"target\": 1.2, \"array_busy\": %.4f},\n",
            in->rows * 4, in->cols, (unsigned long long)cf.read, (unsigned long long)cf.patch,
            (unsigned long long)cf.weights, (unsigned long long)cf.params, cf.ratio, cf.util);
    fprintf(fp, "  \"sim_speed\": {\"workload\": \"GEMM stream 64x512x16 jobs\", \"cycles_per_run\": %llu, "
                "\"utilization\": %.4f, \"mcycles_per_s\": [",
            (unsigned long long)sp.cycles, sp.util);
    for (int r = 0; r < runs; r++) fprintf(fp, "%s%.4f", r ? ", " : "", sp.mcps[r]);
    fprintf(fp, "], \"median_mcycles_per_s\": %.4f, \"target_mcycles_per_s\": 0.8}\n}\n", sp.median);
    fclose(fp);
  }
  return 0;
}
