/* qnpu_hal_mmio.c - HAL ops on memory-mapped hardware (qnpu_hal_mmio.h). */
#include "qnpu_hal_mmio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct qnpu_hal_mmio {
  qnpu_mmio_config_t cfg;
  volatile uint32_t *regs;
  volatile uint8_t *mem;
};

static void *real_map(void *ctx, const char *path, uint64_t offset, size_t len, int *err) {
  (void)ctx;
  const int fd = open(path, O_RDWR | O_SYNC);
  if (fd < 0) {
    *err = errno;
    return NULL;
  }
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
  *err = errno;
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

static void real_unmap(void *ctx, void *addr, size_t len) {
  (void)ctx;
  munmap(addr, len);
}

qnpu_status_t qnpu_hal_mmio_open(const qnpu_mmio_config_t *cfg, qnpu_hal_mmio_t **out, char *err, size_t errlen) {
  if (!cfg || !out || !cfg->reg_path || !cfg->mem_path || cfg->mem_bytes == 0 || (cfg->map && !cfg->unmap))
    return QNPU_ERR_ARG;
  *out = NULL;
  qnpu_hal_mmio_t *m = calloc(1, sizeof *m);
  if (!m) return QNPU_ERR_NOMEM;
  m->cfg = *cfg;
  if (!m->cfg.map) {
    m->cfg.map = real_map;
    m->cfg.unmap = real_unmap;
  }
  if (!m->cfg.clock_hz) m->cfg.clock_hz = 100000000u;
  int e = 0;
  m->regs = m->cfg.map(m->cfg.map_ctx, cfg->reg_path, cfg->reg_offset, QNPU_MMIO_REG_WINDOW, &e);
  if (!m->regs) {
    if (err) snprintf(err, errlen, "%s: cannot map the register window: %s", cfg->reg_path, strerror(e));
    free(m);
    return QNPU_ERR_IO;
  }
  m->mem = m->cfg.map(m->cfg.map_ctx, cfg->mem_path, cfg->mem_offset, cfg->mem_bytes, &e);
  if (!m->mem) {
    if (err) snprintf(err, errlen, "%s: cannot map %llu bytes of device memory: %s", cfg->mem_path,
                      (unsigned long long)cfg->mem_bytes, strerror(e));
    m->cfg.unmap(m->cfg.map_ctx, (void *)(uintptr_t)m->regs, QNPU_MMIO_REG_WINDOW);
    free(m);
    return QNPU_ERR_IO;
  }
  *out = m;
  return QNPU_OK;
}

void qnpu_hal_mmio_close(qnpu_hal_mmio_t *m) {
  if (!m) return;
  m->cfg.unmap(m->cfg.map_ctx, (void *)(uintptr_t)m->mem, m->cfg.mem_bytes);
  m->cfg.unmap(m->cfg.map_ctx, (void *)(uintptr_t)m->regs, QNPU_MMIO_REG_WINDOW);
  free(m);
}

static qnpu_status_t reg_read(void *c, uint32_t off, uint32_t *v) {
  qnpu_hal_mmio_t *m = c;
  if (!v || (off & 3) || off >= QNPU_MMIO_REG_WINDOW) return QNPU_ERR_ARG;
  *v = m->regs[off / 4];
  return QNPU_OK;
}

static qnpu_status_t reg_write(void *c, uint32_t off, uint32_t v) {
  qnpu_hal_mmio_t *m = c;
  if ((off & 3) || off >= QNPU_MMIO_REG_WINDOW) return QNPU_ERR_ARG;
  m->regs[off / 4] = v;
  return QNPU_OK;
}

static int in_window(const qnpu_hal_mmio_t *m, uint64_t a, size_t n) {
  return a <= m->cfg.mem_bytes && n <= m->cfg.mem_bytes - a;
}

static qnpu_status_t mem_read(void *c, uint64_t a, void *b, size_t n) {
  qnpu_hal_mmio_t *m = c;
  if ((!b && n) || !in_window(m, a, n)) return QNPU_ERR_ARG;
  uint8_t *dst = b;
  for (size_t i = 0; i < n; i++) dst[i] = m->mem[a + i];
  return QNPU_OK;
}

static qnpu_status_t mem_write(void *c, uint64_t a, const void *b, size_t n) {
  qnpu_hal_mmio_t *m = c;
  if ((!b && n) || !in_window(m, a, n)) return QNPU_ERR_ARG;
  const uint8_t *src = b;
  for (size_t i = 0; i < n; i++) m->mem[a + i] = src[i];
  return QNPU_OK;
}

static qnpu_status_t wait(void *c, uint32_t cycles) {
  qnpu_hal_mmio_t *m = c;
  const uint64_t ns = (uint64_t)cycles * 1000000000ull / m->cfg.clock_hz;
  struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return QNPU_OK;
}

static uint64_t mem_size(void *c) { return ((qnpu_hal_mmio_t *)c)->cfg.mem_bytes; }

const qnpu_hal_ops_t qnpu_hal_mmio_ops = {"mmio", reg_read, reg_write, mem_read, mem_write, wait, mem_size};

qnpu_hal_t qnpu_hal_mmio(qnpu_hal_mmio_t *m) {
  const qnpu_hal_t h = {&qnpu_hal_mmio_ops, m, NULL, NULL};
  return h;
}
