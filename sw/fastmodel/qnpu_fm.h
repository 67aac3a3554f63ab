/* qnpu_fm.h - the fast functional model of qnpu: the same registers and
 * command stream as the RTL, executed at command level with the golden
 * model's arithmetic.
 *
 * It keeps the RTL's structure where it is observable: commands are
 * fetched into a dispatch queue of FETCH_Q entries, checked by the same
 * field rules, and queued to three engines (EngQ entries each) that run in
 * order; a command waits for its tokens, even for a producer later in the
 * stream, and a true deadlock ends in ERR_WATCHDOG (reported for the engine
 * that waited first) unless WATCHDOG is 0. DRAM contents, outputs, error
 * codes and the MAC, row, byte and saturation counters match the RTL for
 * every stream whose engines are ordered by tokens; cycle, busy and stall
 * counters read 0 (there is no time here). Commands run when RING_HEAD,
 * CTRL or the last CMD_PUSH word is written. */
#ifndef QNPU_FM_H
#define QNPU_FM_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_hal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qnpu_fm qnpu_fm_t;

typedef struct {
  uint32_t rows, cols, acc_depth;       /* default: the build defaults of   */
  uint32_t act_rows, wgt_rows, out_rows;/*   regs/qnpu.json (QNPU_DEFAULT_*) */
  uint32_t fetch_q, eng_q;              /* queue depths                     */
  int int4;                             /* W4A4 built                       */
  int req_f32;                          /* float32 requantization built     */
  uint32_t req_share;                   /* columns per requantization unit (reported in CONFIG0; no timing here) */
  uint64_t dram_bytes;                  /* default 16 MiB                   */
} qnpu_fm_config_t;

void qnpu_fm_config_default(qnpu_fm_config_t *cfg);
qnpu_status_t qnpu_fm_create(const qnpu_fm_config_t *cfg, qnpu_fm_t **out) QNPU_MUST_CHECK;
void qnpu_fm_destroy(qnpu_fm_t *fm);

extern const qnpu_hal_ops_t qnpu_hal_fast_ops;
qnpu_hal_t qnpu_hal_fast(qnpu_fm_t *fm);

/* Commands executed so far (NOP and FENCE included). */
uint64_t qnpu_fm_commands(const qnpu_fm_t *fm);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_FM_H */
