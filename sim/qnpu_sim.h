/* qnpu_sim.h - the cycle-accurate qnpu model (Verilated qnpu_top) behind a
 * plain C API, with a DRAM model on its memory port.
 *
 * The caller owns every instance: no file-scope state, several may coexist.
 * Every wait has a cycle watchdog; nothing here blocks forever. */
#ifndef QNPU_SIM_H
#define QNPU_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qnpu_sim qnpu_sim_t;

typedef struct {
  uint64_t dram_bytes;          /* DRAM size (default 16 MiB); addresses 0..size-1   */
  uint32_t dram_latency;        /* cycles from request to response (default 64)      */
  uint32_t dram_bytes_per_cycle;/* bandwidth (default 16: one 128-bit beat a cycle)  */
  uint32_t mmio_timeout;        /* cycles an MMIO access may wait (default 10000)    */
  const char *trace_path;       /* FST waveform file, or NULL (default: no tracing); the
                                   fast model has none (QNPU_ERR_UNSUPPORTED)          */
  uint64_t trace_start;         /* first traced cycle                                */
  uint64_t trace_end;           /* last traced cycle (0 = no end)                    */
  uint64_t random_init_seed;    /* nonzero: flip-flops start random with this seed
                                   (the checking model; the fast one starts at 0)    */
} qnpu_sim_config_t;

/* Fills *cfg with the defaults above. */
void qnpu_sim_config_default(qnpu_sim_config_t *cfg);

/* The array shape the model was built with (from its CONFIG registers). */
typedef struct {
  uint32_t rows, cols, acc_depth, act_rows, wgt_rows, out_rows, data_bytes;
  uint32_t precisions;          /* CONFIG0.PRECISIONS: bit p set = QNPU_MODE p built */
} qnpu_sim_shape_t;

/* Creates and resets a model. QNPU_ERR_ARG for a bad configuration,
 * QNPU_ERR_NOMEM when the DRAM cannot be allocated. */
qnpu_status_t qnpu_sim_create(const qnpu_sim_config_t *cfg, qnpu_sim_t **out) QNPU_MUST_CHECK;
void qnpu_sim_destroy(qnpu_sim_t *sim);

/* Asserts reset for a few cycles; DRAM contents are kept. */
qnpu_status_t qnpu_sim_reset(qnpu_sim_t *sim) QNPU_MUST_CHECK;

/* Advances n clock cycles. */
qnpu_status_t qnpu_sim_step(qnpu_sim_t *sim, uint64_t n) QNPU_MUST_CHECK;

/* One 32-bit register access. QNPU_ERR_TIMEOUT when the bus does not
 * complete within mmio_timeout cycles; QNPU_ERR_ARG for an unaligned or
 * out-of-range offset. */
qnpu_status_t qnpu_sim_mmio_read(qnpu_sim_t *sim, uint32_t offset, uint32_t *value) QNPU_MUST_CHECK;
qnpu_status_t qnpu_sim_mmio_write(qnpu_sim_t *sim, uint32_t offset, uint32_t value) QNPU_MUST_CHECK;

/* Backdoor DRAM access (no simulated time). QNPU_ERR_ARG outside DRAM. */
qnpu_status_t qnpu_sim_dram_read(qnpu_sim_t *sim, uint64_t addr, void *buf, size_t len) QNPU_MUST_CHECK;
qnpu_status_t qnpu_sim_dram_write(qnpu_sim_t *sim, uint64_t addr, const void *buf, size_t len) QNPU_MUST_CHECK;
uint64_t qnpu_sim_dram_size(const qnpu_sim_t *sim);

/* Cycles since creation; the irq line; the built shape. */
uint64_t qnpu_sim_cycles(const qnpu_sim_t *sim);
int qnpu_sim_irq(const qnpu_sim_t *sim);
qnpu_sim_shape_t qnpu_sim_shape(const qnpu_sim_t *sim);

/* Memory requests answered with an error so far (out-of-range addresses). */
uint64_t qnpu_sim_dram_errors(const qnpu_sim_t *sim);

/* What crossed the memory port since the last qnpu_sim_port_reset(): beats
 * the DRAM model accepted, and the cycles of the first request and of the
 * last response (first_req > last_rsp when nothing moved); the same for the
 * beats whose address lies in [lo, hi) given to the reset, and for all beats
 * whose request came in the cycles from that range's first request to its
 * last. For measuring a transfer stream from its first beat to its last. */
typedef struct {
  uint64_t read_beats, write_beats;     /* all beats                          */
  uint64_t first_req, last_rsp;
  uint64_t range_beats;                 /* beats addressed in [lo, hi)         */
  uint64_t range_first_req, range_last_req, range_last_rsp;
  uint64_t beats_in_range_window;       /* any beat requested in [range_first_req, range_last_req] */
} qnpu_sim_port_stats_t;

void qnpu_sim_port_reset(qnpu_sim_t *sim, uint64_t lo, uint64_t hi);
qnpu_sim_port_stats_t qnpu_sim_port_stats(const qnpu_sim_t *sim);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_SIM_H */
