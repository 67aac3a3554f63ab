/* qnpu_dataset.h - an image classification set in the MNIST layout: a pair
 * of IDX files DIR/SPLIT-images-idx3-ubyte[.gz] (uint8 [n][h][w]) and
 * DIR/SPLIT-labels-idx1-ubyte[.gz] (uint8 [n]), read with qnpu_idx.h.
 * Fashion-MNIST from Debian's dataset-fashion-mnist is the default. */
#ifndef QNPU_DATASET_H
#define QNPU_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QNPU_DATASET_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
  int32_t n, h, w, c; /* c = 1: the images are [n][h][w][1], NHWC        */
  uint8_t *pixels;
  uint8_t *labels; /* [n]                                              */
  int classes;     /* 1 + the largest label                            */
} qnpu_dataset_t;

/* Reads split "train" or "t10k" of dir (the .gz file, else the plain one).
 * Errors, "PATH: reason" in err: those of qnpu_idx_read(), and
 * QNPU_ERR_FORMAT for images that are not uint8 [n][h][w], labels that are
 * not uint8 [n], or counts that differ. *d is zeroed on failure. */
qnpu_status_t qnpu_dataset_load(const char *dir, const char *split, qnpu_dataset_t *d, char *err,
                                size_t errlen) QNPU_MUST_CHECK;
void qnpu_dataset_free(qnpu_dataset_t *d);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_DATASET_H */
