/* test_case.c - layer-case loading: a valid case round-trips, and every
 * class of malformed case is rejected with a message naming file and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "case_fixture.h"

typedef struct {
  char dir[64];
  char err[1024];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = test_fixture_new(sizeof *f);
  if (!f || fixture_write_case(f->dir, test_master_seed())) return -1;
  *state = f;
  return 0;
}

static void test_case_valid_round_trip(void **state) {
  fixture_t *f = *state;
  qnpu_case_t c;
  assert_int_equal(qnpu_case_load(f->dir, &c, f->err, sizeof f->err), QNPU_OK);
  assert_string_equal(c.name, "fixture_conv");
  assert_int_equal(c.op, QNPU_OP_CONV2D);
  assert_int_equal(c.padding[3], 1);
  assert_int_equal(c.input_zero_point, -3);
  assert_int_equal(qnpu_case_output_count(&c), 48);
  assert_non_null(c.bias.data);
  assert_non_null(c.expected.data);
  int32_t out[48];
  const qnpu_layer_t l = qnpu_case_layer(&c);
  assert_int_equal(qnpu_layer_golden(&l, out), QNPU_OK);
  int differ = 0, nonconst = 0;
  for (int i = 0; i < 48; i++) {
    differ += out[i] != ((int8_t *)c.expected.data)[i];
    nonconst += out[i] != out[0];
  }
  assert_int_equal(differ, 0);
  assert_true(nonconst > 0); /* the fixture is not degenerate */
  qnpu_case_free(&c);
}

/* An ort_f32 case: "requant": "ort_f32" and a float32 requant_scale.npy;
 * the layer carries the float32 scales, and a float64 file is refused. */
static void test_case_ort_f32(void **state) {
  fixture_t *f = *state;
  assert_int_equal(fixture_edit_json(f->dir, "requant", cJSON_CreateString("ort_f32")), 0);
  char path[256];
  const int64_t o = 3;
  const double s64[3] = {0.001, 0.002, 0.003};
  snprintf(path, sizeof path, "%s/requant_scale.npy", f->dir);
  assert_int_equal(qnpu_npy_write(path, QNPU_DT_FLOAT64, 1, &o, s64, f->err, sizeof f->err), QNPU_OK);
  qnpu_case_t c;
  assert_int_equal(qnpu_case_load(f->dir, &c, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "requant_scale.npy: wrong dtype float64 (expected float32)"));
  qnpu_case_free(&c);
  const float s32[3] = {0.001f, 0.002f, 0.003f};
  assert_int_equal(qnpu_npy_write(path, QNPU_DT_FLOAT32, 1, &o, s32, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(qnpu_case_load(f->dir, &c, f->err, sizeof f->err), QNPU_OK);
  const qnpu_layer_t l = qnpu_case_layer(&c);
  assert_int_equal(l.rq.mode, QNPU_REQUANT_ORT_F32);
  assert_true(l.rq.per_channel);
  assert_true(l.rq.scale_f32 && l.rq.scale_f32[2] == 0.003f);
  assert_null(l.rq.scale);
  /* every output: the raw accumulator through ort_f32 by hand */
  qnpu_layer_t raw = l;
  raw.rq.mode = QNPU_REQUANT_NONE;
  int32_t acc[48], out[48];
  assert_int_equal(qnpu_layer_golden(&raw, acc), QNPU_OK);
  assert_int_equal(qnpu_layer_golden(&l, out), QNPU_OK);
  for (int i = 0; i < 48; i++) {
    double y = qnpu_golden_ort_round(acc[i], s32[i % 3]) + c.output_zero_point;
    y = y < c.act_min ? c.act_min : y > c.act_max ? c.act_max : y;
    assert_int_equal(out[i], (int32_t)y);
  }
  assert_string_equal(qnpu_case_requant_name(QNPU_REQUANT_ORT_F32), "ort_f32");
  qnpu_case_free(&c);
}

/* ---- malformed cases: one mutation per error class --------------------- */

typedef void (*mutate_fn)(const char *dir);

static void write_npy(const char *dir, const char *file, qnpu_dtype_t dt, int ndim,
                      const int64_t *shape, const void *data) {
  char path[256], err[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  assert_int_equal(qnpu_npy_write(path, dt, ndim, shape, data, err, sizeof err), QNPU_OK);
}

static void rm(const char *dir, const char *file) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  assert_int_equal(unlink(path), 0);
}

static void m_missing_key(const char *d) { assert_int_equal(fixture_edit_json(d, "input_zero_point", NULL), 0); }
static void m_missing_file(const char *d) { rm(d, "filter.npy"); }
static void m_missing_requant_file(const char *d) { rm(d, "shift.npy"); }
static void m_no_layer_json(const char *d) { rm(d, "layer.json"); }
static void m_wrong_dtype(const char *d) {
  static const int32_t v[32] = {0};
  const int64_t s[4] = {1, 4, 4, 2};
  write_npy(d, "input.npy", QNPU_DT_INT32, 4, s, v);
}
static void m_wrong_shape(const char *d) {
  static const int32_t v[4] = {0};
  const int64_t s = 4;
  write_npy(d, "bias.npy", QNPU_DT_INT32, 1, &s, v);
}
static void m_wrong_expected_shape(const char *d) {
  static const int8_t v[48] = {0};
  const int64_t s[4] = {1, 4, 3, 4};
  write_npy(d, "expected.npy", QNPU_DT_INT8, 4, s, v);
}
static void m_output_shape(const char *d) {
  const int v[4] = {1, 3, 3, 3};
  assert_int_equal(fixture_edit_json(d, "output_shape", fixture_ints(4, v)), 0);
}
static void m_stride_vs_output(const char *d) {
  const int v[2] = {2, 2};
  assert_int_equal(fixture_edit_json(d, "stride", fixture_ints(2, v)), 0);
}
static void m_dilation_vs_output(const char *d) {
  const int v[2] = {1, 2};
  assert_int_equal(fixture_edit_json(d, "dilation", fixture_ints(2, v)), 0);
}
static void m_kernel_too_big(const char *d) {
  const int v[2] = {3, 1};
  assert_int_equal(fixture_edit_json(d, "dilation", fixture_ints(2, v)), 0);
}
static void m_weight_bits(const char *d) {
  assert_int_equal(fixture_edit_json(d, "weight_bits", cJSON_CreateNumber(4)), 0);
}
static void m_w4a4_input_values(const char *d) {
  assert_int_equal(fixture_edit_json(d, "weight_bits", cJSON_CreateNumber(4)), 0);
  assert_int_equal(fixture_edit_json(d, "input_bits", cJSON_CreateNumber(4)), 0);
  assert_int_equal(fixture_edit_json(d, "output_bits", cJSON_CreateNumber(4)), 0);
  assert_int_equal(fixture_edit_json(d, "act_min", cJSON_CreateNumber(-8)), 0);
  assert_int_equal(fixture_edit_json(d, "act_max", cJSON_CreateNumber(7)), 0);
  assert_int_equal(fixture_edit_json(d, "output_zero_point", cJSON_CreateNumber(0)), 0);
  assert_int_equal(fixture_edit_json(d, "input_zero_point", cJSON_CreateNumber(0)), 0);
}
static void m_unsupported_op(const char *d) {
  assert_int_equal(fixture_edit_json(d, "op", cJSON_CreateString("max_pool")), 0);
}
static void m_unsupported_precision(const char *d) {
  assert_int_equal(fixture_edit_json(d, "input_bits", cJSON_CreateNumber(4)), 0);
}
static void m_bad_json(const char *d) {
  char path[256];
  snprintf(path, sizeof path, "%s/layer.json", d);
  FILE *fp = fopen(path, "w");
  fputs("{\"format\": \"qnpu-layer-case/1\", \"op\": ", fp);
  fclose(fp);
}
static void m_wrong_format(const char *d) {
  assert_int_equal(fixture_edit_json(d, "format", cJSON_CreateString("qnpu-layer-case/9")), 0);
}
static void m_wrong_type(const char *d) {
  assert_int_equal(fixture_edit_json(d, "stride", cJSON_CreateString("1,1")), 0);
}
static void m_fractional(const char *d) {
  assert_int_equal(fixture_edit_json(d, "groups", cJSON_CreateNumber(1.5)), 0);
}
static void m_shift_range(const char *d) {
  const int32_t v[3] = {-8, 31, -9};
  const int64_t s = 3;
  write_npy(d, "shift.npy", QNPU_DT_INT32, 1, &s, v);
}
static void m_act_order(const char *d) {
  assert_int_equal(fixture_edit_json(d, "act_min", cJSON_CreateNumber(10)), 0);
  assert_int_equal(fixture_edit_json(d, "act_max", cJSON_CreateNumber(-10)), 0);
}
static void m_zero_point_range(const char *d) {
  assert_int_equal(fixture_edit_json(d, "input_zero_point", cJSON_CreateNumber(200)), 0);
}
static void m_requant_output(const char *d) {
  assert_int_equal(fixture_edit_json(d, "requant", cJSON_CreateString("none")), 0);
}
static void m_groups(const char *d) {
  assert_int_equal(fixture_edit_json(d, "groups", cJSON_CreateNumber(2)), 0);
}
static void m_truncated_npy(const char *d) {
  char path[256];
  snprintf(path, sizeof path, "%s/multiplier.npy", d);
  assert_int_equal(truncate(path, 130), 0);
}
static void m_rank(const char *d) {
  const int v[3] = {1, 4, 4};
  assert_int_equal(fixture_edit_json(d, "input_shape", fixture_ints(3, v)), 0);
}

typedef struct {
  const char *what;
  mutate_fn mutate;
  qnpu_status_t status;
  const char *file, *needle1, *needle2;
} malformed_t;

static const malformed_t kMalformed[] = {
    {"missing key", m_missing_key, QNPU_ERR_FORMAT, "layer.json", "'input_zero_point'", "missing"},
    {"missing file", m_missing_file, QNPU_ERR_FORMAT, "filter.npy", "missing file", ""},
    {"missing requant file", m_missing_requant_file, QNPU_ERR_FORMAT, "shift.npy", "missing file", ""},
    {"missing layer.json", m_no_layer_json, QNPU_ERR_FORMAT, "layer.json", "cannot open", ""},
    {"wrong dtype", m_wrong_dtype, QNPU_ERR_FORMAT, "input.npy", "wrong dtype int32", "expected int8"},
    {"wrong shape", m_wrong_shape, QNPU_ERR_FORMAT, "bias.npy", "wrong shape [4]", "[3]"},
    {"wrong expected shape", m_wrong_expected_shape, QNPU_ERR_FORMAT, "expected.npy", "wrong shape", "[1, 4, 4, 3]"},
    {"output_shape vs padding", m_output_shape, QNPU_ERR_FORMAT, "layer.json", "'output_shape'", "[1, 4, 4, 3]"},
    {"output_shape vs stride", m_stride_vs_output, QNPU_ERR_FORMAT, "layer.json", "'output_shape'", "[1, 2, 2, 3]"},
    {"output_shape vs dilation", m_dilation_vs_output, QNPU_ERR_FORMAT, "layer.json", "'output_shape'", "[1, 4, 2, 3]"},
    {"kernel does not fit", m_kernel_too_big, QNPU_ERR_FORMAT, "layer.json", "'filter_shape'", "does not fit"},
    {"weight outside bits", m_weight_bits, QNPU_ERR_FORMAT, "filter.npy", "weight width of 4 bits", "[-8, 7]"},
    {"input outside bits", m_w4a4_input_values, QNPU_ERR_FORMAT, "input.npy", "input width of 4 bits", "element"},
    {"unsupported op", m_unsupported_op, QNPU_ERR_UNSUPPORTED, "layer.json", "'op'", "unsupported value 'max_pool'"},
    {"unsupported precision", m_unsupported_precision, QNPU_ERR_UNSUPPORTED, "layer.json", "4/8/8", "W4A8"},
    {"invalid JSON", m_bad_json, QNPU_ERR_FORMAT, "layer.json", "invalid JSON", "byte"},
    {"wrong format", m_wrong_format, QNPU_ERR_UNSUPPORTED, "layer.json", "'format'", "qnpu-layer-case/1"},
    {"wrong JSON type", m_wrong_type, QNPU_ERR_FORMAT, "layer.json", "'stride'", "array of 2 integers"},
    {"fractional integer", m_fractional, QNPU_ERR_FORMAT, "layer.json", "'groups'", "integer"},
    {"shift out of range", m_shift_range, QNPU_ERR_FORMAT, "shift.npy", "element 1 is 31", "[-31, 30]"},
    {"act_min > act_max", m_act_order, QNPU_ERR_FORMAT, "layer.json", "'act_min'", "> act_max"},
    {"zero point out of range", m_zero_point_range, QNPU_ERR_FORMAT, "layer.json", "'input_zero_point'", "[-128, 127]"},
    {"requant none with int8 output", m_requant_output, QNPU_ERR_FORMAT, "layer.json", "'output'", "none"},
    {"groups do not divide", m_groups, QNPU_ERR_FORMAT, "layer.json", "'groups'", "does not divide"},
    {"truncated .npy", m_truncated_npy, QNPU_ERR_FORMAT, "multiplier.npy", "truncated", ""},
    {"wrong rank", m_rank, QNPU_ERR_FORMAT, "layer.json", "'input_shape'", "4 dimensions"},
};
#define N_MALFORMED (sizeof kMalformed / sizeof kMalformed[0])

static void test_case_malformed_rejected(void **state) {
  const malformed_t *m = *state;
  fixture_t f;
  memset(&f, 0, sizeof f);
  assert_true(test_mkdtemp(f.dir));
  assert_int_equal(fixture_write_case(f.dir, test_master_seed()), 0);
  m->mutate(f.dir);
  qnpu_case_t c;
  const qnpu_status_t st = qnpu_case_load(f.dir, &c, f.err, sizeof f.err);
  qnpu_case_free(&c);
  test_rmdir(f.dir);
  if (st != m->status || !strstr(f.err, m->file) || !strstr(f.err, m->needle1) ||
      !strstr(f.err, m->needle2) || strchr(f.err, '\n'))
    fail_msg("%s: status %d (want %d), message '%s' should be one line naming '%s' with '%s' and '%s'",
             m->what, st, m->status, f.err, m->file, m->needle1, m->needle2);
}

int main(void) {
  struct CMUnitTest tests[2 + N_MALFORMED];
  tests[0] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_case_valid_round_trip, setup, test_fixture_teardown);
  tests[1] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_case_ort_f32, setup, test_fixture_teardown);
  for (size_t i = 0; i < N_MALFORMED; i++) {
    tests[2 + i] = (struct CMUnitTest){kMalformed[i].what, test_case_malformed_rejected, NULL, NULL,
                                       (void *)(uintptr_t)&kMalformed[i]};
  }
  return _cmocka_run_group_tests("case", tests, 2 + N_MALFORMED, NULL, NULL);
}
