/* qnpu_backend.h - where a layer runs: one table of backends behind one
 * seam. golden (the C golden model, no device), model (the fast functional
 * model, qnpu_fm.h), sim (the cycle-accurate Verilated RTL, qnpu_sim.h; only
 * in binaries linked with it) and mmio (real hardware through the driver's
 * memory-mapped HAL). Every backend but golden opens a device and runs the
 * layer through the runtime (qnpu_rt.h), so they differ only in the HAL. */
#ifndef QNPU_BACKEND_H
#define QNPU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_layer.h"
#include "qnpu_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t rows, cols;        /* model: array size (0 = this build's CONFIG)      */
  uint64_t dram_bytes;        /* model/sim: device memory (0 = 64 MiB)           */
  const char *trace_path;     /* sim: FST waveform file (NULL = none)            */
  uint64_t random_init_seed;  /* sim: random flip-flop start (0 = zeros)         */
  const char *faults;         /* sim: injected memory faults, a spec for
                                 qnpu_sim_faults_parse(), e.g. "jitter=32,error-beat=500" */
  const char *device;         /* mmio: register window, e.g. /dev/uio0           */
} qnpu_backend_config_t;

typedef struct qnpu_session qnpu_session_t;

typedef struct qnpu_backend {
  const char *name;
  const char *help;           /* one line for --help and errors                  */
  /* Opens an instance; err gets one line on failure. */
  qnpu_status_t (*open)(const qnpu_backend_config_t *cfg, void **impl, qnpu_hal_t *hal, char *err, size_t errlen);
  void (*close)(void *impl);
} qnpu_backend_t;

/* The backend called name, or NULL; *known (if not NULL) is 1 when the
 * name is in the table, so NULL with *known = 1 means "not in this binary". */
const qnpu_backend_t *qnpu_backend_find(const char *name, int *known);
/* The name of table entry i (NULL past the end) and in *be its backend
 * (NULL when not in this binary). */
const char *qnpu_backend_entry(size_t i, const qnpu_backend_t **be);

/* "golden, model, sim, mmio" (those in this binary) into buf. */
const char *qnpu_backend_names(char *buf, size_t len);

/* golden has no device: qnpu_session_dev() is NULL for it. */
qnpu_status_t qnpu_session_open(const qnpu_backend_t *be, const qnpu_backend_config_t *cfg, qnpu_session_t **out,
                                char *err, size_t errlen) QNPU_MUST_CHECK;
void qnpu_session_close(qnpu_session_t *s);
const qnpu_backend_t *qnpu_session_backend(const qnpu_session_t *s);
qnpu_dev_t *qnpu_session_dev(qnpu_session_t *s);
/* The backend's own handle (the qnpu_sim_t * of sim, for fault hooks); NULL
 * for golden. */
void *qnpu_session_impl(qnpu_session_t *s);

/* Runs l: the runtime on a device, the golden model on golden (stats then
 * has the layer's MACs and least traffic; no cycles). */
qnpu_status_t qnpu_session_run(qnpu_session_t *s, const qnpu_layer_t *l, const qnpu_rt_options_t *opt, int32_t *out,
                               qnpu_rt_stats_t *stats, char *err, size_t errlen) QNPU_MUST_CHECK;

/* The sim entry, defined in sim/qnpu_backend_sim.c (linked with the
 * Verilated model); a weak reference here, NULL in binaries without it. */
extern const qnpu_backend_t qnpu_backend_sim __attribute__((weak));

#ifdef __cplusplus
}
#endif

#endif /* QNPU_BACKEND_H */
