/* qnpu_dataset.c - MNIST-layout image sets (qnpu_dataset.h). */
#include "qnpu_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qnpu_errmsg.h"
#include "qnpu_idx.h"

/* DIR/SPLIT-KIND-idx?-ubyte.gz if it exists, else without .gz. */
static void path_of(char *buf, size_t len, const char *dir, const char *split, const char *kind) {
  snprintf(buf, len, "%s/%s-%s-ubyte.gz", dir, split, kind);
  if (access(buf, R_OK) != 0) snprintf(buf, len, "%s/%s-%s-ubyte", dir, split, kind);
}

void qnpu_dataset_free(qnpu_dataset_t *d) {
  if (!d) return;
  free(d->pixels), free(d->labels);
  memset(d, 0, sizeof *d);
}

qnpu_status_t qnpu_dataset_load(const char *dir, const char *split, qnpu_dataset_t *d, char *err, size_t errlen) {
  if (!d) return QNPU_ERR_ARG;
  memset(d, 0, sizeof *d);
  if (!dir || !split) return qnpu_error(QNPU_ERR_ARG, err, errlen, "dataset: no directory or split");
  char ip[1024], lp[1024];
  path_of(ip, sizeof ip, dir, split, "images-idx3");
  path_of(lp, sizeof lp, dir, split, "labels-idx1");
  qnpu_tensor_t im, lb;
  qnpu_status_t st = qnpu_idx_read(ip, &im, err, errlen);
  if (st) return st;
  if ((st = qnpu_idx_read(lp, &lb, err, errlen))) {
    qnpu_idx_free(&im);
    return st;
  }
  if (im.dtype != QNPU_DT_UINT8 || im.ndim != 3 || im.shape[0] < 1 || im.shape[1] < 1 || im.shape[2] < 1)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, ip, "images must be uint8 [n][h][w]");
  else if (lb.dtype != QNPU_DT_UINT8 || lb.ndim != 1)
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, lp, "labels must be uint8 [n]");
  else if (lb.shape[0] != im.shape[0])
    st = qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, lp, "%lld labels for %lld images in %s", (long long)lb.shape[0],
                         (long long)im.shape[0], ip);
  if (st) {
    qnpu_idx_free(&im), qnpu_idx_free(&lb);
    return st;
  }
  d->n = (int32_t)im.shape[0], d->h = (int32_t)im.shape[1], d->w = (int32_t)im.shape[2], d->c = 1;
  d->pixels = im.data, d->labels = lb.data;
  for (int32_t i = 0; i < d->n; i++)
    if (d->labels[i] + 1 > d->classes) d->classes = d->labels[i] + 1;
  return QNPU_OK;
}
