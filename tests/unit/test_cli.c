/* test_cli.c - the qnpu command line: help, exit codes, text and JSON
 * reports, --out, mismatch reporting, malformed cases through the CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "case_fixture.h"
#include "cli_util.h"

typedef struct {
  char dir[64];
  char args[512];
  char out[16384];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = test_fixture_new(sizeof *f);
  if (!f || fixture_write_case(f->dir, test_master_seed())) return -1;
  *state = f;
  return 0;
}

static int run(fixture_t *f, int merge, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(fixture_t *f, int merge, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->args, sizeof f->args, fmt, ap);
  va_end(ap);
  return cli_run(f->args, merge, f->out, sizeof f->out);
}

static void test_cli_help_and_usage_errors(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 1, "--help"), 0);
  assert_non_null(strstr(f->out, "usage: qnpu COMMAND"));
  assert_int_equal(run(f, 1, "layer --help"), 0);
  assert_non_null(strstr(f->out, "--backend"));
  assert_non_null(strstr(f->out, "--json"));
  assert_int_equal(run(f, 1, "--version"), 0);
  assert_non_null(strstr(f->out, "qnpu "));
  assert_int_equal(run(f, 1, "%s", ""), 2);
  assert_int_equal(run(f, 1, "frobnicate"), 2);
  assert_non_null(strstr(f->out, "unknown command 'frobnicate'"));
  assert_int_equal(run(f, 1, "layer"), 2);
  assert_non_null(strstr(f->out, "missing CASE_DIR"));
  assert_int_equal(run(f, 1, "layer %s --fast", f->dir), 2);
  assert_non_null(strstr(f->out, "unknown option '--fast'"));
  assert_int_equal(run(f, 1, "layer %s --backend", f->dir), 2);
  assert_non_null(strstr(f->out, "--backend needs a value"));
  assert_int_equal(run(f, 1, "layer %s --backend rtl9000", f->dir), 2);
  assert_non_null(strstr(f->out, "unknown backend 'rtl9000'"));
  assert_int_equal(run(f, 1, "layer %s/does-not-exist", f->dir), 2);
  assert_non_null(strstr(f->out, "layer.json: cannot open"));
}

static void test_cli_layer_match_text(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 1, "layer %s --backend golden", f->dir), 0);
  assert_non_null(strstr(f->out, "case fixture_conv: conv2d W8A8"));
  assert_non_null(strstr(f->out, "match: 48/48"));
}

static void test_cli_layer_json(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 0, "layer %s --json", f->dir), 0);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "case")->valuestring, "fixture_conv");
  assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring, "golden");
  assert_int_equal(cJSON_GetObjectItem(j, "elements")->valueint, 48);
  assert_int_equal(cJSON_GetObjectItem(j, "mismatches")->valueint, 0);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  cJSON_Delete(j);
}

static void test_cli_layer_out_file_equals_expected(void **state) {
  fixture_t *f = *state;
  char path[128], err[256], epath[128];
  snprintf(path, sizeof path, "%s/out.npy", f->dir);
  snprintf(epath, sizeof epath, "%s/expected.npy", f->dir);
  assert_int_equal(run(f, 1, "layer %s --out %s", f->dir, path), 0);
  qnpu_npy_t got, want;
  assert_int_equal(qnpu_npy_read(path, &got, err, sizeof err), QNPU_OK);
  assert_int_equal(qnpu_npy_read(epath, &want, err, sizeof err), QNPU_OK);
  assert_int_equal(got.dtype, QNPU_DT_INT8);
  assert_int_equal(got.count, want.count);
  assert_memory_equal(got.shape, want.shape, sizeof got.shape);
  assert_memory_equal(got.data, want.data, want.count);
  qnpu_npy_free(&got);
  qnpu_npy_free(&want);
  assert_int_equal(run(f, 1, "layer %s --out /nonexistent-dir/x.npy", f->dir), 2);
  assert_non_null(strstr(f->out, "/nonexistent-dir/x.npy: cannot create"));
}

/* Change one expected element; the CLI must find exactly it. */
static void test_cli_layer_mismatch_reports_coordinates(void **state) {
  fixture_t *f = *state;
  char epath[128], err[256];
  snprintf(epath, sizeof epath, "%s/expected.npy", f->dir);
  qnpu_npy_t e;
  assert_int_equal(qnpu_npy_read(epath, &e, err, sizeof err), QNPU_OK);
  int8_t *v = e.data;
  const size_t flat = ((0 * 4 + 2) * 4 + 1) * 3 + 2; /* [0, 2, 1, 2] */
  const int old = v[flat];
  v[flat] = (int8_t)(old == 127 ? 126 : old + 1);
  assert_int_equal(qnpu_npy_write(epath, e.dtype, e.ndim, e.shape, e.data, err, sizeof err), QNPU_OK);
  assert_int_equal(run(f, 1, "layer %s", f->dir), 1);
  assert_non_null(strstr(f->out, "MISMATCH: 1 of 48 elements differ"));
  char line[96];
  snprintf(line, sizeof line, "[0, 2, 1, 2]: got %d, expected %d", old, v[flat]);
  if (!strstr(f->out, line)) fail_msg("'%s' not in:\n%s", line, f->out);
  assert_int_equal(run(f, 0, "layer %s --json", f->dir), 1);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "mismatches")->valueint, 1);
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "first_mismatches"), 0);
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "index"), 2)->valueint, 1);
  assert_int_equal(cJSON_GetObjectItem(m, "got")->valueint, old);
  cJSON_Delete(j);
  qnpu_npy_free(&e);
}

/* Without expected.npy the run succeeds and says there is nothing to compare. */
static void test_cli_layer_without_expected(void **state) {
  fixture_t *f = *state;
  char epath[128];
  snprintf(epath, sizeof epath, "%s/expected.npy", f->dir);
  assert_int_equal(unlink(epath), 0);
  assert_int_equal(run(f, 1, "layer %s", f->dir), 0);
  assert_non_null(strstr(f->out, "nothing to compare"));
}

/* Malformed cases through the CLI: exit 2, one message naming the file; and
 * with --json a JSON object with "error". */
static void test_cli_malformed_exit_2(void **state) {
  fixture_t *f = *state;
  /* value outside the declared bits */
  assert_int_equal(fixture_edit_json(f->dir, "weight_bits", cJSON_CreateNumber(4)), 0);
  assert_int_equal(run(f, 1, "layer %s", f->dir), 2);
  assert_non_null(strstr(f->out, "filter.npy: element"));
  assert_int_equal(run(f, 0, "layer %s --json", f->dir), 2);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "weight width of 4 bits"));
  cJSON_Delete(j);
  /* unsupported op */
  assert_int_equal(fixture_edit_json(f->dir, "op", cJSON_CreateString("transpose_conv")), 0);
  assert_int_equal(run(f, 1, "layer %s", f->dir), 2);
  assert_non_null(strstr(f->out, "layer.json: field 'op': unsupported value 'transpose_conv'"));
  /* missing key */
  assert_int_equal(fixture_edit_json(f->dir, "op", NULL), 0);
  assert_int_equal(run(f, 1, "layer %s", f->dir), 2);
  assert_non_null(strstr(f->out, "field 'op': missing"));
}


/* The device backends through the same report: the fast model (no cycles)
 * and, when this CLI carries the Verilated model, the cycle-accurate sim. */
static void test_cli_layer_device_backends(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 0, "layer %s --backend model --json", f->dir), 0);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring, "model");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  assert_int_equal(cJSON_GetObjectItem(j, "macs")->valueint, 16 * 3 * 3 * 3 * 2); /* pixels x O x taps x C */
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "cycles")));
  assert_true(cJSON_GetObjectItem(j, "dram_bytes")->valuedouble > 0);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "rows")->valueint, QNPU_CFG_ROWS);
  /* the energy estimate: its parts add up, the DRAM part is 162.5 pJ per DRAM byte */
  const cJSON *en = cJSON_GetObjectItem(j, "energy");
  assert_non_null(en);
  double parts = 0;
  const char *const keys[] = {"mac_pj", "spad_pj", "acc_pj", "requant_pj", "dram_pj"};
  for (int k = 0; k < 5; k++) {
    assert_true(cJSON_GetObjectItem(en, keys[k])->valuedouble > 0);
    parts += cJSON_GetObjectItem(en, keys[k])->valuedouble;
  }
  assert_true(fabs(parts - cJSON_GetObjectItem(en, "total_pj")->valuedouble) < 1e-6 * parts);
  assert_true(fabs(cJSON_GetObjectItem(en, "dram_pj")->valuedouble -
                   162.5 * cJSON_GetObjectItem(j, "dram_bytes")->valuedouble) < 1e-3);
  cJSON_Delete(j);
  assert_int_equal(run(f, 1, "layer %s --backend model", f->dir), 0);
  assert_non_null(strstr(f->out, "energy (Horowitz 45 nm estimate, docs/energy.md): "));
  assert_int_equal(run(f, 1, "layer %s --backend model --trace x.fst", f->dir), 2);
  assert_non_null(strstr(f->out, "--trace needs --backend sim"));
  assert_int_equal(run(f, 1, "backends"), 0);
  if (!strstr(f->out, "sim      the")) { /* a CLI without the Verilated model */
    assert_int_equal(run(f, 1, "layer %s --backend sim", f->dir), 2);
    assert_non_null(strstr(f->out, "backend 'sim' is not built into this binary"));
    return;
  }
  assert_int_equal(run(f, 0, "layer %s --backend sim --json", f->dir), 0);
  j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  const double cyc = cJSON_GetObjectItem(j, "cycles")->valuedouble, u = cJSON_GetObjectItem(j, "utilization")->valuedouble;
  const double roof = cJSON_GetObjectItem(j, "roofline_bound")->valuedouble;
  assert_true(cyc > 100);
  assert_true(u > 0 && u < 1);
  assert_true(roof > 0 && roof <= 1);
  /* utilization is true MACs over the peak times the cycles */
  assert_true(u * cyc * QNPU_CFG_ROWS * QNPU_CFG_COLS > 863.9 && u * cyc * QNPU_CFG_ROWS * QNPU_CFG_COLS < 864.1);
  cJSON_Delete(j);
}

static void test_cli_gemm(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 1, "gemm 20 30 40 --backend model --precision w4a4 --seed 3"), 0);
  assert_non_null(strstr(f->out, "gemm_20x30x40_W4A4_seed3"));
  assert_non_null(strstr(f->out, "match: 800/800"));
  assert_int_equal(run(f, 0, "gemm 5 6 7 --json"), 0);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "elements")->valueint, 35);
  assert_int_equal(cJSON_GetObjectItem(j, "macs")->valueint, 5 * 6 * 7);
  cJSON_Delete(j);
  assert_int_equal(run(f, 1, "gemm 0 3 4"), 2);
  assert_non_null(strstr(f->out, "0 is not a dimension"));
  assert_int_equal(run(f, 1, "gemm 2 3"), 2);
  assert_non_null(strstr(f->out, "missing arguments"));
  assert_int_equal(run(f, 1, "gemm 2 3 4 --precision w2a2"), 2);
  assert_non_null(strstr(f->out, "unknown precision 'w2a2'"));
  assert_int_equal(run(f, 1, "gemm 2 3 4 --seed x"), 2);
  assert_int_equal(run(f, 1, "gemm --help"), 0);
  assert_non_null(strstr(f->out, "usage: qnpu gemm M K N"));
}

/* ---- the network commands ------------------------------------------------------- */

#define NET_MODEL "models/fmnist_cnn.onnx"
#define NET_DATA "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static void test_cli_net_usage_errors(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 1, "net --help"), 0);
  assert_non_null(strstr(f->out, "usage: qnpu net MODEL"));
  assert_int_equal(run(f, 1, "quantize --help"), 0);
  assert_non_null(strstr(f->out, "--calib CALIB"));
  assert_int_equal(run(f, 1, "net"), 2);
  assert_non_null(strstr(f->out, "missing MODEL"));
  assert_int_equal(run(f, 1, "quantize %s --precision w8a8 -o %s/x.qnpu", NET_MODEL, f->dir), 2);
  assert_non_null(strstr(f->out, "--calib is required"));
  assert_int_equal(run(f, 1, "quantize %s --calib median -o %s/x.qnpu", NET_MODEL, f->dir), 2);
  assert_non_null(strstr(f->out, "unknown calibrator 'median'"));
  assert_int_equal(run(f, 1, "quantize %s --calib percentile:101 -o %s/x.qnpu", NET_MODEL, f->dir), 2);
  assert_non_null(strstr(f->out, "unknown calibrator 'percentile:101'"));
  assert_int_equal(run(f, 1, "quantize %s --calib max --weights best -o %s/x.qnpu", NET_MODEL, f->dir), 2);
  assert_non_null(strstr(f->out, "unknown weight rule 'best'"));
  assert_int_equal(run(f, 1, "quantize %s --calib max", NET_MODEL), 2);
  assert_non_null(strstr(f->out, "-o OUT.qnpu is required"));
  assert_int_equal(run(f, 1, "quantize %s/none.onnx --calib max -o %s/x.qnpu", f->dir, f->dir), 2);
  assert_non_null(strstr(f->out, "none.onnx: cannot open"));
  assert_int_equal(run(f, 1, "net %s/none.qnpu", f->dir), 2);
  assert_non_null(strstr(f->out, "none.qnpu: cannot open"));
  assert_int_equal(run(f, 1, "net %s/layer.json", f->dir), 2); /* any file that is not a model */
  assert_non_null(strstr(f->out, "layer.json: not a qnpu model file"));
  assert_int_equal(run(f, 1, "net %s --backend sim", NET_MODEL), 2);
  assert_non_null(strstr(f->out, "quantize it first"));
  assert_int_equal(run(f, 1, "net %s --images -3", NET_MODEL), 2);
  assert_non_null(strstr(f->out, "--images wants a non-negative integer"));
}

/* qnpu import's errors, and the float model on the host float reference
 * (text, JSON with --progress) against the same images. */
static void test_cli_import_errors_and_float_net(void **state) {
  fixture_t *f = *state;
  assert_int_equal(run(f, 1, "import %s", NET_MODEL), 2);
  assert_non_null(strstr(f->out, "import: -o OUT.qnpu is required"));
  assert_int_equal(run(f, 1, "import %s/layer.json -o %s/x.qnpu", f->dir, f->dir), 2);
  assert_non_null(strstr(f->out, "import: MODEL must be a quantized .onnx model"));
  assert_int_equal(run(f, 1, "import %s/none.onnx -o %s/x.qnpu --json", f->dir, f->dir), 2);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "none.onnx"));
  cJSON_Delete(j);
  FILE *fp = fopen(NET_DATA, "rb");
  if (!fp) skip(); /* Fashion-MNIST not installed */
  fclose(fp);
  assert_int_equal(run(f, 1, "net %s --images 8 --offset 40", NET_MODEL), 0);
  assert_non_null(strstr(f->out, "float32"));
  int correct = -1, total = 0;
  const char *acc = strstr(f->out, "accuracy: ");
  assert_non_null(acc);
  assert_int_equal(sscanf(acc, "accuracy: %d/%d", &correct, &total), 2);
  assert_int_equal(total, 8);
  assert_int_equal(run(f, 0, "net %s --images 8 --offset 40 --json --progress", NET_MODEL), 0);
  j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "correct")->valueint, correct);
  cJSON_Delete(j);
}

/* Quantize from 50 calibration images, run 20 test images on the fast
 * model with the golden check, read the JSON; then a corrupt and a cut
 * copy of the model file are refused with exit 2. */
static void test_cli_net_quantize_and_run(void **state) {
  fixture_t *f = *state;
  FILE *fp = fopen(NET_DATA, "rb");
  if (!fp) skip(); /* Fashion-MNIST not installed */
  fclose(fp);
  char m[128];
  snprintf(m, sizeof m, "%s/m.qnpu", f->dir);
  assert_int_equal(run(f, 0, "quantize %s --calib entropy --precision w4a8 --calib-images 50 -o %s --json", NET_MODEL, m),
                   0);
  cJSON *j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "precision")->valuestring, "W4A8");
  assert_int_equal(cJSON_GetObjectItem(j, "calib_images")->valueint, 50);
  assert_int_equal(cJSON_GetObjectItem(j, "calib_first")->valueint, 55000);
  const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tensors"), 0);
  assert_int_equal(cJSON_GetObjectItem(t0, "zero_point")->valueint, -128); /* the input: p - 128 */
  cJSON_Delete(j);
  assert_int_equal(run(f, 0, "net %s --backend model --images 20 --offset 100 --check --json", m), 0);
  j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "images")->valueint, 20);
  assert_int_equal(cJSON_GetObjectItem(j, "offset")->valueint, 100);
  const int correct = cJSON_GetObjectItem(j, "correct")->valueint;
  assert_true(correct >= 0 && correct <= 20);
  assert_true(fabs(cJSON_GetObjectItem(j, "accuracy")->valuedouble - correct / 20.0) < 1e-9);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "checked")));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "bit_exact")));
  const cJSON *ls = cJSON_GetObjectItem(j, "layers");
  int array = 0, host = 0;
  for (int i = 0; i < cJSON_GetArraySize(ls); i++) {
    const char *w = cJSON_GetObjectItem(cJSON_GetArrayItem(ls, i), "where")->valuestring;
    array += !strcmp(w, "array"), host += !strcmp(w, "host fallback");
  }
  assert_int_equal(array, 5); /* conv1..3, fc1, fc2 */
  assert_int_equal(host, 3);  /* maxpool, add, avgpool */
  cJSON_Delete(j);
  /* the same images on golden give the same accuracy, in text */
  assert_int_equal(run(f, 1, "net %s --images 20 --offset 100", m), 0);
  char want[64];
  snprintf(want, sizeof want, "accuracy: %d/20 =", correct);
  assert_non_null(strstr(f->out, want));
  assert_non_null(strstr(f->out, "host fallback"));
  /* a flipped byte, a cut file */
  FILE *in = fopen(m, "rb");
  static uint8_t buf[1 << 18];
  const size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  buf[n / 2] ^= 0x10;
  char bad[128];
  snprintf(bad, sizeof bad, "%s/bad.qnpu", f->dir);
  FILE *out = fopen(bad, "wb");
  fwrite(buf, 1, n, out);
  fclose(out);
  assert_int_equal(run(f, 1, "net %s --images 1", bad), 2);
  assert_non_null(strstr(f->out, "bad.qnpu: checksum mismatch: the file is corrupt"));
  out = fopen(bad, "wb");
  fwrite(buf, 1, n - 100, out);
  fclose(out);
  assert_int_equal(run(f, 0, "net %s --images 1 --json", bad), 2);
  j = cJSON_Parse(f->out);
  assert_non_null(j);
  assert_non_null(strstr(cJSON_GetObjectItem(j, "error")->valuestring, "truncated"));
  assert_int_equal(cJSON_GetObjectItem(j, "exit")->valueint, 2);
  cJSON_Delete(j);
  assert_int_equal(run(f, 1, "net %s --images 20000", m), 2);
  assert_non_null(strstr(f->out, "the t10k set has 10000"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cli_help_and_usage_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_match_text, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_json, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_out_file_equals_expected, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_mismatch_reports_coordinates, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_without_expected, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_malformed_exit_2, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_layer_device_backends, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_gemm, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_net_usage_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_import_errors_and_float_net, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cli_net_quantize_and_run, setup, test_fixture_teardown),
  };
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
