/* qnpu_file.c - whole-file reads (qnpu_file.h). */
#include "qnpu_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"

qnpu_status_t qnpu_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, char *err, size_t errlen) {
  *buf = NULL, *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "cannot open: %s", strerror(errno));
  uint8_t *b = NULL;
  size_t n = 0, cap = 0;
  qnpu_status_t st = QNPU_OK;
  for (;;) {
    if (n + 1 >= cap) {
      if (n > max_bytes) {
        st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "larger than %zu bytes", max_bytes);
        break;
      }
      cap = cap ? 2 * cap : 1 << 16;
      uint8_t *nb = realloc(b, cap);
      if (!nb) {
        st = qnpu_path_error(QNPU_ERR_NOMEM, err, errlen, path, "out of memory");
        break;
      }
      b = nb;
    }
    const size_t got = fread(b + n, 1, cap - 1 - n, f);
    n += got;
    if (!got) break;
  }
  if (!st && ferror(f)) st = qnpu_path_error(QNPU_ERR_IO, err, errlen, path, "read error");
  if (!st && n > max_bytes)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "larger than %zu bytes", max_bytes);
  fclose(f);
  if (st) {
    free(b);
    return st;
  }
  b[n] = '\0';
  *buf = b, *len = n;
  return QNPU_OK;
}
