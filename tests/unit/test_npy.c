/* test_npy.c - .npy round trips and every way a file can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "npy.h"
#include "test_util.h"

typedef struct {
  char dir[64];
  char path[128];
  char err[512];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = test_fixture_new(sizeof *f);
  if (!f) return -1;
  snprintf(f->path, sizeof f->path, "%s/a.npy", f->dir);
  *state = f;
  return 0;
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(b, 1, n, fp), n);
  fclose(fp);
}

/* A v1.0 file with the given header dict and payload. */
static void write_npy_raw(const char *path, const char *dict, const void *data, size_t n) {
  unsigned char buf[1024];
  size_t hl = strlen(dict);
  size_t total = 10 + hl + 1;
  size_t pad = (64 - total % 64) % 64;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)((hl + pad + 1) & 0xFF);
  buf[9] = (unsigned char)((hl + pad + 1) >> 8);
  memcpy(buf + 10, dict, hl);
  memset(buf + 10 + hl, ' ', pad);
  buf[10 + hl + pad] = '\n';
  memcpy(buf + 11 + hl + pad, data, n);
  write_bytes(path, buf, 11 + hl + pad + n);
}

static void test_npy_round_trip_all_dtypes(void **state) {
  fixture_t *f = *state;
  const qnpu_dtype_t dts[] = {QNPU_DT_INT8, QNPU_DT_UINT8, QNPU_DT_INT16, QNPU_DT_INT32,
                              QNPU_DT_INT64, QNPU_DT_FLOAT32, QNPU_DT_FLOAT64};
  unsigned char data[2 * 3 * 4 * 8];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 37 + 11);
  const int64_t shape[3] = {2, 3, 4};
  for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
    assert_int_equal(qnpu_npy_write(f->path, dts[k], 3, shape, data, f->err, sizeof f->err), QNPU_OK);
    qnpu_npy_t a;
    assert_int_equal(qnpu_npy_read(f->path, &a, f->err, sizeof f->err), QNPU_OK);
    assert_int_equal(a.dtype, dts[k]);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[2], 4);
    assert_int_equal(a.count, 24);
    assert_memory_equal(a.data, data, 24 * qnpu_dtype_size(dts[k]));
    qnpu_npy_free(&a);
  }
  /* 1-d arrays are written as "(n,)", which numpy requires. */
  const int64_t one = 5;
  assert_int_equal(qnpu_npy_write(f->path, QNPU_DT_INT32, 1, &one, data, f->err, sizeof f->err), QNPU_OK);
  FILE *fp = fopen(f->path, "rb");
  char hdr[128] = {0};
  assert_true(fread(hdr, 1, sizeof hdr - 1, fp) > 64);
  fclose(fp);
  assert_non_null(strstr(hdr + 10, "'shape': (5,)"));
  assert_non_null(strstr(hdr + 10, "'descr': '<i4'"));
  assert_int_equal(((unsigned char)hdr[8] + 10) % 64, 0); /* 64-byte aligned data */
}

/* A header written by numpy itself (copied byte for byte). */
static void test_npy_reads_numpy_header(void **state) {
  fixture_t *f = *state;
  const int8_t v[2] = {-1, 7};
  write_npy_raw(f->path, "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2), }", v, 2);
  qnpu_npy_t a;
  assert_int_equal(qnpu_npy_read(f->path, &a, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(a.dtype, QNPU_DT_INT8);
  assert_int_equal(((int8_t *)a.data)[0], -1);
  assert_int_equal(((int8_t *)a.data)[1], 7);
  qnpu_npy_free(&a);
}

static void expect_error(fixture_t *f, qnpu_status_t want, const char *needle) {
  qnpu_npy_t a;
  f->err[0] = '\0';
  assert_int_equal(qnpu_npy_read(f->path, &a, f->err, sizeof f->err), want);
  assert_null(a.data);
  if (!strstr(f->err, needle) || !strstr(f->err, f->path))
    fail_msg("error '%s' should name the file and say '%s'", f->err, needle);
}

static void test_npy_malformed_files(void **state) {
  fixture_t *f = *state;
  const int32_t v[4] = {1, 2, 3, 4};
  static const char zip[] = "PK\x03\x04 not numpy";
  write_bytes(f->path, zip, sizeof zip - 1);
  expect_error(f, QNPU_ERR_FORMAT, "bad magic");
  write_bytes(f->path, "\x93NUMPY\x01\x00\xff", 9);
  expect_error(f, QNPU_ERR_FORMAT, "bad magic"); /* shorter than the preamble */
  write_npy_raw(f->path, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", v, 12);
  expect_error(f, QNPU_ERR_FORMAT, "truncated data");
  write_npy_raw(f->path, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", v, 16);
  expect_error(f, QNPU_ERR_FORMAT, "trailing bytes");
  write_npy_raw(f->path, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }", v, 16);
  expect_error(f, QNPU_ERR_UNSUPPORTED, "Fortran");
  write_npy_raw(f->path, "{'descr': '>i4', 'fortran_order': False, 'shape': (4,), }", v, 16);
  expect_error(f, QNPU_ERR_UNSUPPORTED, "big-endian");
  write_npy_raw(f->path, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", v, 16);
  expect_error(f, QNPU_ERR_UNSUPPORTED, "dtype");
  write_npy_raw(f->path, "{'fortran_order': False, 'shape': (4,), }", v, 16);
  expect_error(f, QNPU_ERR_FORMAT, "descr");
  write_npy_raw(f->path, "{'descr': '<i4', 'fortran_order': False, 'shape': (x,), }", v, 16);
  expect_error(f, QNPU_ERR_FORMAT, "shape");
  snprintf(f->path, sizeof f->path, "%s/absent.npy", f->dir);
  expect_error(f, QNPU_ERR_IO, "cannot open");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_npy_round_trip_all_dtypes, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_npy_reads_numpy_header, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_npy_malformed_files, setup, test_fixture_teardown),
  };
  return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
