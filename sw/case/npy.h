/* npy.h - a small reader and writer for NumPy .npy files (format 1.0-3.0,
 * little-endian, C order). Enough for layer cases: int8/uint8/int16/int32/
 * int64/float32/float64 arrays of up to QNPU_NPY_MAX_DIMS dimensions. */
#ifndef QNPU_NPY_H
#define QNPU_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"
#include "qnpu_tensor.h"

#define QNPU_NPY_MAX_DIMS QNPU_TENSOR_MAX_DIMS

/* A .npy array is a tensor (qnpu_tensor.h); its data is malloc'd. */
typedef qnpu_tensor_t qnpu_npy_t;

/* numpy's name of a dtype ("int8", "float64", ...). */
const char *qnpu_dtype_name(qnpu_dtype_t dt);
size_t qnpu_dtype_size(qnpu_dtype_t dt);

/* Reads path into *out. On failure returns QNPU_ERR_IO (cannot open/read),
 * QNPU_ERR_FORMAT (not a valid .npy) or QNPU_ERR_UNSUPPORTED (big-endian,
 * Fortran order, other dtypes), with "PATH: reason" in err. */
qnpu_status_t qnpu_npy_read(const char *path, qnpu_npy_t *out, char *err,
                            size_t errlen) QNPU_MUST_CHECK;

/* Writes a version 1.0 .npy file. */
qnpu_status_t qnpu_npy_write(const char *path, qnpu_dtype_t dt, int ndim,
                             const int64_t *shape, const void *data, char *err,
                             size_t errlen) QNPU_MUST_CHECK;

/* Frees data and zeroes *a; safe on a zeroed or already freed array. */
void qnpu_npy_free(qnpu_npy_t *a);

#endif /* QNPU_NPY_H */
