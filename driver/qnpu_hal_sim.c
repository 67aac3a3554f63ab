/* qnpu_hal_sim.c - HAL ops on the Verilator model. */
#include "qnpu_hal_sim.h"

static qnpu_status_t reg_read(void *c, uint32_t off, uint32_t *v) { return qnpu_sim_mmio_read(c, off, v); }
static qnpu_status_t reg_write(void *c, uint32_t off, uint32_t v) { return qnpu_sim_mmio_write(c, off, v); }
static qnpu_status_t mem_read(void *c, uint64_t a, void *b, size_t n) { return qnpu_sim_dram_read(c, a, b, n); }
static qnpu_status_t mem_write(void *c, uint64_t a, const void *b, size_t n) { return qnpu_sim_dram_write(c, a, b, n); }
static qnpu_status_t wait(void *c, uint32_t cycles) { return qnpu_sim_step(c, cycles); }
static uint64_t mem_size(void *c) { return qnpu_sim_dram_size(c); }

const qnpu_hal_ops_t qnpu_hal_sim_ops = {"sim", reg_read, reg_write, mem_read, mem_write, wait, mem_size};

qnpu_hal_t qnpu_hal_sim(qnpu_sim_t *sim) {
  const qnpu_hal_t h = {&qnpu_hal_sim_ops, sim, NULL, NULL};
  return h;
}
