/* qnpu_calib.c - histogram calibrators (qnpu_calib.h). */
#include "qnpu_calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void qnpu_hist_init(qnpu_hist_t *h) { memset(h, 0, sizeof *h); }

/* Doubles the bin width: bins 2b and 2b+1 merge into b. */
static void grow(qnpu_hist_t *h) {
  for (int b = 0; b < QNPU_CALIB_BINS / 2; b++) h->hist[b] = h->hist[2 * b] + h->hist[2 * b + 1];
  memset(h->hist + QNPU_CALIB_BINS / 2, 0, sizeof h->hist / 2);
  h->width *= 2;
}

qnpu_status_t qnpu_hist_add(qnpu_hist_t *h, const float *x, size_t n) {
  if (!h || (!x && n)) return QNPU_ERR_ARG;
  double amax = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) return QNPU_ERR_ARG;
    amax = fmax(amax, fabs((double)x[i]));
  }
  if (h->width == 0 && amax > 0) h->width = amax / (QNPU_CALIB_BINS - 0.5); /* amax lands in the last bin */
  while (h->width > 0 && amax / h->width >= QNPU_CALIB_BINS) grow(h);
  for (size_t i = 0; i < n; i++) {
    const double v = (double)x[i], a = fabs(v);
    if (!h->count || v < h->min) h->min = v;
    if (!h->count || v > h->max) h->max = v;
    h->count++;
    size_t b = h->width > 0 ? (size_t)(a / h->width) : 0;
    if (b >= QNPU_CALIB_BINS) b = QNPU_CALIB_BINS - 1;
    h->hist[b]++;
  }
  return QNPU_OK;
}

static double percentile_threshold(const qnpu_hist_t *h, double p) {
  const double need = p / 100.0 * (double)h->count;
  uint64_t cum = 0;
  for (int b = 0; b < QNPU_CALIB_BINS; b++) {
    cum += h->hist[b];
    if ((double)cum >= need) return (b + 1) * h->width;
  }
  return QNPU_CALIB_BINS * h->width;
}

/* Replaces the zeros of a normalised distribution by eps, taking the mass
 * from its nonzero entries (MXNet's _smooth_distribution, eps 1e-4), so
 * that KL stays finite where Q has an empty level that P does not. */
static void smooth(double *d, int n) {
  const double eps = 1e-4;
  int zeros = 0;
  for (int j = 0; j < n; j++) zeros += d[j] == 0;
  if (!zeros || zeros == n) return;
  const double eps1 = eps * zeros / (n - zeros);
  for (int j = 0; j < n; j++) d[j] = d[j] == 0 ? eps : d[j] - eps1;
}

/* KL(P || Q) of the first i bins against their quantization to `levels`
 * levels (the TensorRT construction, as in pytorch-quantization and MXNet):
 * P is the clipped histogram with the outliers beyond i in its last bin; Q
 * spreads each level's total evenly over the level's nonzero bins; both are
 * normalised and smoothed. */
static double kl_at(const double *bins, int i, double outliers, int levels, int *chunk, double *p, double *q) {
  double sum_lv[1024], nz_lv[1024];
  for (int k = 0; k < levels; k++) sum_lv[k] = nz_lv[k] = 0;
  for (int j = 0; j < i; j++) {
    chunk[j] = bins[j] > 0 ? (int)((long long)j * levels / i) : -1;
    if (chunk[j] >= 0) sum_lv[chunk[j]] += bins[j], nz_lv[chunk[j]] += 1;
  }
  double qs = 0, ps = 0;
  for (int j = 0; j < i; j++) {
    q[j] = chunk[j] >= 0 ? sum_lv[chunk[j]] / nz_lv[chunk[j]] : 0;
    p[j] = bins[j] + (j == i - 1 ? outliers : 0);
    qs += q[j];
    ps += p[j];
  }
  if (qs <= 0 || ps <= 0) return INFINITY;
  for (int j = 0; j < i; j++) p[j] /= ps, q[j] /= qs;
  smooth(p, i);
  smooth(q, i);
  double kl = 0;
  for (int j = 0; j < i; j++)
    if (p[j] > 0 && q[j] > 0) kl += p[j] * log(p[j] / q[j]);
  return kl;
}

static double entropy_threshold(const qnpu_hist_t *h, int levels) {
  double bins[QNPU_CALIB_BINS], p[QNPU_CALIB_BINS], q[QNPU_CALIB_BINS];
  int chunk[QNPU_CALIB_BINS];
  int last = QNPU_CALIB_BINS;
  while (last > 1 && !h->hist[last - 1]) last--;
  for (int b = 0; b < QNPU_CALIB_BINS; b++) bins[b] = (double)h->hist[b];
  /* the spike of exact zeros (a ReLU's) in bin 0 would dominate the
   * divergence: it counts as much as bin 1, as in pytorch-quantization */
  if (QNPU_CALIB_BINS > 1) bins[0] = bins[1];
  if (last <= levels) return last * h->width; /* nothing to clip */
  double tail = 0;
  for (int b = levels; b < last; b++) tail += bins[b];
  double best = INFINITY;
  int best_i = last;
  for (int i = levels; i <= last; i++) {
    const double kl = kl_at(bins, i, tail, levels, chunk, p, q);
    if (kl < best) best = kl, best_i = i;
    if (i < last) tail -= bins[i];
  }
  return best_i * h->width;
}

qnpu_status_t qnpu_calib_threshold(const qnpu_hist_t *h, const qnpu_calib_t *c, double *t) {
  if (!h || !c || !t || !h->count) return QNPU_ERR_ARG;
  const double amax = fmax(fabs(h->min), fabs(h->max));
  switch (c->kind) {
    case QNPU_CALIB_MAX:
      *t = amax;
      return QNPU_OK;
    case QNPU_CALIB_PERCENTILE:
      if (!(c->percentile > 0 && c->percentile <= 100)) return QNPU_ERR_ARG;
      *t = h->width > 0 ? fmin(amax, percentile_threshold(h, c->percentile)) : 0;
      return QNPU_OK;
    case QNPU_CALIB_ENTROPY: {
      const int levels = c->levels ? c->levels : 128;
      if (levels < 2 || levels > 1024) return QNPU_ERR_ARG;
      *t = h->width > 0 ? fmin(amax, entropy_threshold(h, levels)) : 0;
      return QNPU_OK;
    }
  }
  return QNPU_ERR_ARG;
}

qnpu_status_t qnpu_calib_range(const qnpu_hist_t *h, const qnpu_calib_t *c, double *lo, double *hi) {
  double t;
  const qnpu_status_t st = qnpu_calib_threshold(h, c, &t);
  if (st || !lo || !hi) return st ? st : QNPU_ERR_ARG;
  *lo = fmax(h->min, -t);
  *hi = fmin(h->max, t);
  return QNPU_OK;
}

qnpu_status_t qnpu_calib_parse(const char *s, qnpu_calib_t *c) {
  if (!s || !c) return QNPU_ERR_ARG;
  memset(c, 0, sizeof *c);
  if (!strcmp(s, "max")) return c->kind = QNPU_CALIB_MAX, QNPU_OK;
  if (!strcmp(s, "entropy")) return c->kind = QNPU_CALIB_ENTROPY, QNPU_OK;
  if (!strncmp(s, "percentile:", 11)) {
    char *end;
    const double p = strtod(s + 11, &end);
    if (end == s + 11 || *end || !(p > 0 && p <= 100)) return QNPU_ERR_ARG;
    c->kind = QNPU_CALIB_PERCENTILE;
    c->percentile = p;
    return QNPU_OK;
  }
  return QNPU_ERR_ARG;
}
