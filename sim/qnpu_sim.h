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

/* Memory faults and timing jitter of the DRAM model, all off when zero.
 * Seeded: the same seed and traffic give the same faults. Responses always
 * stay in request order; only their timing and error flags change. */
typedef struct {
  uint64_t seed;                /* the faults' random stream (0 = 1)                */
  uint32_t jitter;              /* each beat waits 0..jitter extra cycles (uniform) */
  uint32_t throttle_pct;        /* the port refuses requests on this % of cycles    */
  uint32_t stall_ppm;           /* chance per cycle, per million, that a stall starts */
  uint32_t stall_cycles;        /* a stall: no request accepted, no response given  */
  uint64_t error_beat;          /* the error_beat-th response from now (1 = the next)
                                   comes back with an error; 0 = none                */
  uint32_t error_ppm;           /* each response is an error with this chance per million */
} qnpu_sim_faults_t;

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
  qnpu_sim_faults_t faults;     /* injected memory faults (default: none)           */
} qnpu_sim_config_t;

/* Fills *cfg with the defaults above. */
void qnpu_sim_config_default(qnpu_sim_config_t *cfg);

/* The array shape the model was built with (from its CONFIG registers). */
typedef struct {
  uint32_t rows, cols, acc_depth, act_rows, wgt_rows, out_rows, data_bytes;
  uint32_t precisions;          /* CONFIG0.PRECISIONS: bit p set = QNPU_MODE p built */
  uint32_t req_share;           /* columns per requantization unit (CONFIG0.REQ_SHARE_LOG2) */
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

/* Memory requests answered with an error so far (out-of-range addresses
 * and injected errors). */
uint64_t qnpu_sim_dram_errors(const qnpu_sim_t *sim);

/* Replaces the fault settings from this cycle on (error_beat counts from
 * here; the random stream restarts from the seed). QNPU_ERR_ARG for a
 * percentage or rate out of range. */
qnpu_status_t qnpu_sim_set_faults(qnpu_sim_t *sim, const qnpu_sim_faults_t *faults) QNPU_MUST_CHECK;

/* What the faults did so far. */
typedef struct {
  uint64_t errors;              /* responses given an injected error         */
  uint64_t last_error_addr;     /* the address of the latest one             */
  uint64_t stalls, stall_cycles;/* stalls started, cycles spent in them      */
  uint64_t throttled;           /* cycles a request was refused by throttling */
  uint64_t jitter_cycles;       /* extra latency added, summed over beats    */
} qnpu_sim_fault_stats_t;
qnpu_sim_fault_stats_t qnpu_sim_fault_stats(const qnpu_sim_t *sim);

/* Parses a fault spec, comma-separated KEY=VALUE: seed=S, jitter=CYCLES,
 * throttle=PCT (0..99), stall=CYCLES@PPM, error-beat=N, error-ppm=PPM;
 * "" = none. QNPU_ERR_ARG with one line in err for anything else. */
qnpu_status_t qnpu_sim_faults_parse(const char *spec, qnpu_sim_faults_t *out, char *err, size_t errlen)
    QNPU_MUST_CHECK;

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
