/* test_idx.c - the IDX reader: plain and gzipped round trips in every
 * element type, and each failure class with its message: a missing file,
 * a bad magic, an unknown type, too many dimensions, truncated headers and
 * data (plain and gzipped), trailing bytes; then Fashion-MNIST itself when
 * the Debian package is installed (skipped otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <zlib.h>

#include "qnpu_idx.h"
#include "test_util.h"

typedef struct {
  char dir[64];
  char path[128];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = test_fixture_new(sizeof *f);
  if (!f) return -1;
  *state = f;
  return 0;
}

/* Writes n raw bytes to f->dir/name (gzipped when gz) and returns its path. */
static const char *raw_file(fixture_t *f, const char *name, const uint8_t *b, size_t n, int gz) {
  snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
  gzFile g = gzopen(f->path, gz ? "wb" : "wbT");
  assert_non_null(g);
  if (n) assert_int_equal(gzwrite(g, b, (unsigned)n), (int)n);
  assert_int_equal(gzclose(g), Z_OK);
  return f->path;
}

static void test_idx_round_trip_every_type(void **state) {
  fixture_t *f = *state;
  const qnpu_dtype_t types[] = {QNPU_DT_UINT8, QNPU_DT_INT8, QNPU_DT_INT16, QNPU_DT_INT32, QNPU_DT_FLOAT32,
                                QNPU_DT_FLOAT64};
  const size_t sizes[] = {1, 1, 2, 4, 4, 8};
  test_rng_t r = {test_master_seed()};
  for (int gz = 0; gz < 2; gz++)
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
      qnpu_tensor_t t = {.dtype = types[k], .ndim = 3, .shape = {3, 5, 7}, .count = 105};
      uint8_t *d = malloc(105 * sizes[k]);
      for (size_t i = 0; i < 105 * sizes[k]; i++) d[i] = (uint8_t)rng_range(&r, 0, 255);
      t.data = d;
      char path[128], err[256];
      snprintf(path, sizeof path, "%s/t%zu.idx%s", f->dir, k, gz ? ".gz" : "");
      assert_int_equal(qnpu_idx_write(path, &t, err, sizeof err), QNPU_OK);
      qnpu_tensor_t u;
      assert_int_equal(qnpu_idx_read(path, &u, err, sizeof err), QNPU_OK);
      assert_int_equal(u.dtype, types[k]);
      assert_int_equal(u.ndim, 3);
      assert_int_equal(u.shape[0], 3);
      assert_int_equal(u.shape[2], 7);
      assert_int_equal(u.count, 105);
      assert_memory_equal(u.data, d, 105 * sizes[k]);
      qnpu_idx_free(&u);
      free(d);
    }
}

/* Big-endian on disk: 0x0102 as int16 is bytes 01 02. */
static void test_idx_big_endian(void **state) {
  fixture_t *f = *state;
  const uint8_t b[] = {0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe};
  qnpu_tensor_t t;
  char err[256];
  assert_int_equal(qnpu_idx_read(raw_file(f, "be.idx", b, sizeof b, 0), &t, err, sizeof err), QNPU_OK);
  assert_int_equal(((int16_t *)t.data)[0], 0x0102);
  assert_int_equal(((int16_t *)t.data)[1], -2);
  qnpu_idx_free(&t);
}

static void expect_error(fixture_t *f, const char *name, const uint8_t *b, size_t n, int gz, qnpu_status_t code,
                         const char *text) {
  qnpu_tensor_t t;
  char err[256] = "";
  const char *p = raw_file(f, name, b, n, gz);
  assert_int_equal(qnpu_idx_read(p, &t, err, sizeof err), code);
  if (!strstr(err, text) || !strstr(err, name)) fail_msg("'%s' (and the file name) not in '%s'", text, err);
  assert_null(t.data);
}

static void test_idx_errors(void **state) {
  fixture_t *f = *state;
  qnpu_tensor_t t;
  char err[256];
  assert_int_equal(qnpu_idx_read("/nonexistent/x.idx", &t, err, sizeof err), QNPU_ERR_IO);
  assert_non_null(strstr(err, "/nonexistent/x.idx: cannot open"));
  const uint8_t empty[] = {0};
  expect_error(f, "empty.idx", empty, 0, 0, QNPU_ERR_FORMAT, "truncated: 0 of the 4 magic bytes");
  const uint8_t magic[] = {'P', 'K', 3, 4, 0, 0, 0, 1, 7};
  expect_error(f, "zip.idx", magic, sizeof magic, 0, QNPU_ERR_FORMAT, "not an IDX file");
  const uint8_t type[] = {0, 0, 0x0A, 1, 0, 0, 0, 1, 7};
  expect_error(f, "type.idx", type, sizeof type, 0, QNPU_ERR_FORMAT, "unknown IDX element type 0x0a");
  const uint8_t dims[] = {0, 0, 8, 9};
  expect_error(f, "dims.idx", dims, sizeof dims, 0, QNPU_ERR_FORMAT, "9 dimensions");
  const uint8_t hdr[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0};
  expect_error(f, "hdr.idx", hdr, sizeof hdr, 0, QNPU_ERR_FORMAT, "truncated in the size of dimension 1");
  const uint8_t data[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5};
  expect_error(f, "short.idx", data, sizeof data, 0, QNPU_ERR_FORMAT, "truncated data: 5 of 6 bytes");
  expect_error(f, "short.idx.gz", data, sizeof data, 1, QNPU_ERR_FORMAT, "truncated data: 5 of 6 bytes");
  const uint8_t extra[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
  expect_error(f, "extra.idx", extra, sizeof extra, 0, QNPU_ERR_FORMAT, "trailing bytes after the 2 elements");
  /* a gzip stream cut in the middle */
  uint8_t big[4 + 4 + 4000] = {0, 0, 8, 1, 0, 0, 0x0f, 0xa0};
  test_rng_t r = {7};
  for (int i = 8; i < (int)sizeof big; i++) big[i] = (uint8_t)rng_range(&r, 0, 255);
  raw_file(f, "full.idx.gz", big, sizeof big, 1);
  FILE *fp = fopen(f->path, "rb");
  assert_non_null(fp);
  uint8_t gzb[8192];
  const size_t n = fread(gzb, 1, sizeof gzb, fp);
  fclose(fp);
  snprintf(f->path, sizeof f->path, "%s/cut.idx.gz", f->dir);
  fp = fopen(f->path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(gzb, 1, n / 2, fp), n / 2);
  fclose(fp);
  assert_int_equal(qnpu_idx_read(f->path, &t, err, sizeof err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(err, "truncated data"));
}

/* The real dataset (Debian's dataset-fashion-mnist, installed by make deps). */
static void test_idx_fashion_mnist(void **state) {
  (void)state;
  const char *dir = "/usr/share/datasets/fashion-mnist";
  char p[256], err[512];
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
  FILE *fp = fopen(p, "rb");
  if (!fp) skip();
  fclose(fp);
  qnpu_tensor_t img, lab;
  assert_int_equal(qnpu_idx_read(p, &img, err, sizeof err), QNPU_OK);
  assert_int_equal(img.dtype, QNPU_DT_UINT8);
  assert_int_equal(img.ndim, 3);
  assert_int_equal(img.shape[0], 10000);
  assert_int_equal(img.shape[1], 28);
  assert_int_equal(img.shape[2], 28);
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
  assert_int_equal(qnpu_idx_read(p, &lab, err, sizeof err), QNPU_OK);
  assert_int_equal(lab.ndim, 1);
  assert_int_equal(lab.shape[0], 10000);
  size_t per[10] = {0};
  for (size_t i = 0; i < lab.count; i++) {
    const uint8_t l = ((const uint8_t *)lab.data)[i];
    assert_true(l < 10);
    per[l]++;
  }
  for (int c = 0; c < 10; c++) assert_int_equal(per[c], 1000); /* the test set is balanced */
  qnpu_idx_free(&img);
  qnpu_idx_free(&lab);
  snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
  assert_int_equal(qnpu_idx_read(p, &img, err, sizeof err), QNPU_OK);
  assert_int_equal(img.shape[0], 60000);
  qnpu_idx_free(&img);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_idx_round_trip_every_type, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_idx_big_endian, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_idx_errors, setup, test_fixture_teardown),
      cmocka_unit_test(test_idx_fashion_mnist),
  };
  return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
