/* qnpu_idx.c - IDX files (qnpu_idx.h). */
#include "qnpu_idx.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"
#include <zlib.h>

#define MAX_ELEMENTS (1ull << 32) /* 4 Gi elements: far beyond any dataset here */

static const struct {
  uint8_t code;
  qnpu_dtype_t dt;
  size_t size;
} kTypes[] = {
    {0x08, QNPU_DT_UINT8, 1}, {0x09, QNPU_DT_INT8, 1},    {0x0B, QNPU_DT_INT16, 2},
    {0x0C, QNPU_DT_INT32, 4}, {0x0D, QNPU_DT_FLOAT32, 4}, {0x0E, QNPU_DT_FLOAT64, 8},
};
#define NTYPES (sizeof kTypes / sizeof *kTypes)

/* Reads exactly n bytes; the count read in *got. */
static int read_all(gzFile f, void *buf, size_t n, size_t *got) {
  size_t k = 0;
  while (k < n) {
    const unsigned chunk = n - k > (1u << 30) ? 1u << 30 : (unsigned)(n - k);
    const int r = gzread(f, (uint8_t *)buf + k, chunk);
    if (r <= 0) break;
    k += (size_t)r;
  }
  *got = k;
  return k == n;
}

void qnpu_idx_free(qnpu_tensor_t *t) {
  if (!t) return;
  free(t->data);
  memset(t, 0, sizeof *t);
}

qnpu_status_t qnpu_idx_read(const char *path, qnpu_tensor_t *out, char *err, size_t errlen) {
  if (!out) return QNPU_ERR_ARG;
  memset(out, 0, sizeof *out);
  if (!path) return qnpu_path_error(QNPU_ERR_ARG, err, errlen, "(null)", "no path");
  gzFile f = gzopen(path, "rb");
  if (!f) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot open");
  qnpu_status_t st = QNPU_OK;
  uint8_t magic[4];
  size_t got;
  size_t t = 0, esize = 0;
  if (!read_all(f, magic, 4, &got)) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "truncated: %zu of the 4 magic bytes", got);
    goto done;
  }
  if (magic[0] || magic[1]) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "not an IDX file (magic %02x %02x %02x %02x)", magic[0],
                         magic[1], magic[2], magic[3]);
    goto done;
  }
  for (t = 0; t < NTYPES && kTypes[t].code != magic[2]; t++) {
  }
  if (t == NTYPES) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "unknown IDX element type 0x%02x", magic[2]);
    goto done;
  }
  esize = kTypes[t].size;
  const int nd = magic[3];
  if (nd < 1 || nd > QNPU_TENSOR_MAX_DIMS) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "%d dimensions (1 to %d supported)", nd,
                         QNPU_TENSOR_MAX_DIMS);
    goto done;
  }
  uint64_t count = 1;
  for (int d = 0; d < nd; d++) {
    uint8_t b[4];
    if (!read_all(f, b, 4, &got)) {
      st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "truncated in the size of dimension %d", d);
      goto done;
    }
    const uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    out->shape[d] = v;
    count *= v;
    if (count > MAX_ELEMENTS) {
      st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "more than %llu elements",
                           (unsigned long long)MAX_ELEMENTS);
      goto done;
    }
  }
  out->ndim = nd;
  out->dtype = kTypes[t].dt;
  out->count = (size_t)count;
  const size_t bytes = out->count * esize;
  /* The buffer grows with the data read, so that a header promising more
   * than the file holds costs no more memory than the file. */
  size_t cap = bytes < (1u << 20) ? bytes : 1u << 20;
  out->data = malloc(cap ? cap : 1);
  got = 0;
  while (out->data && got < bytes) {
    size_t n;
    const int full = read_all(f, (uint8_t *)out->data + got, cap - got, &n);
    got += n;
    if (!full) break;
    if (got == cap && cap < bytes) {
      const size_t ncap = cap > bytes / 2 ? bytes : 2 * cap;
      void *nb = realloc(out->data, ncap);
      if (!nb) {
        free(out->data);
        out->data = NULL;
        break;
      }
      out->data = nb, cap = ncap;
    }
  }
  if (!out->data) {
    st = qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory for %zu bytes", bytes);
    goto done;
  }
  if (got < bytes) {
    int zerr = 0;
    const char *zmsg = gzerror(f, &zerr);
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path,
                         "truncated data: %zu of %zu bytes for the %zu elements%s%s", got, bytes, out->count,
                         zerr && zerr != Z_STREAM_END ? ": " : "", zerr && zerr != Z_STREAM_END ? zmsg : "");
    goto done;
  }
  uint8_t extra;
  if (gzread(f, &extra, 1) > 0) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "trailing bytes after the %zu elements", out->count);
    goto done;
  }
  /* big-endian to host order */
  if (esize > 1) {
    uint8_t *p = out->data;
    for (size_t i = 0; i < out->count; i++, p += esize)
      for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
        const uint8_t x = p[a];
        p[a] = p[b];
        p[b] = x;
      }
  }
done:
  gzclose(f);
  if (st) qnpu_idx_free(out);
  return st;
}

qnpu_status_t qnpu_idx_write(const char *path, const qnpu_tensor_t *t, char *err, size_t errlen) {
  if (!path || !t || (!t->data && t->count)) return QNPU_ERR_ARG;
  size_t k = 0;
  for (; k < NTYPES && kTypes[k].dt != t->dtype; k++) {
  }
  if (k == NTYPES || t->ndim < 1 || t->ndim > QNPU_TENSOR_MAX_DIMS)
    return qnpu_path_error(QNPU_ERR_ARG, err, errlen, path, "not a tensor IDX can hold");
  const size_t n = strlen(path);
  gzFile f = gzopen(path, n > 3 && !strcmp(path + n - 3, ".gz") ? "wb" : "wbT");
  if (!f) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot create");
  uint8_t hdr[4 + 4 * QNPU_TENSOR_MAX_DIMS] = {0, 0, kTypes[k].code, (uint8_t)t->ndim};
  for (int d = 0; d < t->ndim; d++)
    for (int b = 0; b < 4; b++) hdr[4 + 4 * d + b] = (uint8_t)((uint64_t)t->shape[d] >> (24 - 8 * b));
  int ok = gzwrite(f, hdr, (unsigned)(4 + 4 * t->ndim)) == 4 + 4 * t->ndim;
  const size_t es = kTypes[k].size;
  const uint8_t *p = t->data;
  for (size_t i = 0; ok && i < t->count; i++, p += es) {
    uint8_t be[8];
    for (size_t b = 0; b < es; b++) be[b] = p[es - 1 - b];
    ok = gzwrite(f, be, (unsigned)es) == (int)es;
  }
  if (gzclose(f) != Z_OK || !ok) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "write failed");
  return QNPU_OK;
}
