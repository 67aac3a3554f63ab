/* qnpu_hal_mmio.h - the driver's HAL on real hardware: the register window
 * and a device-memory window mapped from /dev/mem or a UIO device.
 *
 * The accelerator's memory port must see the device-memory window at
 * address 0 (the FPGA wrapper adds the window's physical base), because the
 * driver's allocator hands out addresses from 0. */
#ifndef QNPU_HAL_MMIO_H
#define QNPU_HAL_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_hal.h"
#include "qnpu_regs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qnpu_hal_mmio qnpu_hal_mmio_t;

typedef struct {
  const char *reg_path;   /* e.g. "/dev/uio0" or "/dev/mem"                         */
  uint64_t reg_offset;    /* mmap offset of the 4 KiB register window               */
  const char *mem_path;   /* device memory, e.g. "/dev/mem" or "/dev/uio0"           */
  uint64_t mem_offset;    /* mmap offset of the device-memory window                */
  uint64_t mem_bytes;     /* its size                                               */
  uint32_t clock_hz;      /* accelerator clock, turns wait(cycles) into sleep (default 100 MHz) */
  /* Test hook: replaces open()+mmap() (NULL = the real ones). Returns the
   * mapping or NULL with *err set to an errno value. */
  void *(*map)(void *map_ctx, const char *path, uint64_t offset, size_t len, int *err);
  void (*unmap)(void *map_ctx, void *addr, size_t len);
  void *map_ctx;
} qnpu_mmio_config_t;

#define QNPU_MMIO_REG_WINDOW QNPU_REG_WINDOW

/* Maps both windows. QNPU_ERR_ARG for a bad config; QNPU_ERR_IO when a path
 * cannot be opened or mapped (err, if not NULL, gets a readable message). */
qnpu_status_t qnpu_hal_mmio_open(const qnpu_mmio_config_t *cfg, qnpu_hal_mmio_t **out, char *err,
                                 size_t errlen) QNPU_MUST_CHECK;
void qnpu_hal_mmio_close(qnpu_hal_mmio_t *m);
qnpu_hal_t qnpu_hal_mmio(qnpu_hal_mmio_t *m);

extern const qnpu_hal_ops_t qnpu_hal_mmio_ops;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_HAL_MMIO_H */
