/* npy.c - NumPy .npy reader and writer (see npy.h). The header is a Python
 * dict literal; we parse just the three keys numpy writes. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

static const struct {
  qnpu_dtype_t dt;
  char kind;
  size_t size;
  const char *name;
} kTypes[] = {
    {QNPU_DT_INT8, 'i', 1, "int8"},       {QNPU_DT_UINT8, 'u', 1, "uint8"}, {QNPU_DT_INT16, 'i', 2, "int16"},
    {QNPU_DT_INT32, 'i', 4, "int32"},     {QNPU_DT_INT64, 'i', 8, "int64"}, {QNPU_DT_FLOAT32, 'f', 4, "float32"},
    {QNPU_DT_FLOAT64, 'f', 8, "float64"},
};
#define NTYPES (sizeof kTypes / sizeof kTypes[0])

const char *qnpu_dtype_name(qnpu_dtype_t dt) {
  for (size_t i = 0; i < NTYPES; i++)
    if (kTypes[i].dt == dt) return kTypes[i].name;
  return "?";
}

size_t qnpu_dtype_size(qnpu_dtype_t dt) {
  for (size_t i = 0; i < NTYPES; i++)
    if (kTypes[i].dt == dt) return kTypes[i].size;
  return 0;
}

/* Finds the value after 'key': in a dict literal; NULL if absent. */
static const char *dict_value(const char *hdr, const char *key) {
  char quoted[32];
  const char *quotes = "'\"";
  for (int q = 0; q < 2; q++) {
    snprintf(quoted, sizeof quoted, "%c%s%c", quotes[q], key, quotes[q]);
    const char *p = strstr(hdr, quoted);
    if (!p) continue;
    p += strlen(quoted);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
  }
  return NULL;
}

static qnpu_status_t parse_header(const char *hdr, qnpu_npy_t *a, const char *path, char *err, size_t errlen) {
  const char *d = dict_value(hdr, "descr");
  if (!d || (*d != '\'' && *d != '"'))
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "header has no 'descr'");
  const char q = *d++;
  const char *end = strchr(d, q);
  if (!end || end - d < 3 || end - d > 4)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "bad 'descr' in header");
  const char order = d[0];
  const char kind = d[1];
  const size_t size = (size_t)strtoul(d + 2, NULL, 10);
  if (order == '>' && size > 1)
    return qnpu_path_error(QNPU_ERR_UNSUPPORTED, err, errlen, path, "big-endian data ('%.*s') is not supported",
                           (int)(end - d), d);
  if (order != '<' && order != '|' && order != '=' && order != '>')
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "bad byte order in 'descr'");
  int found = 0;
  for (size_t i = 0; i < NTYPES; i++)
    if (kTypes[i].kind == kind && kTypes[i].size == size) {
      a->dtype = kTypes[i].dt;
      found = 1;
    }
  if (!found)
    return qnpu_path_error(QNPU_ERR_UNSUPPORTED, err, errlen, path, "dtype '%.*s' is not supported", (int)(end - d), d);

  const char *f = dict_value(hdr, "fortran_order");
  if (!f) return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "header has no 'fortran_order'");
  if (strncmp(f, "True", 4) == 0)
    return qnpu_path_error(QNPU_ERR_UNSUPPORTED, err, errlen, path,
                           "Fortran-order arrays are not supported (save with C order)");
  if (strncmp(f, "False", 5) != 0)
    return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "bad 'fortran_order' in header");

  const char *s = dict_value(hdr, "shape");
  if (!s || *s != '(') return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "header has no 'shape'");
  s++;
  a->ndim = 0;
  a->count = 1;
  for (;;) {
    while (*s == ' ' || *s == ',') s++;
    if (*s == ')') break;
    char *next;
    errno = 0;
    const long long v = strtoll(s, &next, 10);
    if (next == s || errno || v < 0)
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "bad 'shape' in header");
    if (a->ndim == QNPU_NPY_MAX_DIMS)
      return qnpu_path_error(QNPU_ERR_UNSUPPORTED, err, errlen, path, "more than %d dimensions", QNPU_NPY_MAX_DIMS);
    a->shape[a->ndim++] = v;
    if (v && a->count > SIZE_MAX / 16 / (size_t)v)
      return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "shape is too large");
    a->count *= (size_t)v;
    s = next;
  }
  return QNPU_OK;
}

qnpu_status_t qnpu_npy_read(const char *path, qnpu_npy_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *fp = fopen(path, "rb");
  if (!fp) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot open: %s", strerror(errno));
  qnpu_status_t st = QNPU_OK;
  unsigned char pre[12];
  char *hdr = NULL;
  if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "not a .npy file (bad magic)");
    goto done;
  }
  size_t hlen;
  if (pre[6] == 1) {
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, fp) != 2) {
      st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "truncated header");
      goto done;
    }
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  } else {
    st = qnpu_path_error(QNPU_ERR_UNSUPPORTED, err, errlen, path, ".npy format version %u.%u", pre[6], pre[7]);
    goto done;
  }
  if (hlen > (1u << 20)) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "header length %zu is implausible", hlen);
    goto done;
  }
  hdr = malloc(hlen + 1);
  if (!hdr) {
    st = qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory");
    goto done;
  }
  if (fread(hdr, 1, hlen, fp) != hlen) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "truncated header");
    goto done;
  }
  hdr[hlen] = '\0';
  st = parse_header(hdr, out, path, err, errlen);
  if (st != QNPU_OK) goto done;
  const size_t bytes = out->count * qnpu_dtype_size(out->dtype);
  /* the data must be in the file before it is worth allocating */
  const long here = ftell(fp);
  if (here < 0 || fseek(fp, 0, SEEK_END)) {
    st = qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot seek: %s", strerror(errno));
    goto done;
  }
  const long size = ftell(fp);
  if (size < here || fseek(fp, here, SEEK_SET)) {
    st = qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot seek: %s", strerror(errno));
    goto done;
  }
  if ((uint64_t)(size - here) < bytes) {
    st =
        qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path,
                        "truncated data: %ld of %zu bytes for shape with %zu elements", size - here, bytes, out->count);
    goto done;
  }
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data) {
    st = qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory (%zu bytes)", bytes);
    goto done;
  }
  const size_t got = fread(out->data, 1, bytes, fp);
  if (got != bytes) {
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path,
                         "truncated data: %zu of %zu bytes for shape with %zu elements", got, bytes, out->count);
    goto done;
  }
  if (fgetc(fp) != EOF)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "trailing bytes after %zu elements", out->count);
done:
  free(hdr);
  fclose(fp);
  if (st != QNPU_OK) qnpu_npy_free(out);
  return st;
}

qnpu_status_t qnpu_npy_write(const char *path, qnpu_dtype_t dt, int ndim, const int64_t *shape, const void *data,
                             char *err, size_t errlen) {
  const size_t isz = qnpu_dtype_size(dt);
  if (!isz || ndim < 0 || ndim > QNPU_NPY_MAX_DIMS || (ndim && !shape))
    return qnpu_path_error(QNPU_ERR_ARG, err, errlen, path, "bad array description");
  char kind = 'i';
  for (size_t i = 0; i < NTYPES; i++)
    if (kTypes[i].dt == dt) kind = kTypes[i].kind;
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%c%c%zu', 'fortran_order': False, 'shape': (", isz == 1 ? '|' : '<',
                   kind, isz);
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return qnpu_path_error(QNPU_ERR_ARG, err, errlen, path, "negative dimension");
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld%s", (long long)shape[i],
                  ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    count *= (size_t)shape[i];
  }
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  /* Pad with spaces so that magic + length + header + '\n' is 64-aligned. */
  size_t total = 10 + (size_t)n + 1;
  const size_t pad = (64 - total % 64) % 64;
  const size_t hlen = (size_t)n + pad + 1;
  FILE *fp = fopen(path, "wb");
  if (!fp) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot create: %s", strerror(errno));
  const unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xFF), (unsigned char)(hlen >> 8)};
  int ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(dict, 1, (size_t)n, fp) == (size_t)n;
  for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', fp) != EOF;
  ok = ok && fputc('\n', fp) != EOF;
  ok = ok && (count == 0 || fwrite(data, isz, count, fp) == count);
  ok = (fclose(fp) == 0) && ok;
  if (!ok) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "write failed: %s", strerror(errno));
  return QNPU_OK;
}

void qnpu_npy_free(qnpu_npy_t *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}
