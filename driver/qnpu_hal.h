/* qnpu_hal.h - the hardware abstraction the driver runs on: a static const
 * ops table plus a context pointer. Backends: the Verilator model
 * (qnpu_hal_sim), the fast functional model (qnpu_hal_fast), real hardware
 * through /dev/mem or UIO (qnpu_hal_mmio), and mocks in the unit tests.
 * The driver reaches the ops only through the inline wrappers below: the
 * one place where register traffic can be logged by name. */
#ifndef QNPU_HAL_H
#define QNPU_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qnpu_hal_ops {
  const char *name;
  qnpu_status_t (*reg_read)(void *ctx, uint32_t offset, uint32_t *value);
  qnpu_status_t (*reg_write)(void *ctx, uint32_t offset, uint32_t value);
  qnpu_status_t (*mem_read)(void *ctx, uint64_t addr, void *buf, size_t len);
  qnpu_status_t (*mem_write)(void *ctx, uint64_t addr, const void *buf, size_t len);
  /* Lets the device run for about `cycles` clock cycles (a simulator steps,
   * real hardware sleeps). */
  qnpu_status_t (*wait)(void *ctx, uint32_t cycles);
  /* Bytes of device memory the driver may allocate from address 0 on. */
  uint64_t (*mem_size)(void *ctx);
} qnpu_hal_ops_t;

typedef struct {
  const qnpu_hal_ops_t *ops;
  void *ctx;
  /* Optional: called for every register access (name from the register
   * map), for tracing. NULL = silent. */
  void (*log)(void *log_ctx, int write, const char *reg, uint32_t offset, uint32_t value);
  void *log_ctx;
} qnpu_hal_t;

/* Name of the register at `offset` ("CTRL", "CMD_PUSH", ...), "?" if none. */
const char *qnpu_reg_name(uint32_t offset);

static inline qnpu_status_t qnpu_hal_reg_read(const qnpu_hal_t *h, uint32_t off, uint32_t *v) {
  const qnpu_status_t st = h->ops->reg_read(h->ctx, off, v);
  if (h->log && st == QNPU_OK) h->log(h->log_ctx, 0, qnpu_reg_name(off), off, *v);
  return st;
}

static inline qnpu_status_t qnpu_hal_reg_write(const qnpu_hal_t *h, uint32_t off, uint32_t v) {
  if (h->log) h->log(h->log_ctx, 1, qnpu_reg_name(off), off, v);
  return h->ops->reg_write(h->ctx, off, v);
}

static inline qnpu_status_t qnpu_hal_mem_read(const qnpu_hal_t *h, uint64_t a, void *b, size_t n) {
  return h->ops->mem_read(h->ctx, a, b, n);
}

static inline qnpu_status_t qnpu_hal_mem_write(const qnpu_hal_t *h, uint64_t a, const void *b, size_t n) {
  return h->ops->mem_write(h->ctx, a, b, n);
}

static inline qnpu_status_t qnpu_hal_wait(const qnpu_hal_t *h, uint32_t cycles) {
  return h->ops->wait(h->ctx, cycles);
}

#ifdef __cplusplus
}
#endif

#endif /* QNPU_HAL_H */
