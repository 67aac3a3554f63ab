/* case_fixture.h - builds a small valid layer case on disk for the case and
 * CLI tests: conv2d, input [1,4,4,2], filter [3,3,3,2], pad 1, per-channel
 * requant, bias, expected output from the golden model. */
#ifndef QNPU_CASE_FIXTURE_H
#define QNPU_CASE_FIXTURE_H

#include <cjson/cJSON.h>

#include "layer_case.h"
#include "test_util.h"

static inline void *fixture_array(qnpu_npy_t *a, qnpu_dtype_t dt, int ndim, const int64_t *shape) {
  a->dtype = dt;
  a->ndim = ndim;
  a->count = 1;
  for (int i = 0; i < ndim; i++) {
    a->shape[i] = shape[i];
    a->count *= (size_t)shape[i];
  }
  a->data = calloc(a->count, qnpu_dtype_size(dt));
  return a->data;
}

/* Writes the case into dir; returns 0 on success. */
static inline int fixture_write_case(const char *dir, uint64_t seed) {
  qnpu_case_t c;
  memset(&c, 0, sizeof c);
  snprintf(c.name, sizeof c.name, "fixture_conv");
  snprintf(c.source, sizeof c.source, "tests/unit/case_fixture.h, seed %llu", (unsigned long long)seed);
  c.op = QNPU_OP_CONV2D;
  c.rank = 4;
  const int64_t in[4] = {1, 4, 4, 2}, f[4] = {3, 3, 3, 2}, out[4] = {1, 4, 4, 3}, o = 3;
  memcpy(c.input_shape, in, sizeof in);
  memcpy(c.filter_shape, f, sizeof f);
  memcpy(c.output_shape, out, sizeof out);
  c.stride[0] = c.stride[1] = 1;
  c.dilation[0] = c.dilation[1] = 1;
  for (int i = 0; i < 4; i++) c.padding[i] = 1;
  c.groups = c.depth_multiplier = 1;
  c.input_zero_point = -3;
  c.output_zero_point = 5;
  c.act_min = -128;
  c.act_max = 127;
  c.input_bits = c.weight_bits = c.output_bits = 8;
  c.requant = QNPU_REQUANT_TFLITE_Q31;
  test_rng_t r = {seed};
  int8_t *x = fixture_array(&c.input, QNPU_DT_INT8, 4, in);
  int8_t *w = fixture_array(&c.filter, QNPU_DT_INT8, 4, f);
  int32_t *b = fixture_array(&c.bias, QNPU_DT_INT32, 1, &o);
  int32_t *m = fixture_array(&c.multiplier, QNPU_DT_INT32, 1, &o);
  int32_t *s = fixture_array(&c.shift, QNPU_DT_INT32, 1, &o);
  for (size_t i = 0; i < c.input.count; i++) x[i] = (int8_t)rng_range(&r, -128, 127);
  for (size_t i = 0; i < c.filter.count; i++) w[i] = (int8_t)rng_range(&r, -128, 127);
  for (int i = 0; i < 3; i++) {
    b[i] = rng_range(&r, -2000, 2000);
    m[i] = rng_range(&r, 1 << 30, INT32_MAX);
    s[i] = -8 - i;
  }
  int8_t *e = fixture_array(&c.expected, QNPU_DT_INT8, 4, out);
  int32_t res[48];
  char err[512];
  const qnpu_layer_t l = qnpu_case_layer(&c);
  int rc = qnpu_layer_golden(&l, res) != QNPU_OK;
  for (int i = 0; i < 48; i++) e[i] = (int8_t)res[i];
  rc |= qnpu_case_save(&c, dir, err, sizeof err) != QNPU_OK;
  qnpu_case_free(&c);
  return rc;
}

/* Edits DIR/layer.json: sets key to val (or deletes it when val is NULL). */
static inline int fixture_edit_json(const char *dir, const char *key, cJSON *val) {
  char path[256];
  snprintf(path, sizeof path, "%s/layer.json", dir);
  FILE *fp = fopen(path, "rb");
  if (!fp) return -1;
  char buf[8192];
  const size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  cJSON *j = cJSON_Parse(buf);
  if (!j) return -1;
  if (val) {
    if (cJSON_GetObjectItemCaseSensitive(j, key)) cJSON_ReplaceItemInObjectCaseSensitive(j, key, val);
    else cJSON_AddItemToObject(j, key, val);
  } else {
    cJSON_DeleteItemFromObjectCaseSensitive(j, key);
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  fp = fopen(path, "wb");
  if (!fp || !text) return -1;
  fputs(text, fp);
  fclose(fp);
  free(text);
  return 0;
}

static inline cJSON *fixture_ints(int n, const int *v) { return cJSON_CreateIntArray(v, n); }

#endif /* QNPU_CASE_FIXTURE_H */
