/* qnpu_tensor.h - the one tensor type: a dense C-order array of a dtype.
 * The .npy reader produces it (npy.h), the layer model points into it
 * (qnpu_layer.h), the runtime and the tools consume it. */
#ifndef QNPU_TENSOR_H
#define QNPU_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define QNPU_TENSOR_MAX_DIMS 8

typedef enum {
  QNPU_DT_INT8,
  QNPU_DT_UINT8,
  QNPU_DT_INT16,
  QNPU_DT_INT32,
  QNPU_DT_INT64,
  QNPU_DT_FLOAT32,
  QNPU_DT_FLOAT64
} qnpu_dtype_t;

typedef struct {
  qnpu_dtype_t dtype;
  int ndim;
  int64_t shape[QNPU_TENSOR_MAX_DIMS];
  size_t count; /* product of shape (1 for a 0-d array) */
  void *data;   /* count elements of dtype               */
} qnpu_tensor_t;

#endif /* QNPU_TENSOR_H */
