/* qnpu_backend_sim.c - the sim entry of the backend table (qnpu_backend.h):
 * the cycle-accurate Verilated accelerator. Linked only into binaries that
 * carry a Verilated model (the CLI, the sim tests, the benchmarks). */
#include <stdio.h>

#include "qnpu_backend.h"
#include "qnpu_hal_sim.h"
#include "qnpu_sim.h"

static qnpu_status_t sim_open(const qnpu_backend_config_t *cfg, void **impl, qnpu_hal_t *hal, char *err,
                              size_t errlen) {
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = cfg && cfg->dram_bytes ? cfg->dram_bytes : 64ull << 20;
  sc.trace_path = cfg ? cfg->trace_path : NULL;
  sc.random_init_seed = cfg ? cfg->random_init_seed : 0;
  if (cfg && cfg->faults && qnpu_sim_faults_parse(cfg->faults, &sc.faults, err, errlen)) return QNPU_ERR_ARG;
  qnpu_sim_t *sim;
  const qnpu_status_t st = qnpu_sim_create(&sc, &sim);
  if (st) {
    if (st == QNPU_ERR_IO && sc.trace_path)
      snprintf(err, errlen, "backend sim: cannot write the trace file %s", sc.trace_path);
    else
      snprintf(err, errlen, "backend sim: cannot create the Verilated model: %s%s", qnpu_status_str(st),
               st == QNPU_ERR_UNSUPPORTED && sc.trace_path ? " (this build of the model has no tracing)" : "");
    return st;
  }
  if (cfg &&
      ((cfg->rows && cfg->rows != qnpu_sim_shape(sim).rows) || (cfg->cols && cfg->cols != qnpu_sim_shape(sim).cols))) {
    snprintf(err, errlen, "backend sim: this binary's model is %ux%u, not %ux%u (build another with make CONFIG=RxC)",
             qnpu_sim_shape(sim).rows, qnpu_sim_shape(sim).cols, cfg->rows, cfg->cols);
    qnpu_sim_destroy(sim);
    return QNPU_ERR_UNSUPPORTED;
  }
  *impl = sim;
  *hal = qnpu_hal_sim(sim);
  return QNPU_OK;
}

static void sim_close(void *impl) { qnpu_sim_destroy(impl); }

const qnpu_backend_t qnpu_backend_sim = {"sim", "the cycle-accurate Verilated RTL (--trace FILE.fst)", sim_open,
                                         sim_close};
