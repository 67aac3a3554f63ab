/* test_hal_mmio.c - the mmio backend through a mock mapper (no hardware):
 * register accesses hit the right words of the mapped window, bounds are
 * checked, the driver opens over it, and mapping failures are errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_drv.h"
#include "qnpu_hal_mmio.h"
#include "test_util.h"

typedef struct {
  uint32_t regs[QNPU_MMIO_REG_WINDOW / 4];
  uint8_t *mem;
  int maps, unmaps;
  char paths[2][64];
  uint64_t offsets[2];
} fake_t;

static void *fake_map(void *ctx, const char *path, uint64_t offset, size_t len, int *err) {
  fake_t *f = ctx;
  if (strcmp(path, "/dev/nope") == 0) {
    *err = 2; /* ENOENT */
    return NULL;
  }
  snprintf(f->paths[f->maps & 1], 64, "%s", path);
  f->offsets[f->maps & 1] = offset;
  f->maps++;
  if (len == QNPU_MMIO_REG_WINDOW) return f->regs;
  f->mem = calloc(len, 1);
  return f->mem;
}

static void fake_unmap(void *ctx, void *addr, size_t len) {
  fake_t *f = ctx;
  f->unmaps++;
  if (len != QNPU_MMIO_REG_WINDOW) free(addr);
}

static void test_hal_mmio_maps_and_accesses(void **state) {
  (void)state;
  fake_t f;
  memset(&f, 0, sizeof f);
  f.regs[QNPU_ID_REG_OFFSET / 4] = QNPU_ID_VALUE;
  f.regs[QNPU_VERSION_REG_OFFSET / 4] = QNPU_VERSION_MAJOR_VALUE << 16;
  f.regs[QNPU_CONFIG0_REG_OFFSET / 4] = 16u | 16u << 8 | 7u << 16 | 16u << 24;
  f.regs[QNPU_CONFIG1_REG_OFFSET / 4] = 1024u | 512u << 16;
  f.regs[QNPU_CONFIG2_REG_OFFSET / 4] = 128u | 64u << 16;
  const qnpu_mmio_config_t cfg = {"/dev/uio0", 0, "/dev/uio0", 4096, 1u << 20, 0, fake_map, fake_unmap, &f};
  qnpu_hal_mmio_t *m;
  char err[128];
  assert_int_equal(qnpu_hal_mmio_open(&cfg, &m, err, sizeof err), QNPU_OK);
  assert_int_equal(f.maps, 2);
  assert_int_equal(f.offsets[1], 4096);
  qnpu_hal_t h = qnpu_hal_mmio(m);
  assert_int_equal(qnpu_hal_reg_write(&h, QNPU_WATCHDOG_REG_OFFSET, 0x1234), QNPU_OK);
  assert_int_equal(f.regs[QNPU_WATCHDOG_REG_OFFSET / 4], 0x1234);
  uint32_t v;
  assert_int_equal(qnpu_hal_reg_read(&h, QNPU_ID_REG_OFFSET, &v), QNPU_OK);
  assert_int_equal(v, QNPU_ID_VALUE);
  assert_int_equal(qnpu_hal_reg_read(&h, QNPU_MMIO_REG_WINDOW, &v), QNPU_ERR_ARG);
  assert_int_equal(qnpu_hal_reg_write(&h, 2, 0), QNPU_ERR_ARG);
  const uint8_t data[5] = {1, 2, 3, 4, 5};
  assert_int_equal(qnpu_hal_mem_write(&h, 100, data, 5), QNPU_OK);
  assert_memory_equal(f.mem + 100, data, 5);
  uint8_t back[5];
  assert_int_equal(qnpu_hal_mem_read(&h, 100, back, 5), QNPU_OK);
  assert_memory_equal(back, data, 5);
  assert_int_equal(qnpu_hal_mem_write(&h, (1u << 20) - 2, data, 5), QNPU_ERR_ARG);
  assert_int_equal(qnpu_hal_wait(&h, 1000), QNPU_OK);
  /* The driver opens over it and checks the device. */
  qnpu_dev_t *d;
  const qnpu_dev_expect_t want = {16, 16};
  assert_int_equal(qnpu_drv_open(&h, &want, NULL, &d), QNPU_OK);
  assert_int_equal(f.regs[QNPU_CTRL_REG_OFFSET / 4], 1u << QNPU_CTRL_RING_EN_SHIFT);
  assert_int_equal(f.regs[QNPU_RING_SIZE_REG_OFFSET / 4], 256);
  qnpu_drv_close(d);
  qnpu_hal_mmio_close(m);
  assert_int_equal(f.unmaps, 2);
}

static void test_hal_mmio_open_errors(void **state) {
  (void)state;
  fake_t f;
  memset(&f, 0, sizeof f);
  qnpu_hal_mmio_t *m = (qnpu_hal_mmio_t *)1;
  char err[128] = "";
  qnpu_mmio_config_t cfg = {"/dev/nope", 0, "/dev/uio0", 0, 4096, 0, fake_map, fake_unmap, &f};
  assert_int_equal(qnpu_hal_mmio_open(&cfg, &m, err, sizeof err), QNPU_ERR_IO);
  assert_non_null(strstr(err, "/dev/nope: cannot map the register window"));
  cfg.reg_path = "/dev/uio0";
  cfg.mem_path = "/dev/nope";
  assert_int_equal(qnpu_hal_mmio_open(&cfg, &m, err, sizeof err), QNPU_ERR_IO);
  assert_non_null(strstr(err, "device memory"));
  assert_int_equal(f.unmaps, 1); /* the register window was unmapped again */
  cfg.mem_bytes = 0;
  assert_int_equal(qnpu_hal_mmio_open(&cfg, &m, err, sizeof err), QNPU_ERR_ARG);
  /* The real mapper reports a missing device the same way. */
  const qnpu_mmio_config_t real = {"/nonexistent/uio9", 0, "/nonexistent/uio9", 0, 4096, 0, NULL, NULL, NULL};
  assert_int_equal(qnpu_hal_mmio_open(&real, &m, err, sizeof err), QNPU_ERR_IO);
  assert_non_null(strstr(err, "No such file"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hal_mmio_maps_and_accesses),
      cmocka_unit_test(test_hal_mmio_open_errors),
  };
  return cmocka_run_group_tests_name("hal_mmio", tests, NULL, NULL);
}
