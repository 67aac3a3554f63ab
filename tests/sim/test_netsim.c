/* test_netsim.c - a whole network on the cycle-accurate Verilated RTL: the
 * fixture network of tests/unit/net_fixture.h (every node kind: grouped,
 * strided and 1x1 convolutions, fully-connected, max and average pool,
 * residual add, a host ReLU6), quantized in W8A8, W4A8, W4A4 and W4A4 with
 * W8A8 first and last layers, run
 * through the network runtime on the sim backend and compared with the
 * golden model in every tensor of every image. One binary per array size
 * (build/tests/sim/test_netsim_RxC); QNPU_RANDOM_INIT=N starts the RTL from
 * random flip-flops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "net_fixture.h"
#include "qnpu_net_run.h"
#include "qnpu_ptq.h"

static void run_precision(qnpu_prec_t prec, qnpu_calib_kind_t calib, uint64_t seed, int int8_ends) {
  char err[1024];
  qnpu_net_t fl, q;
  fixture_net(&fl, seed);
  uint8_t *cal = fixture_images(32, seed + 1);
  const qnpu_ptq_options_t o = {.prec = prec, .calib = {.kind = calib, .percentile = 99.99}, .int8_ends = int8_ends};
  if (qnpu_ptq(&fl, cal, 32, &o, &q, NULL, err, sizeof err)) fail_msg("ptq: %s", err);
  free(cal);
  qnpu_net_free(&fl);

  qnpu_backend_config_t cfg = {0};
  const char *rs = getenv("QNPU_RANDOM_INIT");
  if (rs && *rs) cfg.random_init_seed = strtoull(rs, NULL, 0);
  qnpu_session_t *sim, *gold;
  if (qnpu_session_open(&qnpu_backend_sim, &cfg, &sim, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(qnpu_session_open(qnpu_backend_find("golden", NULL), NULL, &gold, err, sizeof err), QNPU_OK);
  const int32_t n = 3;
  qnpu_net_exec_t *es, *eg;
  assert_int_equal(qnpu_net_exec_create(&q, n, &es), QNPU_OK);
  assert_int_equal(qnpu_net_exec_create(&q, n, &eg), QNPU_OK);
  uint8_t *img = fixture_images(n, test_master_seed() + seed);
  for (int32_t b = 0; b < 2; b++) { /* a batch of 3, then a batch of 1 */
    const int32_t m = b ? 1 : n;
    if (qnpu_net_exec_run(es, sim, img, m, err, sizeof err)) fail_msg("sim: %s", err);
    assert_int_equal(qnpu_net_exec_run(eg, gold, img, m, err, sizeof err), QNPU_OK);
    const qnpu_net_diff_t d = qnpu_net_exec_compare(es, eg, m);
    if (d.node >= 0)
      fail_msg("%s: node %s image %d element %zu: sim %d, golden %d | repro: QNPU_SEED=%llu", qnpu_prec_name(prec),
               q.nodes[d.node].name, d.image, d.element, d.a, d.b, (unsigned long long)test_master_seed());
  }
  /* every array node took cycles and moved DRAM bytes; host nodes none */
  const qnpu_net_node_stats_t *st = qnpu_net_exec_stats(es);
  for (int i = 0; i < q.n_nodes; i++) {
    assert_int_equal(st[i].images, (uint64_t)n + 1);
    if (qnpu_node_on_array(&q.nodes[i])) {
      assert_true(st[i].cycles > 0 && st[i].rd_bytes > 0 && st[i].wr_bytes > 0);
      const qnpu_layer_t l = qnpu_net_layer(&q, &q.nodes[i], 1, NULL);
      assert_int_equal(st[i].macs, (uint64_t)(n + 1) * qnpu_layer_macs(&l)); /* the layer's MACs, per image */
    } else {
      assert_int_equal(st[i].cycles, 0);
    }
  }
  free(img);
  qnpu_net_exec_destroy(es), qnpu_net_exec_destroy(eg);
  qnpu_session_close(sim), qnpu_session_close(gold);
  qnpu_net_free(&q);
}

static void test_netsim_w8a8(void **state) {
  (void)state;
  run_precision(QNPU_PREC_W8A8, QNPU_CALIB_ENTROPY, 31, 0);
}

static void test_netsim_w4a8(void **state) {
  (void)state;
  run_precision(QNPU_PREC_W4A8, QNPU_CALIB_PERCENTILE, 32, 0);
}

static void test_netsim_w4a4(void **state) {
  (void)state;
  run_precision(QNPU_PREC_W4A4, QNPU_CALIB_MAX, 33, 0);
}

/* mixed precision: W4A4 inside, W8A8 first and last layers */
static void test_netsim_w4a4_int8_ends(void **state) {
  (void)state;
  run_precision(QNPU_PREC_W4A4, QNPU_CALIB_ENTROPY, 34, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_netsim_w8a8),
      cmocka_unit_test(test_netsim_w4a8),
      cmocka_unit_test(test_netsim_w4a4),
      cmocka_unit_test(test_netsim_w4a4_int8_ends),
  };
  return cmocka_run_group_tests_name("netsim", tests, NULL, NULL);
}
