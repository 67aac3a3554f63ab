/* qnpu_fm.h - the fast functional model of qnpu: the same registers and
 * command stream as the RTL, executed at command level with the golden
 * model's arithmetic. DRAM contents, outputs, error codes and the MAC, byte
 * and saturation counters match the RTL; cycle and busy/stall counters read
 * 0 (there is no time here). Commands run when RING_HEAD or the last
 * CMD_PUSH word is written. */
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
  uint32_t rows, cols, acc_depth;       /* default 4, 4, 64        */
  uint32_t act_rows, wgt_rows, out_rows;/* default 1024, 512, 128  */
  uint64_t dram_bytes;                  /* default 16 MiB          */
} qnpu_fm_config_t;

void qnpu_fm_config_default(qnpu_fm_config_t *cfg);
qnpu_status_t qnpu_fm_create(const qnpu_fm_config_t *cfg, qnpu_fm_t **out) QNPU_MUST_CHECK;
void qnpu_fm_destroy(qnpu_fm_t *fm);

extern const qnpu_hal_ops_t qnpu_hal_fast_ops;
qnpu_hal_t qnpu_hal_fast(qnpu_fm_t *fm);

/* Commands executed so far. */
uint64_t qnpu_fm_commands(const qnpu_fm_t *fm);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_FM_H */
