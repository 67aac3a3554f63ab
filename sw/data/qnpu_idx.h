/* qnpu_idx.h - a reader for IDX files (the MNIST / Fashion-MNIST format),
 * plain or gzip-compressed (zlib reads both).
 *
 * An IDX file is a 4-byte magic (0, 0, type, number of dimensions), the
 * dimensions as big-endian uint32, then the data in C order, big-endian.
 * Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
 * 0x0E float64. The reader produces a qnpu_tensor_t in host byte order. */
#ifndef QNPU_IDX_H
#define QNPU_IDX_H

#include <stddef.h>

#include "qnpu_status.h"
#include "qnpu_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads path into *out (data malloc'd; free with qnpu_idx_free). Errors,
 * each with "PATH: reason" in err: QNPU_ERR_IO (cannot open or read),
 * QNPU_ERR_FORMAT (bad magic, a type it does not know, zero or too many
 * dimensions, truncated data, trailing bytes). *out is zeroed on failure. */
qnpu_status_t qnpu_idx_read(const char *path, qnpu_tensor_t *out, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Writes t as an IDX file, gzip-compressed when path ends in ".gz"
 * (uint8, int8, int16, int32, float32, float64 tensors). */
qnpu_status_t qnpu_idx_write(const char *path, const qnpu_tensor_t *t, char *err, size_t errlen) QNPU_MUST_CHECK;

void qnpu_idx_free(qnpu_tensor_t *t);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_IDX_H */
