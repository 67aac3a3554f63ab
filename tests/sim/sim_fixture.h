/* sim_fixture.h - what the accelerator tests share: a Verilated model and a
 * fast model of the same shape, one driver on each, and checks that run a
 * command stream on both and compare them. */
#ifndef QNPU_SIM_FIXTURE_H
#define QNPU_SIM_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_drv.h"
#include "qnpu_fm.h"
#include "qnpu_golden.h"
#include "qnpu_hal_sim.h"
#include "qnpu_tile.h"
#include "test_util.h"

typedef struct {
  qnpu_sim_t *sim;
  qnpu_fm_t *fm;
  qnpu_hal_t hal_sim, hal_fm;
  qnpu_dev_t *dev, *fdev;  /* the same driver on both backends */
} fixture_t;

static inline int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  qnpu_sim_config_t sc;
  qnpu_sim_config_default(&sc);
  sc.dram_bytes = 1u << 20;
  const char *rs = getenv("QNPU_RANDOM_INIT");
  if (rs && *rs) sc.random_init_seed = strtoull(rs, NULL, 0);
  if (!f || qnpu_sim_create(&sc, &f->sim)) return -1;
  const qnpu_sim_shape_t sh = qnpu_sim_shape(f->sim);
  qnpu_fm_config_t fc;
  qnpu_fm_config_default(&fc);
  fc.rows = sh.rows;
  fc.cols = sh.cols;
  fc.acc_depth = sh.acc_depth;
  fc.act_rows = sh.act_rows;
  fc.wgt_rows = sh.wgt_rows;
  fc.out_rows = sh.out_rows;
  fc.int4 = (sh.precisions >> QNPU_MODE_W4A4) & 1;
  fc.req_share = sh.req_share;
  fc.dram_bytes = sc.dram_bytes;
  if (qnpu_fm_create(&fc, &f->fm)) return -1;
  f->hal_sim = qnpu_hal_sim(f->sim);
  f->hal_fm = qnpu_hal_fast(f->fm);
  if (qnpu_drv_open(&f->hal_sim, NULL, NULL, &f->dev) || qnpu_drv_open(&f->hal_fm, NULL, NULL, &f->fdev))
    return -1;
  *state = f;
  return 0;
}

static inline int teardown(void **state) {
  fixture_t *f = *state;
  qnpu_drv_close(f->dev);
  qnpu_drv_close(f->fdev);
  qnpu_sim_destroy(f->sim);
  qnpu_fm_destroy(f->fm);
  free(f);
  return 0;
}

/* Runs the same commands on both backends and checks they end equal. */
static inline void run_both(fixture_t *f, const qnpu_cmd_t *c, size_t n, uint64_t lo, uint64_t hi) {
  assert_int_equal(qnpu_drv_submit(f->dev, c, n), QNPU_OK);
  assert_int_equal(qnpu_drv_wait(f->dev, 2000000), QNPU_OK);
  assert_int_equal(qnpu_drv_submit(f->fdev, c, n), QNPU_OK);
  assert_int_equal(qnpu_drv_wait(f->fdev, 2000000), QNPU_OK);
  uint8_t *a = malloc(hi - lo), *b = malloc(hi - lo);
  assert_int_equal(qnpu_drv_read(f->dev, lo, a, hi - lo), QNPU_OK);
  assert_int_equal(qnpu_drv_read(f->fdev, lo, b, hi - lo), QNPU_OK);
  assert_memory_equal(a, b, hi - lo);
  free(a);
  free(b);
}

static inline void write_both(fixture_t *f, uint64_t addr, const void *buf, size_t n) {
  assert_int_equal(qnpu_drv_write(f->dev, addr, buf, n), QNPU_OK);
  assert_int_equal(qnpu_drv_write(f->fdev, addr, buf, n), QNPU_OK);
}

static inline void expect_error(fixture_t *f, qnpu_dev_t *d, const qnpu_cmd_t *c, size_t n, uint32_t code,
                         uint32_t engine, uint32_t info, const char *what) {
  assert_int_equal(qnpu_drv_reset(d), QNPU_OK);
  assert_int_equal(qnpu_drv_submit(d, c, n), QNPU_OK);
  const qnpu_status_t st = qnpu_drv_wait(d, 3000000);
  if (st != QNPU_ERR_HW) fail_msg("%s: wait returned %s, expected a hardware error", what, qnpu_status_str(st));
  qnpu_hw_error_t e;
  assert_int_equal(qnpu_drv_hw_error(d, &e), QNPU_OK);
  if (e.code != code || e.engine != engine || e.info != info)
    fail_msg("%s: got code %u engine %u info 0x%x (%s), want code %u engine %u info 0x%x", what, e.code, e.engine,
             e.info, e.message, code, engine, info);
  assert_true(strlen(e.message) > 10);
  /* A soft reset brings the device back. */
  assert_int_equal(qnpu_drv_reset(d), QNPU_OK);
  const qnpu_cmd_t fence = qnpu_cmd_fence(0);
  assert_int_equal(qnpu_drv_submit(d, &fence, 1), QNPU_OK);
  assert_int_equal(qnpu_drv_wait(d, 100000), QNPU_OK);
  (void)f;
}


#endif /* QNPU_SIM_FIXTURE_H */
