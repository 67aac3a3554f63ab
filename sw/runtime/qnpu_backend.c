/* qnpu_backend.c - the backend table (qnpu_backend.h). */
#include "qnpu_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_fm.h"
#include "qnpu_hal_mmio.h"
#include "qnpu_regs.h"

#ifndef QNPU_CFG_ROWS /* the array of this build (make CONFIG=RxC) */
#define QNPU_CFG_ROWS QNPU_DEFAULT_ROWS
#define QNPU_CFG_COLS QNPU_DEFAULT_COLS
#endif

#define DEFAULT_DRAM_BYTES (64ull << 20)

struct qnpu_session {
  const qnpu_backend_t *be;
  void *impl;
  qnpu_hal_t hal;
  qnpu_dev_t *dev;
};

static qnpu_status_t golden_open(const qnpu_backend_config_t *cfg, void **impl, qnpu_hal_t *hal, char *err,
                                 size_t errlen) {
  (void)cfg, (void)hal, (void)err, (void)errlen;
  *impl = NULL;
  return QNPU_OK;
}

static void golden_close(void *impl) { (void)impl; }

static qnpu_status_t model_open(const qnpu_backend_config_t *cfg, void **impl, qnpu_hal_t *hal, char *err,
                                size_t errlen) {
  qnpu_fm_config_t fc;
  qnpu_fm_config_default(&fc);
  fc.rows = cfg && cfg->rows ? cfg->rows : QNPU_CFG_ROWS;
  fc.cols = cfg && cfg->cols ? cfg->cols : QNPU_CFG_COLS;
  fc.dram_bytes = cfg && cfg->dram_bytes ? cfg->dram_bytes : DEFAULT_DRAM_BYTES;
  qnpu_fm_t *fm;
  const qnpu_status_t st = qnpu_fm_create(&fc, &fm);
  if (st) {
    snprintf(err, errlen, "backend model: cannot create a %ux%u fast model: %s", fc.rows, fc.cols,
             qnpu_status_str(st));
    return st;
  }
  *impl = fm;
  *hal = qnpu_hal_fast(fm);
  return QNPU_OK;
}

static void model_close(void *impl) { qnpu_fm_destroy(impl); }

static qnpu_status_t mmio_open(const qnpu_backend_config_t *cfg, void **impl, qnpu_hal_t *hal, char *err,
                               size_t errlen) {
  qnpu_mmio_config_t mc;
  memset(&mc, 0, sizeof mc);
  mc.reg_path = cfg && cfg->device ? cfg->device : "/dev/uio0";
  mc.mem_path = mc.reg_path;
  mc.mem_offset = 4096;
  mc.mem_bytes = cfg && cfg->dram_bytes ? cfg->dram_bytes : DEFAULT_DRAM_BYTES;
  qnpu_hal_mmio_t *m;
  char why[256] = "";
  const qnpu_status_t st = qnpu_hal_mmio_open(&mc, &m, why, sizeof why);
  if (st) {
    snprintf(err, errlen, "backend mmio: %s", why[0] ? why : qnpu_status_str(st));
    return st;
  }
  *impl = m;
  *hal = qnpu_hal_mmio(m);
  return QNPU_OK;
}

static void mmio_close(void *impl) { qnpu_hal_mmio_close(impl); }

static const qnpu_backend_t kGolden = {"golden", "the C golden model (no device; the reference)", golden_open,
                                       golden_close};
static const qnpu_backend_t kModel = {"model", "the fast functional model of the accelerator (no cycles)",
                                      model_open, model_close};
static const qnpu_backend_t kMmio = {"mmio", "real hardware through /dev/uio0 (--device PATH)", mmio_open,
                                     mmio_close};

/* The table, in the order --help lists it: each name with its entry; the
 * sim entry's address is NULL (a weak reference) when it is not linked. */
static const struct {
  const char *name;
  const qnpu_backend_t *be;
} kTable[] = {{"golden", &kGolden}, {"model", &kModel}, {"sim", &qnpu_backend_sim}, {"mmio", &kMmio}};
#define N_ENTRIES (sizeof kTable / sizeof *kTable)

const char *qnpu_backend_entry(size_t i, const qnpu_backend_t **be) {
  if (i >= N_ENTRIES) return NULL;
  if (be) *be = kTable[i].be;
  return kTable[i].name;
}

const qnpu_backend_t *qnpu_backend_find(const char *name, int *known) {
  if (known) *known = 0;
  for (size_t i = 0; name && i < N_ENTRIES; i++)
    if (!strcmp(name, kTable[i].name)) {
      if (known) *known = 1;
      return kTable[i].be;
    }
  return NULL;
}

const char *qnpu_backend_names(char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < N_ENTRIES; i++)
    if (kTable[i].be && k < len) k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? ", " : "", kTable[i].name);
  return buf;
}

qnpu_status_t qnpu_session_open(const qnpu_backend_t *be, const qnpu_backend_config_t *cfg, qnpu_session_t **out,
                                char *err, size_t errlen) {
  if (!be || !out) return QNPU_ERR_ARG;
  *out = NULL;
  qnpu_session_t *s = calloc(1, sizeof *s);
  if (!s) return QNPU_ERR_NOMEM;
  s->be = be;
  qnpu_status_t st = be->open(cfg, &s->impl, &s->hal, err, errlen);
  if (st) {
    free(s);
    return st;
  }
  if (be != &kGolden) {
    const qnpu_dev_expect_t expect = {cfg ? cfg->rows : 0, cfg ? cfg->cols : 0};
    st = qnpu_drv_open(&s->hal, &expect, NULL, &s->dev);
    if (st) {
      snprintf(err, errlen, "backend %s: the driver cannot open the device: %s", be->name, qnpu_status_str(st));
      be->close(s->impl);
      free(s);
      return st;
    }
  }
  *out = s;
  return QNPU_OK;
}

void qnpu_session_close(qnpu_session_t *s) {
  if (!s) return;
  if (s->dev) qnpu_drv_close(s->dev);
  s->be->close(s->impl);
  free(s);
}

const qnpu_backend_t *qnpu_session_backend(const qnpu_session_t *s) { return s ? s->be : NULL; }
qnpu_dev_t *qnpu_session_dev(qnpu_session_t *s) { return s ? s->dev : NULL; }
void *qnpu_session_impl(qnpu_session_t *s) { return s ? s->impl : NULL; }

qnpu_status_t qnpu_session_run(qnpu_session_t *s, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, int32_t *out,
                               qnpu_rt_stats_t *stats, char *err, size_t errlen) {
  if (!s || !l || !out) return QNPU_ERR_ARG;
  if (s->dev) return qnpu_rt_run(s->dev, l, opt, out, stats, err, errlen);
  qnpu_status_t st = qnpu_layer_check(l, err, errlen);
  if (st) return st;
  if (stats) {
    memset(stats, 0, sizeof *stats);
    stats->macs = qnpu_layer_macs(l);
    stats->min_bytes = qnpu_layer_min_bytes(l);
  }
  st = qnpu_layer_golden(l, out);
  if (st) snprintf(err, errlen, "the golden model rejected the layer: %s", qnpu_status_str(st));
  return st;
}
