/* test_model.c - the layer model's types: the precision (qnpu_prec.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "qnpu_prec.h"

/* Each precision: its name parses back to it (any case), its widths map
 * back to it, and its code is the hardware's MODE code. */
static void test_model_precision_round_trips(void **state) {
  (void)state;
  const struct { qnpu_prec_t p; const char *name, *lower; uint32_t mode; int in, w, out, macs; } want[] = {
      {QNPU_PREC_W8A8, "W8A8", "w8a8", QNPU_MODE_W8A8, 8, 8, 8, 1},
      {QNPU_PREC_W4A8, "W4A8", "w4a8", QNPU_MODE_W4A8, 8, 4, 8, 1},
      {QNPU_PREC_W4A4, "W4A4", "w4a4", QNPU_MODE_W4A4, 4, 4, 4, 2},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const qnpu_prec_info_t *in = qnpu_prec_info(want[i].p);
    assert_non_null(in);
    assert_int_equal((uint32_t)want[i].p, want[i].mode);
    assert_string_equal(qnpu_prec_name(want[i].p), want[i].name);
    assert_int_equal(in->input_bits, want[i].in);
    assert_int_equal(in->weight_bits, want[i].w);
    assert_int_equal(in->output_bits, want[i].out);
    assert_int_equal(in->macs_per_pe, want[i].macs);
    qnpu_prec_t p = QNPU_PREC_W8A8;
    assert_int_equal(qnpu_prec_parse(want[i].lower, &p), QNPU_OK);
    assert_int_equal(p, want[i].p);
    p = QNPU_PREC_W8A8;
    assert_int_equal(qnpu_prec_parse(want[i].name, &p), QNPU_OK);
    assert_int_equal(p, want[i].p);
    p = QNPU_PREC_W8A8;
    assert_int_equal(qnpu_prec_of_bits(want[i].in, want[i].w, want[i].out, &p), QNPU_OK);
    assert_int_equal(p, want[i].p);
  }
}

static void test_model_precision_rejects(void **state) {
  (void)state;
  qnpu_prec_t p = QNPU_PREC_W4A4;
  const char *bad[] = {"", "w8", "w8a8x", "W8A4", "int8", " w8a8"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(qnpu_prec_parse(bad[i], &p), QNPU_ERR_ARG);
    assert_int_equal(p, QNPU_PREC_W4A4); /* untouched */
  }
  assert_int_equal(qnpu_prec_parse(NULL, &p), QNPU_ERR_ARG);
  assert_int_equal(qnpu_prec_parse("w8a8", NULL), QNPU_ERR_ARG);
  /* widths of no precision: int8 weights with int4 activations, int4 output of int8 */
  assert_int_equal(qnpu_prec_of_bits(4, 8, 8, &p), QNPU_ERR_UNSUPPORTED);
  assert_int_equal(qnpu_prec_of_bits(8, 8, 4, &p), QNPU_ERR_UNSUPPORTED);
  assert_int_equal(qnpu_prec_of_bits(8, 4, 4, &p), QNPU_ERR_UNSUPPORTED);
  assert_int_equal(p, QNPU_PREC_W4A4);
  assert_null(qnpu_prec_info((qnpu_prec_t)3));
  assert_string_equal(qnpu_prec_name((qnpu_prec_t)7), "?");
}

/* CONFIG0.PRECISIONS: bit p set when precision p is built. */
static void test_model_precision_built(void **state) {
  (void)state;
  const uint32_t all = 7u, int8_only = (1u << QNPU_MODE_W8A8) | (1u << QNPU_MODE_W4A8);
  assert_true(qnpu_prec_built(QNPU_PREC_W4A4, all));
  assert_false(qnpu_prec_built(QNPU_PREC_W4A4, int8_only));
  assert_true(qnpu_prec_built(QNPU_PREC_W4A8, int8_only));
  assert_false(qnpu_prec_built(QNPU_PREC_W8A8, 0));
  assert_false(qnpu_prec_built((qnpu_prec_t)5, 0xffffffffu));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_precision_round_trips),
      cmocka_unit_test(test_model_precision_rejects),
      cmocka_unit_test(test_model_precision_built),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
