/* qnpu_drv.h - the qnpu device API: open a device over a HAL, allocate
 * device memory, build and submit commands, wait with a timeout, read the
 * performance counters, decode errors. Runs unchanged on the Verilator
 * model, the fast functional model and real memory-mapped hardware.
 *
 * Every function returns a status; QNPU_ERR_ARG means the device was not
 * touched. A halted device makes qnpu_drv_wait() return QNPU_ERR_HW; the
 * reason is in qnpu_drv_hw_error(). */
#ifndef QNPU_DRV_H
#define QNPU_DRV_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_hal.h"
#include "qnpu_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qnpu_dev qnpu_dev_t;

typedef struct {
  uint32_t version_major, version_minor;
  uint32_t rows, cols;        /* PE array                                    */
  uint32_t precisions;        /* bit 0 W8A8, bit 1 W4A8, bit 2 W4A4          */
  uint32_t requant_f32;       /* 1: float32 (ONNX Runtime) requantization    */
  uint32_t req_share;         /* columns per requantization unit (1, 2, 4, ...) */
  uint32_t data_bytes;        /* memory-port width                           */
  uint32_t act_rows, wgt_rows, out_rows, acc_depth;
  uint64_t mem_bytes;         /* device memory                               */
} qnpu_dev_info_t;

/* What the caller requires; 0 = anything. */
typedef struct {
  uint32_t rows, cols;
} qnpu_dev_expect_t;

typedef struct {
  uint32_t ring_entries;      /* command ring size, a power of two (default 256) */
  uint32_t poll_cycles;       /* HAL wait between status polls (default 256)     */
} qnpu_drv_options_t;

/* Checks ID, version and configuration (refusing another major version of
 * the register map and command set, or a mismatch with `expect`:
 * QNPU_ERR_UNSUPPORTED), soft-resets the device and sets up the command
 * ring. QNPU_ERR_HW when the ID register is wrong. */
qnpu_status_t qnpu_drv_open(const qnpu_hal_t *hal, const qnpu_dev_expect_t *expect,
                            const qnpu_drv_options_t *opts, qnpu_dev_t **out) QNPU_MUST_CHECK;
void qnpu_drv_close(qnpu_dev_t *dev);
const qnpu_dev_info_t *qnpu_drv_info(const qnpu_dev_t *dev);

/* Device memory above the command ring: first-fit allocation (align a power
 * of two, 0 = 16); QNPU_ERR_NOMEM when no gap holds the request. free takes
 * an address alloc returned (QNPU_ERR_ARG for any other, or a second free);
 * free_all forgets every allocation. mem_stats: bytes allocated and the
 * largest free gap (either pointer may be NULL). */
qnpu_status_t qnpu_drv_alloc(qnpu_dev_t *dev, size_t bytes, size_t align, uint64_t *addr) QNPU_MUST_CHECK;
qnpu_status_t qnpu_drv_free(qnpu_dev_t *dev, uint64_t addr) QNPU_MUST_CHECK;
void qnpu_drv_free_all(qnpu_dev_t *dev);
void qnpu_drv_mem_stats(const qnpu_dev_t *dev, uint64_t *used, uint64_t *largest_free);
qnpu_status_t qnpu_drv_write(qnpu_dev_t *dev, uint64_t addr, const void *buf, size_t len) QNPU_MUST_CHECK;
qnpu_status_t qnpu_drv_read(qnpu_dev_t *dev, uint64_t addr, void *buf, size_t len) QNPU_MUST_CHECK;

/* ---- commands (format: docs/registers.md) -------------------------------- */
typedef struct {
  uint32_t w[QNPU_CMD_WORDS];
} qnpu_cmd_t;

/* A 3-level strided transfer (driver/qnpu_walk.h has the walk):
 * count3 x count2 x count1 rows of len bytes at
 * dram + i1*stride1 + i2*stride2 + i3*stride3, to/from scratchpad rows
 * spad_row, +1, ... A LOAD's padding rows (the first/last pad_* iterations
 * of the middle and outer loops) read nothing and get len bytes of fill. */
typedef struct {
  uint32_t target;            /* QNPU_TGT_LOAD_* or QNPU_TGT_STORE_*          */
  uint32_t spad_row;          /* PRM targets: first column                   */
  uint32_t dram_addr;
  uint32_t len;               /* PRM targets: 16 x columns                   */
  uint32_t count1, count2, count3;  /* each >= 1                              */
  uint32_t stride1, stride2, stride3;
  uint32_t pad_xlo, pad_xhi, pad_ylo, pad_yhi;  /* LOAD only, 0..15           */
  uint32_t fill;              /* LOAD only: byte of padding rows             */
} qnpu_xfer_t;

qnpu_cmd_t qnpu_cmd_load(const qnpu_xfer_t *x);
qnpu_cmd_t qnpu_cmd_store(const qnpu_xfer_t *x);

/* A COMPUTE: f1 x f2 x f3 folds; fold (i1, i2, i3), the g-th, reads its
 * weights from w_row + g * (Rows, or Rows/2 in W4A8) and streams mx x my
 * output rows: row (x, y) reads activation row
 * a_row + i1*fs1 + i2*fs2 + i3*fs3 + x*as_x + y*as_y and accumulates into
 * accumulator row acc_row + y*mx + x. first: the first fold starts from 0;
 * last: the last fold adds the bias of parameter bank pbank, requantizes and
 * writes output rows out_row + y*mx + x. Counts are >= 1. */
typedef struct {
  uint32_t mode;              /* QNPU_MODE_*                                 */
  uint32_t a_row, w_row, acc_row, out_row;
  uint32_t mx, my, as_x, as_y;
  uint32_t f1, f2, f3, fs1, fs2, fs3;
  int first, last;
  uint32_t pbank;
} qnpu_compute_t;

qnpu_cmd_t qnpu_cmd_compute(const qnpu_compute_t *c);
qnpu_cmd_t qnpu_cmd_fence(int irq);
qnpu_cmd_t qnpu_cmd_nop(void);
/* Dependency flags (LOAD <-> COMPUTE <-> STORE tokens). */
void qnpu_cmd_deps(qnpu_cmd_t *c, int pop_prev, int pop_next, int push_prev, int push_next);

/* Copies commands into the ring and advances RING_HEAD; waits for ring
 * space (with the wait timeout). */
qnpu_status_t qnpu_drv_submit(qnpu_dev_t *dev, const qnpu_cmd_t *cmds, size_t n) QNPU_MUST_CHECK;
/* Pushes one command through the CMD_PUSH registers instead of the ring. */
qnpu_status_t qnpu_drv_push(qnpu_dev_t *dev, const qnpu_cmd_t *cmd) QNPU_MUST_CHECK;

/* Waits until every submitted command has completed. QNPU_ERR_TIMEOUT after
 * timeout_cycles (0 = 100 million); QNPU_ERR_HW when the device halted. */
qnpu_status_t qnpu_drv_wait(qnpu_dev_t *dev, uint64_t timeout_cycles) QNPU_MUST_CHECK;

/* Soft reset: drops queued commands, clears errors, rewinds the ring, and
 * waits until the memory requests that were in flight have drained
 * (QNPU_ERR_TIMEOUT if they never do). */
qnpu_status_t qnpu_drv_reset(qnpu_dev_t *dev) QNPU_MUST_CHECK;

/* ---- counters and errors --------------------------------------------------- */
typedef struct {
  uint64_t cycles, macs;
  uint32_t ld_busy, ld_stall, ex_busy, ex_stall, st_busy, st_stall;
  uint32_t rd_bytes, wr_bytes, saturations;
  uint32_t rows;              /* activation rows issued to the array         */
  uint32_t first_row, last_row; /* PERF_CYCLES when the first / latest row entered */
} qnpu_counters_t;

qnpu_status_t qnpu_drv_counters(qnpu_dev_t *dev, qnpu_counters_t *out) QNPU_MUST_CHECK;
qnpu_status_t qnpu_drv_clear_counters(qnpu_dev_t *dev) QNPU_MUST_CHECK;

typedef struct {
  uint32_t code;              /* QNPU_HWERR_*                         */
  uint32_t engine;            /* QNPU_ENGINE_*                        */
  uint32_t info;              /* failing address or command index     */
  char message[160];          /* one readable line                    */
} qnpu_hw_error_t;

/* Reads and decodes ERR_STATUS/ERR_INFO (code 0 when there is no error). */
qnpu_status_t qnpu_drv_hw_error(qnpu_dev_t *dev, qnpu_hw_error_t *out) QNPU_MUST_CHECK;
const char *qnpu_hwerr_name(uint32_t code);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_DRV_H */
