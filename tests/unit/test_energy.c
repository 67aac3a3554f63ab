/* test_energy.c - the energy estimate (qnpu_energy.h): the SRAM price
 * through Horowitz's three points, the MAC prices, and each component of
 * an estimate priced on its own. The runtime's use of it (counters in,
 * estimate out) is checked in test_runtime.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "qnpu_energy.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) <= 1e-9 * (fabs(b) + 1.0))

#include <math.h>

static void test_sram_price(void **s) {
  (void)s;
  NEAR(qnpu_energy_sram_pj_per_byte(8 << 10), 10.0 / 8);
  NEAR(qnpu_energy_sram_pj_per_byte(32 << 10), 20.0 / 8);
  NEAR(qnpu_energy_sram_pj_per_byte(1 << 20), 100.0 / 8);
  /* 16 KB: halfway on a log scale between 8 and 32 KB */
  NEAR(qnpu_energy_sram_pj_per_byte(16 << 10), sqrt(10.0 * 20.0) / 8);
  /* larger memories cost more per byte, smaller less, all the way down */
  double last = 0;
  for (uint64_t b = 64; b <= (64u << 20); b *= 2) {
    const double p = qnpu_energy_sram_pj_per_byte(b);
    assert_true(p > last);
    last = p;
  }
  assert_true(qnpu_energy_sram_pj_per_byte(0) > 0);
}

static void test_mac_price(void **s) {
  (void)s;
  NEAR(qnpu_energy_mac_pj(0), 0.3);  /* 0.2 multiply + 0.1 add */
  NEAR(qnpu_energy_mac_pj(1), 0.1);  /* 0.05 + 0.05 */
}

static void test_components(void **s) {
  (void)s;
  qnpu_energy_in_t in = {.rows = 16, .cols = 8, .act_spad_bytes = 8 << 10, .wgt_spad_bytes = 32 << 10,
                         .out_spad_bytes = 8 << 10, .acc_bytes_per_col = 8 << 10};
  qnpu_energy_t e = qnpu_energy_estimate(&in);
  assert_true(e.total == 0.0);

  in.macs8 = 1000, in.macs4 = 500;
  e = qnpu_energy_estimate(&in);
  NEAR(e.mac, 350.0);
  NEAR(e.total, 350.0);

  in.macs8 = in.macs4 = 0;
  in.act_rows = 10; /* 16 bytes each from an 8 KB scratchpad, 8 int32 accumulator updates (read + write) */
  e = qnpu_energy_estimate(&in);
  NEAR(e.spad, 10 * 16 * 1.25);
  NEAR(e.acc, 10 * 8 * 8 * 1.25);
  NEAR(e.total, e.spad + e.acc);

  in.act_rows = 0;
  in.wgt_rows = 3; /* 8 bytes each from 32 KB */
  e = qnpu_energy_estimate(&in);
  NEAR(e.spad, 3 * 8 * 2.5);

  in.wgt_rows = 0;
  in.dram_rd = 1000, in.fetch_bytes = 200, in.dram_wr = 100, in.outputs = 100;
  e = qnpu_energy_estimate(&in);
  NEAR(e.dram, 1100 * 1300.0 / 8);
  /* 800 loaded bytes written at the larger scratchpad's price; 100 bytes
   * written to and read from the output scratchpad */
  NEAR(e.spad, 800 * 2.5 + 2 * 100 * 1.25);
  NEAR(e.requant, 100 * 3.5);
  NEAR(e.total, e.dram + e.spad + e.requant);

  qnpu_energy_t sum = {0};
  qnpu_energy_add(&sum, &e);
  qnpu_energy_add(&sum, &e);
  NEAR(sum.total, 2 * e.total);
  NEAR(sum.dram, 2 * e.dram);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sram_price),
      cmocka_unit_test(test_mac_price),
      cmocka_unit_test(test_components),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
