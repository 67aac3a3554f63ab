/* test_runtime.c - the runtime (qnpu_rt.h) and the backend table on the fast
 * model: random layers bit-exact with the golden model at three array
 * sizes, every CMSIS-NN conformance case (skipped without ../shared), K
 * splits and streamed weights on a real ResNet-18 shape, device memory
 * freed after every layer, and the errors: an invalid layer, float
 * requantization, a precision the device lacks, a device too small, a
 * device that halts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "layer_case.h"
#include "qnpu_backend.h"
#include "qnpu_fm.h"
#include "rand_layer.h"

typedef struct {
  qnpu_fm_t *fm;
  qnpu_hal_t hal;
  qnpu_dev_t *dev;
} dev_t_;

static int open_fm(dev_t_ *d, uint32_t rows, uint32_t cols, int int4, uint64_t dram) {
  qnpu_fm_config_t fc;
  qnpu_fm_config_default(&fc);
  fc.rows = rows;
  fc.cols = cols;
  fc.int4 = int4;
  if (dram) fc.dram_bytes = dram;
  if (qnpu_fm_create(&fc, &d->fm)) return -1;
  d->hal = qnpu_hal_fast(d->fm);
  return qnpu_drv_open(&d->hal, NULL, NULL, &d->dev) ? -1 : 0;
}

static void close_fm(dev_t_ *d) {
  qnpu_drv_close(d->dev);
  qnpu_fm_destroy(d->fm);
}

/* Runs l on d and compares with the golden model; returns mismatches, or
 * -1 when the runtime failed (err says why). */
static long run_cmp(dev_t_ *d, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, qnpu_rt_stats_t *st, char *err,
                    size_t errlen) {
  const size_t n = qnpu_layer_out_count(l);
  int32_t *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
  assert_non_null(got);
  assert_non_null(want);
  assert_int_equal(qnpu_layer_golden(l, want), QNPU_OK);
  long bad = -1;
  if (qnpu_rt_run(d->dev, l, opt, got, st, err, errlen) == QNPU_OK) {
    bad = 0;
    for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
  }
  free(got);
  free(want);
  return bad;
}

static void random_layers_at(uint32_t rows, uint32_t cols, long count) {
  dev_t_ d;
  assert_int_equal(open_fm(&d, rows, cols, 1, 0), 0);
  const uint64_t seed = test_master_seed();
  long failed = 0, packed = 0;
  for (long i = 0; i < count; i++) {
    rand_layer_t x;
    assert_int_equal(rand_layer_make(&x, (seed << 32) + (uint64_t)i, qnpu_drv_info(d.dev)->precisions,
                                     (int)qnpu_drv_info(d.dev)->requant_f32), 0);
    char err[512] = "";
    qnpu_rt_stats_t st;
    const long bad = run_cmp(&d, &x.l, &x.opt, &st, err, sizeof err);
    if (bad) {
      print_error(
          "%ux%u case %ld (%s): %s %ld mismatches | repro: QNPU_SEED=%llu build/tests/test_runtime "
          "(or: layers_16x16 --backend model --size %ux%u --seed %llu --case %ld)\n",
          rows, cols, i, x.desc, err, bad, (unsigned long long)seed, rows, cols, (unsigned long long)seed, i);
      failed++;
    } else {
      /* the array issues at least the layer's MACs; more only for padding */
      assert_true(st.issued_macs >= st.macs);
      packed += st.taps_packed;
      assert_false(st.taps_packed && x.opt.no_packing);
      uint64_t used = 1, gap = 0;
      qnpu_drv_mem_stats(d.dev, &used, &gap);
      assert_int_equal(used, 0); /* every buffer freed */
    }
    rand_layer_free(&x);
  }
  close_fm(&d);
  assert_int_equal(failed, 0);
  assert_true(packed > 0); /* the generator reaches the tap-packed plan */
}

static void test_runtime_random_layers_16x16(void **s) {
  (void)s;
  random_layers_at(16, 16, 150);
}

static void test_runtime_random_layers_4x4(void **s) {
  (void)s;
  random_layers_at(4, 4, 100);
}

static void test_runtime_random_layers_8x16(void **s) {
  (void)s;
  random_layers_at(8, 16, 100);
}

/* A ResNet-18 layer4 3x3 conv (7x7x512 -> 512 there; 7x7x256 -> 48 here to
 * stay quick): its weights do not fit, so the plan splits the reduction and
 * streams the weights; still bit-exact, and the plan says so. */
static void test_runtime_k_split_conv(void **s) {
  (void)s;
  dev_t_ d;
  assert_int_equal(open_fm(&d, 16, 16, 1, 0), 0);
  const int32_t H = 7, C = 256, O = 48;
  int8_t *x = malloc((size_t)H * H * C), *w = malloc((size_t)O * 9 * C);
  int32_t b[48], m0[48], sh[48];
  test_rng_t r = {test_master_seed()};
  for (int i = 0; i < H * H * C; i++) x[i] = (int8_t)rng_range(&r, -128, 127);
  for (int i = 0; i < O * 9 * C; i++) w[i] = (int8_t)rng_range(&r, -128, 127);
  for (int i = 0; i < O; i++) b[i] = rng_range(&r, -5000, 5000), m0[i] = rng_range(&r, 1 << 30, INT32_MAX), sh[i] = -12;
  qnpu_layer_t l = {.op = QNPU_OP_CONV2D, .prec = QNPU_PREC_W8A8, .input = x, .filter = w, .bias = b};
  l.p = (qnpu_conv_params_t){.n = 1,
                             .h = H,
                             .w = H,
                             .c = C,
                             .out_c = O,
                             .kh = 3,
                             .kw = 3,
                             .stride_h = 1,
                             .stride_w = 1,
                             .dil_h = 1,
                             .dil_w = 1,
                             .pad_top = 1,
                             .pad_left = 1,
                             .pad_bottom = 1,
                             .pad_right = 1,
                             .groups = 1,
                             .depth_multiplier = 1,
                             .input_zero_point = -3};
  l.rq = (qnpu_requant_t){.mode = QNPU_REQUANT_TFLITE_Q31,
                          .per_channel = 1,
                          .multiplier = m0,
                          .shift = sh,
                          .output_zero_point = 4,
                          .act_min = -128,
                          .act_max = 127};
  const qnpu_rt_options_t opt = {.wgt_slot_rows = 1024, .no_resident = 1};
  qnpu_rt_stats_t st;
  char err[256];
  assert_int_equal(run_cmp(&d, &l, &opt, &st, err, sizeof err), 0);
  assert_true(st.pieces > 1);
  assert_false(st.weights_resident);
  assert_int_equal(st.channel_tiles, 3);
  assert_int_equal(st.macs, (uint64_t)H * H * O * 9 * C);
  /* the energy estimate from the counters: every activation row is 16x16
   * int8 MACs, every MAC 0.3 pJ, every DRAM byte 1300/8 pJ */
  assert_int_equal(st.hw_rows * 16 * 16, st.hw_macs);
  assert_true(st.wgt_rows >= (uint64_t)9 * C * 3 / 16 && st.wgt_rows % 16 == 0);
  assert_true(fabs(st.energy.mac - 0.3 * (double)st.hw_macs) < 1e-6 * st.energy.mac);
  assert_true(fabs(st.energy.dram - 162.5 * (double)(st.rd_bytes + st.wr_bytes)) < 1e-6 * st.energy.dram);
  assert_true(st.energy.spad > 0 && st.energy.acc > 0 && st.energy.requant > 0);
  assert_true(fabs(st.energy.total - (st.energy.mac + st.energy.spad + st.energy.acc + st.energy.requant +
                                      st.energy.dram)) < 1e-6 * st.energy.total);
  /* with the whole scratchpad too: 6,912 weight rows do not fit 4,096, and
   * one tile's 2,304 do not fit a 2,048-row slot */
  assert_int_equal(run_cmp(&d, &l, NULL, &st, err, sizeof err), 0);
  assert_false(st.weights_resident);
  assert_true(st.pieces > 1);
  /* 16 output channels: 2,304 rows, resident */
  l.p.out_c = 16;
  assert_int_equal(run_cmp(&d, &l, NULL, &st, err, sizeof err), 0);
  assert_true(st.weights_resident);
  assert_int_equal(st.pieces, 1);
  free(x);
  free(w);
  close_fm(&d);
}

static void test_runtime_errors(void **s) {
  (void)s;
  dev_t_ d;
  assert_int_equal(open_fm(&d, 16, 16, 0, 1u << 20), 0); /* int8-only PEs, 1 MiB */
  int8_t x[64] = {0}, w[64] = {0};
  int32_t m0 = 1 << 30, sh = 0, out[64];
  double scale = 0.5;
  qnpu_layer_t l = qnpu_layer_fully_connected(QNPU_PREC_W8A8, 4, 8, 8, x, w, NULL);
  l.rq = (qnpu_requant_t){
      .mode = QNPU_REQUANT_TFLITE_Q31, .multiplier = &m0, .shift = &sh, .act_min = -128, .act_max = 127};
  char err[512];
  assert_int_equal(qnpu_rt_run(d.dev, &l, NULL, out, NULL, err, sizeof err), QNPU_OK);

  qnpu_layer_t bad = l;
  bad.op = QNPU_OP_CONV2D;
  bad.p.groups = 3; /* does not divide 8 */
  assert_int_equal(qnpu_rt_run(d.dev, &bad, NULL, out, NULL, err, sizeof err), QNPU_ERR_ARG);
  assert_non_null(strstr(err, "groups 3 must divide"));

  bad = l;
  bad.rq.mode = QNPU_REQUANT_FLOAT_RNE;
  bad.rq.scale = &scale;
  assert_int_equal(qnpu_rt_run(d.dev, &bad, NULL, out, NULL, err, sizeof err), QNPU_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "float_rne"));

  bad = l;
  bad.prec = QNPU_PREC_W4A4;
  assert_int_equal(qnpu_rt_run(d.dev, &bad, NULL, out, NULL, err, sizeof err), QNPU_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "W4A4 is not built"));

  bad = l;
  x[3] = 100; /* fine for int8 ... */
  bad.prec = QNPU_PREC_W4A8;
  w[5] = 9; /* ... but 9 is not an int4 weight */
  assert_int_equal(qnpu_rt_run(d.dev, &bad, NULL, out, NULL, err, sizeof err), QNPU_ERR_ARG);
  assert_non_null(strstr(err, "filter element 5 is 9"));
  w[5] = 0;

  /* 1 MiB of device memory cannot hold a 1024 x 1024 weight matrix */
  int8_t *big = calloc(1024 * 1024, 1);
  int8_t in[1024] = {0};
  bad = l;
  bad.input = in;
  bad.filter = big;
  bad.p.n = 1, bad.p.c = 1024, bad.p.out_c = 1024;
  int32_t *o2 = malloc(1024 * sizeof *o2);
  assert_int_equal(qnpu_rt_run(d.dev, &bad, NULL, o2, NULL, err, sizeof err), QNPU_ERR_NOMEM);
  assert_non_null(strstr(err, "device memory"));
  uint64_t used = 1;
  qnpu_drv_mem_stats(d.dev, &used, NULL);
  assert_int_equal(used, 0); /* the partial allocation was freed */
  free(big);
  free(o2);
  close_fm(&d);
}

/* A HAL that claims more device memory than the fast model has: writes
 * past the end are dropped, so the runtime's loads fetch from outside DRAM
 * and the device halts with a DMA error, which the runtime must return as
 * QNPU_ERR_HW with the decoded message (the CLI's exit 3). */
typedef struct {
  qnpu_hal_t inner;
  uint64_t real;
} liar_t;

static qnpu_status_t liar_rr(void *c, uint32_t o, uint32_t *v) {
  return qnpu_hal_reg_read(&((liar_t *)c)->inner, o, v);
}
static qnpu_status_t liar_rw(void *c, uint32_t o, uint32_t v) {
  return qnpu_hal_reg_write(&((liar_t *)c)->inner, o, v);
}
static qnpu_status_t liar_mr(void *c, uint64_t a, void *b, size_t n) {
  liar_t *l = c;
  if (a + n > l->real) return memset(b, 0, n), QNPU_OK;
  return qnpu_hal_mem_read(&l->inner, a, b, n);
}
static qnpu_status_t liar_mw(void *c, uint64_t a, const void *b, size_t n) {
  liar_t *l = c;
  return a + n > l->real ? QNPU_OK : qnpu_hal_mem_write(&l->inner, a, b, n);
}
static qnpu_status_t liar_wait(void *c, uint32_t n) { return qnpu_hal_wait(&((liar_t *)c)->inner, n); }
static uint64_t liar_size(void *c) { return 4 * ((liar_t *)c)->real; }
static const qnpu_hal_ops_t kLiarOps = {"liar", liar_rr, liar_rw, liar_mr, liar_mw, liar_wait, liar_size};

static void test_runtime_hw_error_is_reported(void **s) {
  (void)s;
  qnpu_fm_config_t fc;
  qnpu_fm_config_default(&fc);
  fc.dram_bytes = 1u << 20;
  qnpu_fm_t *fm;
  assert_int_equal(qnpu_fm_create(&fc, &fm), QNPU_OK);
  liar_t liar = {qnpu_hal_fast(fm), fc.dram_bytes};
  const qnpu_hal_t hal = {&kLiarOps, &liar, NULL, NULL};
  qnpu_dev_t *dev;
  assert_int_equal(qnpu_drv_open(&hal, NULL, NULL, &dev), QNPU_OK);
  /* 2 MiB of weights: they land beyond the real 1 MiB */
  const int32_t K = 2048, O = 1024;
  int8_t *w = calloc((size_t)K * O, 1), x[2048] = {0};
  int32_t m0 = 1 << 30, sh = 0, out[1024];
  qnpu_layer_t l = qnpu_layer_fully_connected(QNPU_PREC_W8A8, 1, K, O, x, w, NULL);
  l.rq = (qnpu_requant_t){
      .mode = QNPU_REQUANT_TFLITE_Q31, .multiplier = &m0, .shift = &sh, .act_min = -128, .act_max = 127};
  char err[512];
  assert_int_equal(qnpu_rt_run(dev, &l, NULL, out, NULL, err, sizeof err), QNPU_ERR_HW);
  assert_non_null(strstr(err, "the device halted"));
  assert_non_null(strstr(err, "DMA"));
  uint64_t used = 1;
  qnpu_drv_mem_stats(dev, &used, NULL);
  assert_int_equal(used, 0);
  /* after a soft reset the same device runs a layer that fits */
  assert_int_equal(qnpu_drv_reset(dev), QNPU_OK);
  l.p.c = 64, l.p.out_c = 32;
  assert_int_equal(qnpu_rt_run(dev, &l, NULL, out, NULL, err, sizeof err), QNPU_OK);
  free(w);
  qnpu_drv_close(dev);
  qnpu_fm_destroy(fm);
}

/* The backend table: names, golden through the seam, a missing sim. */
static void test_backend_table(void **s) {
  (void)s;
  int known = 0;
  assert_null(qnpu_backend_find("rtl9000", &known));
  assert_int_equal(known, 0);
  assert_null(qnpu_backend_find("sim", &known)); /* not linked into the unit tests */
  assert_int_equal(known, 1);
  char names[64];
  assert_string_equal(qnpu_backend_names(names, sizeof names), "golden, model, mmio");
  const qnpu_backend_t *g = qnpu_backend_find("golden", NULL), *m = qnpu_backend_find("model", NULL);
  assert_non_null(g);
  assert_non_null(m);
  rand_layer_t x;
  assert_int_equal(rand_layer_make(&x, test_master_seed(), 7, 1), 0);
  const size_t n = qnpu_layer_out_count(&x.l);
  int32_t *a = malloc(n * 4), *b = malloc(n * 4);
  char err[512];
  qnpu_session_t *sg, *sm;
  assert_int_equal(qnpu_session_open(g, NULL, &sg, err, sizeof err), QNPU_OK);
  assert_null(qnpu_session_dev(sg));
  assert_int_equal(qnpu_session_open(m, NULL, &sm, err, sizeof err), QNPU_OK);
  assert_non_null(qnpu_session_dev(sm));
  qnpu_rt_stats_t st;
  assert_int_equal(qnpu_session_run(sg, &x.l, NULL, a, &st, err, sizeof err), QNPU_OK);
  assert_int_equal(st.macs, qnpu_layer_macs(&x.l));
  assert_int_equal(qnpu_session_run(sm, &x.l, &x.opt, b, &st, err, sizeof err), QNPU_OK);
  assert_memory_equal(a, b, n * 4);
  const qnpu_backend_t *mm = qnpu_backend_find("mmio", NULL);
  const qnpu_backend_config_t cfg = {.device = "/nonexistent/uio9"};
  qnpu_session_t *sx;
  assert_int_not_equal(qnpu_session_open(mm, &cfg, &sx, err, sizeof err), QNPU_OK);
  assert_non_null(strstr(err, "backend mmio"));
  qnpu_session_close(sg);
  qnpu_session_close(sm);
  free(a);
  free(b);
  rand_layer_free(&x);
}

/* Every CMSIS-NN case on the model backend, against its expected.npy. */
static void test_runtime_conformance_model(void **s) {
  (void)s;
  const char *sh = getenv("QNPU_SHARED");
  char root[512];
  snprintf(root, sizeof root, "%s/conformance/cmsis-nn", sh && *sh ? sh : "../shared");
  DIR *dir = opendir(root);
  if (!dir) skip();
  dev_t_ d;
  assert_int_equal(open_fm(&d, 16, 16, 1, 0), 0);
  struct dirent *e;
  int cases = 0, failed = 0;
  while ((e = readdir(dir))) {
    if (e->d_name[0] == '.') continue;
    char path[1100], err[600];
    snprintf(path, sizeof path, "%s/%s", root, e->d_name);
    qnpu_case_t c;
    if (qnpu_case_load(path, &c, err, sizeof err)) {
      qnpu_case_free(&c);
      continue;
    }
    const qnpu_layer_t l = qnpu_case_layer(&c);
    const size_t n = qnpu_layer_out_count(&l);
    int32_t *out = malloc(n * sizeof *out);
    assert_non_null(out);
    const qnpu_status_t st = qnpu_rt_run(d.dev, &l, NULL, out, NULL, err, sizeof err);
    int bad = st != QNPU_OK || !c.expected.data;
    for (size_t i = 0; !bad && i < n; i++)
      bad = out[i] != qnpu_case_expected_at(&c, i);
    if (bad) {
      print_error("%s: %s | repro: build/bin/qnpu layer %s --backend model\n", e->d_name, st ? err : "mismatch", path);
      failed++;
    }
    cases++;
    free(out);
    qnpu_case_free(&c);
  }
  closedir(dir);
  close_fm(&d);
  assert_true(cases >= 90);
  assert_int_equal(failed, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_runtime_random_layers_16x16),
      cmocka_unit_test(test_runtime_random_layers_4x4),
      cmocka_unit_test(test_runtime_random_layers_8x16),
      cmocka_unit_test(test_runtime_k_split_conv),
      cmocka_unit_test(test_runtime_errors),
      cmocka_unit_test(test_runtime_hw_error_is_reported),
      cmocka_unit_test(test_backend_table),
      cmocka_unit_test(test_runtime_conformance_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
