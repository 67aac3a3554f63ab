/* test_net.c - networks: the graph check, post-training quantization
 * (hand-computed weights, zero points, the input table and multipliers of a
 * one-layer network), the .qnpu file (a round trip of every field, and
 * every error class of the loader), the network runtime on the fast model
 * against the golden model tensor by tensor at three array sizes and in
 * three precisions, the ONNX importer (an in-memory ONNX model per error
 * class, and one that imports), the dataset reader's errors, and the
 * committed Fashion-MNIST model: its float path against PyTorch's logits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <zlib.h>

#include "net_fixture.h"
#include "onnx_build.h"
#include "qnpu_dataset.h"
#include "qnpu_idx.h"
#include "qnpu_net_run.h"
#include "qnpu_netfile.h"
#include "qnpu_onnx.h"
#include "qnpu_ptq.h"
#include "npy.h"
#include "test_util.h"

#define MODEL_ONNX "models/fmnist_cnn.onnx"
#define MODEL_REF "models/fmnist_cnn.ref.npy"

typedef struct {
  char dir[64];
  char path[128];
  char err[1024];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = test_fixture_new(sizeof *f);
  if (!f) return -1;
  *state = f;
  return 0;
}

static const char *tmp_path(fixture_t *f, const char *name) {
  snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
  return f->path;
}

/* The fixture network quantized in precision p with calibrator c (and with
 * W8A8 ends when ends). */
static void quantized_fixture_ends(qnpu_net_t *q, qnpu_prec_t p, qnpu_calib_kind_t c, uint64_t seed, int ends) {
  qnpu_net_t fl;
  char err[512];
  fixture_net(&fl, seed);
  assert_int_equal(qnpu_net_check(&fl, err, sizeof err), QNPU_OK);
  uint8_t *img = fixture_images(64, seed + 1);
  const qnpu_ptq_options_t o = {.prec = p, .calib = {.kind = c, .percentile = 99.9}, .batch = 16, .int8_ends = ends};
  const qnpu_status_t st = qnpu_ptq(&fl, img, 64, &o, q, NULL, err, sizeof err);
  if (st) fail_msg("ptq: %s", err);
  free(img);
  qnpu_net_free(&fl);
}

static void quantized_fixture(qnpu_net_t *q, qnpu_prec_t p, qnpu_calib_kind_t c, uint64_t seed) {
  quantized_fixture_ends(q, p, c, seed, 0);
}

/* ---- the graph check ------------------------------------------------------------- */

static void test_net_check_names_the_bad_node(void **state) {
  fixture_t *f = *state;
  qnpu_net_t n;
  fixture_net(&n, 1);
  assert_int_equal(qnpu_net_check(&n, f->err, sizeof f->err), QNPU_OK);
  n.nodes[3].out = 3; /* conv3 writes conv2's output again */
  assert_int_equal(qnpu_net_check(&n, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "node conv3"));
  assert_non_null(strstr(f->err, "written twice"));
  n.nodes[3].out = 4;
  n.tensors[3].c = 7; /* conv2's output channels no longer divide in 2 groups */
  assert_int_equal(qnpu_net_check(&n, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "node conv2"));
  n.tensors[3].c = 8;
  n.nodes[1].in[0] = 3; /* pool1 reads conv2's output before conv2 runs */
  assert_int_equal(qnpu_net_check(&n, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "node pool1: input 0 is not produced before it is read"));
  n.nodes[1].in[0] = 1;
  n.tensors[6].h = 3; /* avgpool 2x2 of 4x4 gives 2x2 */
  assert_int_equal(qnpu_net_check(&n, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "node pool2: output p2 is 3x2x8, its inputs give 2x2x8"));
  qnpu_net_free(&n);
}

/* ---- post-training quantization ---------------------------------------------------- */

/* A one-node float network x (w x c_in, one row) -> y (ow x c_out) with
 * weights w and biases b; the caller sets the node's geometry. */
static qnpu_net_node_t *one_node_net(qnpu_net_t *fl, qnpu_node_kind_t kind, int32_t w, int32_t c_in, int32_t ow,
                                     int32_t c_out, qnpu_act_t act, const float *wt, size_t nw, const float *b) {
  assert_int_equal(qnpu_net_alloc(fl, 2, 1), QNPU_OK);
  fixture_tensor(fl, 0, "x", 1, w, c_in);
  fixture_tensor(fl, 1, "y", 1, ow, c_out);
  qnpu_net_node_t *nd = fixture_node(fl, 0, kind, kind == QNPU_NODE_FC ? "fc" : "conv", 0, 1, act);
  nd->wf = malloc(nw * sizeof(float)), nd->bf = malloc((size_t)c_out * sizeof(float));
  memcpy(nd->wf, wt, nw * sizeof(float)), memcpy(nd->bf, b, (size_t)c_out * sizeof(float));
  fl->output = 1, fl->classes = ow * c_out, fl->in_scale = 1.0f / 255.0f;
  return nd;
}

/* fc 2->2 on a 1x1x2 input, weights [[1, -0.5], [0.25, 0.125]], biases
 * [0.5, -0.25]: hand-computed integers. */
static void test_ptq_known_answer(void **state) {
  fixture_t *f = *state;
  qnpu_net_t fl, q;
  const float w[4] = {1.0f, -0.5f, 0.25f, 0.125f}, b[2] = {0.5f, -0.25f};
  one_node_net(&fl, QNPU_NODE_FC, 1, 2, 1, 2, QNPU_ACT_RELU, w, 4, b);
  assert_int_equal(qnpu_net_check(&fl, f->err, sizeof f->err), QNPU_OK);
  const uint8_t img[4] = {0, 255, 255, 0}; /* x = (0, 1) and (1, 0) */
  const qnpu_ptq_options_t o = {.prec = QNPU_PREC_W8A8, .calib = {.kind = QNPU_CALIB_MAX}, .no_bias_correction = 1};
  qnpu_ptq_range_t rg[2];
  assert_int_equal(qnpu_ptq(&fl, img, 2, &o, &q, rg, f->err, sizeof f->err), QNPU_OK);
  /* input [0, 1] -> S = 1/255, Z = -128, so pixel p -> p - 128 */
  assert_int_equal(q.tensors[0].zero_point, -128);
  assert_true(fabsf(q.tensors[0].scale - 1.0f / 255.0f) < 1e-9f);
  for (int p = 0; p < 256; p++) assert_int_equal(q.in_lut[p], p - 128);
  /* y = relu(Wx + b): (0, 1) -> (0, 0), (1, 0) -> (1.5, 0); seen [0, 1.5]
   * -> S = 1.5 / 255, Z = -128; the ReLU clamp starts at Z */
  assert_true(fabs(rg[1].max - 1.5) < 1e-6 && rg[1].min == 0);
  assert_true(fabsf(q.tensors[1].scale - 1.5f / 255.0f) < 1e-9f);
  assert_int_equal(q.tensors[1].zero_point, -128);
  assert_int_equal(q.nodes[0].act_min, -128);
  assert_int_equal(q.nodes[0].act_max, 127);
  /* per-channel S_w = max|w| / 127: 1/127 and 0.25/127; -0.5 / (1/127) =
   * -63.5 and 0.125 / (0.25/127) = 63.5 round away from zero */
  const int8_t wq[4] = {127, -64, 127, 64};
  assert_memory_equal(q.nodes[0].wq, wq, 4);
  /* bias = round(b / (S_x S_w)): 0.5 * 255 * 127 = 16192.5 -> 16193 (within
   * float32 rounding of the scales), -0.25 / (0.25/127/255) = -32385 */
  assert_true(q.nodes[0].bq[0] == 16192 || q.nodes[0].bq[0] == 16193);
  assert_int_equal(q.nodes[0].bq[1], -32385);
  /* M = S_x S_w / S_y = (1/255)(1/127) / (1.5/255) = 1/190.5 */
  for (int c = 0; c < 2; c++) {
    int32_t m0;
    int sh;
    const double m = (double)q.tensors[0].scale * (double)q.nodes[0].wscale[c] / (double)q.tensors[1].scale;
    assert_int_equal(qnpu_golden_quantize_multiplier(m, &m0, &sh), QNPU_OK);
    assert_int_equal(q.nodes[0].m0[c], m0);
    assert_int_equal(q.nodes[0].shift[c], sh);
  }
  assert_true(fabs((double)q.nodes[0].m0[0] * pow(2, q.nodes[0].shift[0] - 31) - 1 / 190.5) < 1e-9);
  qnpu_net_free(&q);
  /* bias correction: E[x] = (0.5, 0.5); the quantized weights err by
   * (0, -64/127 + 0.5 = -1/254) and (0, 64/127 * 0.25 - 0.125 = 1/1016), so
   * b' = 0.5 + 1/508 -> 16192.5 + 63.75 = 16256.25 -> 16256 and
   * b' = -0.25 - 1/2032 -> -32385 - 63.75 = -32448.75 -> -32449 */
  qnpu_ptq_options_t bc = o;
  bc.no_bias_correction = 0;
  assert_int_equal(qnpu_ptq(&fl, img, 2, &bc, &q, rg, f->err, sizeof f->err), QNPU_OK);
  assert_memory_equal(q.nodes[0].wq, wq, 4);
  assert_int_equal(q.nodes[0].bq[0], 16256);
  assert_int_equal(q.nodes[0].bq[1], -32449);
  assert_non_null(strstr(q.meta, "weights=max+bias-correction"));
  qnpu_net_free(&fl);
  qnpu_net_free(&q);
}

/* Bias correction of a padded conv: a 1x3 kernel, pad 1 left and right, on
 * a 1x2 image. Images (0, 1) and (1, 1) give E[x] = (0.5, 1); averaged over
 * the two output positions the taps expect (0 + 0.5)/2, (0.5 + 1)/2 and
 * (1 + 0)/2 = (0.25, 0.75, 0.5). Weights (1, -0.5, 0.25) in int8 at S_w =
 * 1/127 are (127, -64, 32), off by (0, -1/254, 1/508), so the bias 0.2
 * becomes 0.2 + 0.75/254 - 0.5/508 = 0.2 + 1/508: 6477 + 63.75 -> 6541. */
static void test_ptq_bias_correction_conv_padding(void **state) {
  fixture_t *f = *state;
  qnpu_net_t fl, q;
  const float w[3] = {1.0f, -0.5f, 0.25f}, b[1] = {0.2f};
  qnpu_net_node_t *nd = one_node_net(&fl, QNPU_NODE_CONV, 2, 1, 2, 1, QNPU_ACT_NONE, w, 3, b);
  nd->kw = 3, nd->pad_left = nd->pad_right = 1;
  assert_int_equal(qnpu_net_check(&fl, f->err, sizeof f->err), QNPU_OK);
  const uint8_t img[4] = {0, 255, 255, 255};
  qnpu_ptq_options_t o = {.prec = QNPU_PREC_W8A8, .calib = {.kind = QNPU_CALIB_MAX}, .no_bias_correction = 1};
  assert_int_equal(qnpu_ptq(&fl, img, 2, &o, &q, NULL, f->err, sizeof f->err), QNPU_OK);
  const int8_t wq[3] = {127, -64, 32};
  assert_memory_equal(q.nodes[0].wq, wq, 3);
  assert_int_equal(q.nodes[0].bq[0], 6477);
  qnpu_net_free(&q);
  o.no_bias_correction = 0;
  assert_int_equal(qnpu_ptq(&fl, img, 2, &o, &q, NULL, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(q.nodes[0].bq[0], 6541);
  qnpu_net_free(&q);
  qnpu_net_free(&fl);
}

/* Pools and ReLU keep their input's quantization; every activation of a
 * W4A4 network is 4-bit; a percentile range lies inside the max one. */
static void test_ptq_structure(void **state) {
  fixture_t *f = *state;
  qnpu_net_t q4, qp, qm;
  quantized_fixture(&q4, QNPU_PREC_W4A4, QNPU_CALIB_ENTROPY, 7);
  for (int t = 0; t < q4.n_tensors; t++) assert_int_equal(q4.tensors[t].bits, 4);
  for (int i = 0; i < q4.n_nodes; i++) {
    const qnpu_net_node_t *nd = &q4.nodes[i];
    if (nd->kind == QNPU_NODE_MAXPOOL || nd->kind == QNPU_NODE_AVGPOOL || nd->kind == QNPU_NODE_RELU) {
      assert_int_equal(q4.tensors[nd->out].zero_point, q4.tensors[nd->in[0]].zero_point);
      assert_true(q4.tensors[nd->out].scale == q4.tensors[nd->in[0]].scale);
    }
    if (qnpu_node_on_array(nd))
      for (size_t k = 0; k < qnpu_net_weight_count(&q4, nd); k++) assert_true(nd->wq[k] >= -7 && nd->wq[k] <= 7);
  }
  assert_int_equal(q4.in_lut[0], -8);
  assert_int_equal(q4.in_lut[255], 7);
  quantized_fixture(&qp, QNPU_PREC_W8A8, QNPU_CALIB_PERCENTILE, 7);
  quantized_fixture(&qm, QNPU_PREC_W8A8, QNPU_CALIB_MAX, 7);
  for (int t = 1; t < qm.n_tensors; t++) assert_true(qp.tensors[t].scale <= qm.tensors[t].scale);
  assert_int_equal(qnpu_net_check(&q4, f->err, sizeof f->err), QNPU_OK);
  qnpu_net_free(&q4), qnpu_net_free(&qp), qnpu_net_free(&qm);
  /* int8 ends: conv1 and fc W8A8, the image and the logits 8-bit, the rest 4-bit */
  quantized_fixture_ends(&q4, QNPU_PREC_W4A4, QNPU_CALIB_ENTROPY, 7, 1);
  for (int i = 0; i < q4.n_nodes; i++) {
    const qnpu_net_node_t *nd = &q4.nodes[i];
    const int end = !strcmp(nd->name, "conv1") || !strcmp(nd->name, "fc");
    if (qnpu_node_on_array(nd)) assert_int_equal(nd->prec, end ? QNPU_PREC_W8A8 : QNPU_PREC_W4A4);
    assert_int_equal(q4.tensors[nd->out].bits, nd->out == q4.output ? 8 : 4);
  }
  assert_int_equal(q4.tensors[q4.input].bits, 8);
  assert_int_equal(q4.in_lut[255], 127);
  assert_int_equal(q4.nodes[0].act_max, 7); /* conv1, W8A8, clamps to its 4-bit output */
  assert_non_null(strstr(q4.meta, "int8-ends"));
  qnpu_net_free(&q4);
}

/* ---- the model file ------------------------------------------------------------------ */

static void assert_nets_equal(const qnpu_net_t *a, const qnpu_net_t *b) {
  assert_int_equal(a->n_tensors, b->n_tensors);
  assert_int_equal(a->n_nodes, b->n_nodes);
  assert_int_equal(a->input, b->input);
  assert_int_equal(a->output, b->output);
  assert_int_equal(a->classes, b->classes);
  assert_memory_equal(a->in_lut, b->in_lut, 256);
  assert_int_equal(a->semantics, b->semantics);
  assert_int_equal(a->in_type, b->in_type);
  assert_int_equal(a->out_type, b->out_type);
  assert_int_equal(a->out_rank, b->out_rank);
  assert_true(a->in_scale == b->in_scale && a->in_offset == b->in_offset);
  assert_string_equal(a->meta, b->meta);
  assert_memory_equal(a->tensors, b->tensors, (size_t)a->n_tensors * sizeof *a->tensors);
  for (int i = 0; i < a->n_nodes; i++) {
    const qnpu_net_node_t *x = &a->nodes[i], *y = &b->nodes[i];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->act, y->act);
    assert_int_equal(x->n_in, y->n_in);
    assert_int_equal(x->in[0], y->in[0]);
    if (x->n_in > 1) assert_int_equal(x->in[1], y->in[1]);
    assert_int_equal(x->out, y->out);
    assert_int_equal(x->act_min, y->act_min);
    assert_int_equal(x->act_max, y->act_max);
    assert_memory_equal(&x->kh, &y->kh, 11 * sizeof(int32_t)); /* kh .. groups */
    if (x->kind == QNPU_NODE_ADD && a->semantics == QNPU_SEM_TFLITE)
      assert_memory_equal(&x->add, &y->add, sizeof x->add);
    if (x->kind == QNPU_NODE_AVGPOOL) assert_int_equal(x->count_include_pad, y->count_include_pad);
    if (!qnpu_node_on_array(x)) continue;
    const size_t o = (size_t)qnpu_net_out_c(a, x);
    assert_int_equal(x->prec, y->prec);
    assert_memory_equal(x->wq, y->wq, qnpu_net_weight_count(a, x));
    if (x->bq)
      assert_memory_equal(x->bq, y->bq, o * sizeof *x->bq);
    else
      assert_null(y->bq);
    assert_memory_equal(x->wscale, y->wscale, o * sizeof *x->wscale);
    assert_int_equal(x->wzp, y->wzp);
    if (a->semantics == QNPU_SEM_ORT) {
      assert_memory_equal(x->rscale, y->rscale, o * sizeof *x->rscale);
      assert_null(y->m0);
    } else {
      assert_memory_equal(x->m0, y->m0, o * sizeof *x->m0);
      assert_memory_equal(x->shift, y->shift, o * sizeof *x->shift);
      assert_null(y->rscale);
    }
  }
}

static void test_netfile_round_trip(void **state) {
  fixture_t *f = *state;
  const qnpu_prec_t precs[] = {QNPU_PREC_W8A8, QNPU_PREC_W4A8, QNPU_PREC_W4A4};
  for (int k = 0; k < 3; k++) {
    qnpu_net_t q, back;
    quantized_fixture(&q, precs[k], QNPU_CALIB_ENTROPY, 11 + (uint64_t)k);
    assert_int_equal(qnpu_netfile_save(tmp_path(f, "m.qnpu"), &q, f->err, sizeof f->err), QNPU_OK);
    if (qnpu_netfile_load(f->path, &back, f->err, sizeof f->err)) fail_msg("%s", f->err);
    assert_nets_equal(&q, &back);
    qnpu_net_free(&q), qnpu_net_free(&back);
  }
  qnpu_net_t fl;
  fixture_net(&fl, 1);
  assert_int_equal(qnpu_netfile_save(tmp_path(f, "float.qnpu"), &fl, f->err, sizeof f->err), QNPU_ERR_ARG);
  qnpu_net_free(&fl);
}

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  uint8_t *b = malloc(1 << 20);
  *n = fread(b, 1, 1 << 20, fp);
  fclose(fp);
  return b;
}

/* Parses buf and expects status st with msg in the error. */
static void expect_parse(fixture_t *f, const uint8_t *buf, size_t n, qnpu_status_t st, const char *msg) {
  qnpu_net_t q;
  const qnpu_status_t got = qnpu_netfile_parse(buf, n, "m.qnpu", &q, f->err, sizeof f->err);
  if (got != st || !strstr(f->err, msg))
    fail_msg("expected status %d with '%s', got %d: '%s'", (int)st, msg, (int)got, f->err);
  if (st == QNPU_OK) qnpu_net_free(&q);
  assert_null(q.nodes);
}

/* Recomputes the trailing CRC after an edit of the body. */
static void fix_crc(uint8_t *b, size_t n) {
  const uint32_t c = (uint32_t)crc32(0L, b, (uInt)(n - 4));
  for (int i = 0; i < 4; i++) b[n - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

static void test_netfile_errors(void **state) {
  fixture_t *f = *state;
  qnpu_net_t q, back;
  quantized_fixture(&q, QNPU_PREC_W4A8, QNPU_CALIB_MAX, 3);
  assert_int_equal(qnpu_netfile_save(tmp_path(f, "m.qnpu"), &q, f->err, sizeof f->err), QNPU_OK);
  size_t n;
  uint8_t *b = read_all(f->path, &n), *c = malloc(n + 8);
  expect_parse(f, b, n, QNPU_OK, "");
  /* missing file */
  assert_int_equal(qnpu_netfile_load(tmp_path(f, "none.qnpu"), &back, f->err, sizeof f->err), QNPU_ERR_IO);
  assert_non_null(strstr(f->err, "none.qnpu: cannot open"));
  /* bad magic: an ONNX file or anything else */
  memcpy(c, b, n), c[0] = 'X';
  expect_parse(f, c, n, QNPU_ERR_FORMAT, "not a qnpu model file");
  expect_parse(f, c, 3, QNPU_ERR_FORMAT, "not a qnpu model file");
  /* another version */
  memcpy(c, b, n), c[8] = 1;
  expect_parse(f, c, n, QNPU_ERR_FORMAT, "model file version 1; this qnpu reads version 2");
  /* truncated anywhere: in the header, the body, the CRC */
  const size_t cuts[] = {12, 30, n / 2, n - 5, n - 1};
  for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) expect_parse(f, b, cuts[k], QNPU_ERR_FORMAT, "truncated");
  /* trailing bytes */
  memcpy(c, b, n), c[n] = 0;
  expect_parse(f, c, n + 1, QNPU_ERR_FORMAT, "1 trailing bytes");
  /* a flipped bit anywhere in the body */
  test_rng_t r = {test_master_seed()};
  for (int k = 0; k < 20; k++) {
    memcpy(c, b, n);
    const size_t at = (size_t)rng_range(&r, 24, (int32_t)n - 5);
    c[at] ^= (uint8_t)(1u << rng_range(&r, 0, 7));
    expect_parse(f, c, n, QNPU_ERR_FORMAT, "checksum mismatch");
  }
  /* a consistent checksum over inconsistent contents: the body's tensor
   * count (at 24 + 4 + strlen(meta)) one larger than the tensors stored */
  const size_t at = 24 + 4 + strlen(q.meta);
  memcpy(c, b, n), c[at] = (uint8_t)(c[at] + 1), fix_crc(c, n);
  expect_parse(f, c, n, QNPU_ERR_FORMAT, "m.qnpu: ");
  /* contents the loader refuses under a good checksum, each naming the
   * node: a node record is kind, name (u32 length + bytes), n_in, then
   * the int32 tensor indices in[0], in[1], out */
  const struct {
    uint8_t kind;
    const char *name;
    uint8_t out;
    const char *msg;
  } bad[] = {
      {5, "relu", 2, "m.qnpu: node relu: output tensor 2 is out of range or written twice"},
      {1, "fc", 2, "m.qnpu: node fc: 60 weights, its shapes need 48"},
      {1, "fc", 99, "m.qnpu: node 8: kind, activation or tensor index out of range"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    uint8_t rec[16] = {bad[k].kind, (uint8_t)strlen(bad[k].name), 0, 0, 0};
    memcpy(rec + 5, bad[k].name, strlen(bad[k].name));
    const size_t len = 5 + strlen(bad[k].name);
    size_t r0 = 24;
    while (r0 + len < n && memcmp(b + r0, rec, len)) r0++;
    assert_true(r0 + len < n);
    memcpy(c, b, n), c[r0 + len + 9] = bad[k].out, fix_crc(c, n);
    expect_parse(f, c, n, QNPU_ERR_FORMAT, bad[k].msg);
  }
  /* the writer refuses an inconsistent network instead of writing it */
  qnpu_net_node_t *last = &q.nodes[q.n_nodes - 1];
  last->out = 99;
  assert_int_equal(qnpu_netfile_save(tmp_path(f, "bad.qnpu"), &q, f->err, sizeof f->err), QNPU_ERR_ARG);
  assert_non_null(strstr(f->err, "node fc"));
  last->out = 9;
  free(b), free(c);
  qnpu_net_free(&q);
}

/* ---- the network runtime ------------------------------------------------------------- */

/* The fixture quantized in each precision, on the fast model at three
 * array sizes, equals the golden model in every tensor of every image. */
static void test_net_model_equals_golden(void **state) {
  fixture_t *f = *state;
  const qnpu_prec_t precs[] = {QNPU_PREC_W8A8, QNPU_PREC_W4A8, QNPU_PREC_W4A4, QNPU_PREC_W4A4};
  const uint32_t sizes[][2] = {{16, 16}, {4, 4}, {8, 16}};
  const int32_t n = 5;
  uint8_t *img = fixture_images(n, test_master_seed());
  for (int k = 0; k < 4; k++) { /* and W4A4 with W8A8 ends: mixed precision */
    qnpu_net_t q;
    quantized_fixture_ends(&q, precs[k % 3], k == 1 ? QNPU_CALIB_PERCENTILE : QNPU_CALIB_ENTROPY, 21 + (uint64_t)k,
                           k == 3);
    qnpu_session_t *gs;
    qnpu_net_exec_t *ge, *me;
    assert_int_equal(qnpu_session_open(qnpu_backend_find("golden", NULL), NULL, &gs, f->err, sizeof f->err), QNPU_OK);
    assert_int_equal(qnpu_net_exec_create(&q, n, &ge), QNPU_OK);
    assert_int_equal(qnpu_net_exec_run(ge, gs, img, n, f->err, sizeof f->err), QNPU_OK);
    for (int s = 0; s < 3; s++) {
      const qnpu_backend_config_t cfg = {.rows = sizes[s][0], .cols = sizes[s][1]};
      qnpu_session_t *ms;
      assert_int_equal(qnpu_session_open(qnpu_backend_find("model", NULL), &cfg, &ms, f->err, sizeof f->err), QNPU_OK);
      assert_int_equal(qnpu_net_exec_create(&q, n, &me), QNPU_OK);
      if (qnpu_net_exec_run(me, ms, img, n, f->err, sizeof f->err)) fail_msg("%s", f->err);
      const qnpu_net_diff_t d = qnpu_net_exec_compare(me, ge, n);
      if (d.node >= 0)
        fail_msg("%s%s at %ux%u: node %s image %d element %zu: model %d, golden %d | repro: QNPU_SEED=%llu",
                 qnpu_prec_name(precs[k]), k == 3 ? " int8 ends" : "", sizes[s][0], sizes[s][1], q.nodes[d.node].name,
                 d.image, d.element, d.a, d.b, (unsigned long long)test_master_seed());
      /* the device counted the MACs of every conv/fc node */
      const qnpu_net_node_stats_t *st = qnpu_net_exec_stats(me);
      for (int i = 0; i < q.n_nodes; i++) {
        assert_int_equal(st[i].images, (uint64_t)n);
        if (qnpu_node_on_array(&q.nodes[i])) assert_true(st[i].macs > 0 && st[i].rd_bytes > 0);
      }
      qnpu_net_exec_destroy(me);
      qnpu_session_close(ms);
    }
    /* a second run of other images really runs: its tensors differ */
    uint8_t *other = fixture_images(n, test_master_seed() + 99);
    assert_int_equal(qnpu_net_exec_create(&q, n, &me), QNPU_OK);
    assert_int_equal(qnpu_net_exec_run(me, gs, other, n, f->err, sizeof f->err), QNPU_OK);
    assert_true(qnpu_net_exec_compare(me, ge, n).node >= 0);
    qnpu_net_exec_destroy(me);
    free(other);
    qnpu_net_exec_destroy(ge);
    qnpu_session_close(gs);
    qnpu_net_free(&q);
  }
  free(img);
}

static void test_net_run_errors(void **state) {
  fixture_t *f = *state;
  qnpu_net_t q, fl;
  quantized_fixture(&q, QNPU_PREC_W8A8, QNPU_CALIB_MAX, 5);
  fixture_net(&fl, 5);
  qnpu_net_exec_t *e;
  assert_int_equal(qnpu_net_exec_create(&fl, 4, &e), QNPU_ERR_ARG); /* a float network */
  assert_int_equal(qnpu_net_exec_create(&q, 0, &e), QNPU_ERR_ARG);
  assert_int_equal(qnpu_net_exec_create(&q, 2, &e), QNPU_OK);
  qnpu_session_t *s;
  assert_int_equal(qnpu_session_open(qnpu_backend_find("golden", NULL), NULL, &s, f->err, sizeof f->err), QNPU_OK);
  uint8_t *img = fixture_images(3, 1);
  assert_int_equal(qnpu_net_exec_run(e, s, img, 3, f->err, sizeof f->err), QNPU_ERR_ARG); /* over max_batch */
  assert_non_null(strstr(f->err, "1 to 2 images"));
  /* a layer the runtime refuses is named with its node: conv1 made W4A8
   * while it holds int8 weights outside the int4 range */
  q.nodes[0].prec = QNPU_PREC_W4A8;
  assert_int_equal(qnpu_net_exec_run(e, s, img, 2, f->err, sizeof f->err), QNPU_ERR_ARG);
  assert_non_null(strstr(f->err, "node conv1 (conv): filter element"));
  free(img);
  qnpu_net_exec_destroy(e);
  qnpu_session_close(s);
  qnpu_net_free(&q), qnpu_net_free(&fl);
}

/* ---- the ONNX importer ------------------------------------------------------------------- */

/* A Conv 3x3 1->2 pad 1 + Relu + Flatten + Gemm 32->3 model on 4x4x1; edit
 * selects a defect. */
static void write_onnx(fixture_t *f, const char *name, int edit) {
  ob_t *b = malloc(sizeof *b);
  ob_init(b, 1, 4, 4);
  const int64_t wd[4] = {2, 1, 3, 3}, bd[1] = {2}, gd[2] = {3, 32}, cd[1] = {3}, k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
  ob_floats(b, "w", wd, 4, NULL);
  ob_floats(b, "b", bd, 1, NULL);
  ob_floats(b, "gw", gd, 2, NULL);
  ob_floats(b, "gb", cd, 1, NULL);
  Onnx__NodeProto *conv = ob_node(b, "Conv", "conv", edit == 3 ? "x,x" : "x,w,b", "c");
  ob_ints(b, conv, "kernel_shape", k3, 2);
  ob_ints(b, conv, "pads", p1, 4);
  if (edit == 2) ob_string(b, conv, "auto_pad", "SAME_UPPER");
  ob_node(b, edit == 1 ? "Softmax" : "Relu", "act", "c", "r");
  ob_int(b, ob_node(b, "Flatten", "flat", "r", "f"), "axis", 1);
  Onnx__NodeProto *g = ob_node(b, "Gemm", "fc", "f,gw,gb", "y");
  ob_int(b, g, "transB", 1);
  if (edit == 4) ob_int(b, g, "transA", 1);
  if (edit == 5) ob_int(b, conv, "frobnicate", 1);
  assert_int_equal(ob_write(b, tmp_path(f, name)), 0);
  ob_free(b);
  free(b);
}

static void expect_onnx(fixture_t *f, const char *name, int edit, qnpu_status_t st, const char *msg) {
  write_onnx(f, name, edit);
  qnpu_net_t n;
  const qnpu_status_t got = qnpu_onnx_load(f->path, &n, f->err, sizeof f->err);
  if (got != st || !strstr(f->err, msg)) fail_msg("%s: expected %d '%s', got %d '%s'", name, st, msg, got, f->err);
  assert_null(n.nodes);
}

static void test_onnx_import_and_errors(void **state) {
  fixture_t *f = *state;
  qnpu_net_t n;
  write_onnx(f, "ok.onnx", 0);
  if (qnpu_onnx_load(f->path, &n, f->err, sizeof f->err)) fail_msg("%s", f->err);
  /* conv+relu fused, flatten free, fc: two nodes; the fc's weights are
   * reordered from NCHW to NHWC: NHWC k = (y*4 + x)*2 + c reads NCHW
   * (c*4 + y)*4 + x */
  assert_int_equal(n.n_nodes, 2);
  assert_int_equal(n.nodes[0].kind, QNPU_NODE_CONV);
  assert_int_equal(n.nodes[0].act, QNPU_ACT_RELU);
  assert_int_equal(n.nodes[0].pad_top, 1);
  assert_int_equal(n.nodes[1].kind, QNPU_NODE_FC);
  assert_int_equal(n.classes, 3);
  for (int o = 0; o < 3; o++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++)
        for (int c = 0; c < 2; c++) {
          const int nchw = o * 32 + (c * 4 + y) * 4 + x, nhwc = o * 32 + (y * 4 + x) * 2 + c;
          assert_true(n.nodes[1].wf[nhwc] == 0.01f * (float)((nchw % 7) - 3));
        }
  qnpu_net_free(&n);
  expect_onnx(f, "softmax.onnx", 1, QNPU_ERR_UNSUPPORTED, "node act (Softmax): op type 'Softmax' is not supported");
  expect_onnx(f, "autopad.onnx", 2, QNPU_ERR_UNSUPPORTED, "node conv (Conv): auto_pad=SAME_UPPER is not supported");
  expect_onnx(f, "weights.onnx", 3, QNPU_ERR_UNSUPPORTED, "node conv (Conv): weights must be an initializer");
  expect_onnx(f, "transa.onnx", 4, QNPU_ERR_UNSUPPORTED, "node fc (Gemm): transA=1 is not supported");
  expect_onnx(f, "attr.onnx", 5, QNPU_ERR_UNSUPPORTED, "node conv (Conv): attribute 'frobnicate' is not supported");
  /* not protobuf at all, and no file */
  FILE *fp = fopen(tmp_path(f, "junk.onnx"), "wb");
  fputs("\xff\xff\xff\xff this is not a protobuf message", fp);
  fclose(fp);
  assert_int_equal(qnpu_onnx_load(f->path, &n, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "junk.onnx: not an ONNX model"));
  assert_int_equal(qnpu_onnx_load(tmp_path(f, "none.onnx"), &n, f->err, sizeof f->err), QNPU_ERR_IO);
  assert_non_null(strstr(f->err, "none.onnx: cannot open"));
}

/* ---- quantized ONNX models (ONNX Runtime semantics) ---------------------------------------- */

enum {
  DT_U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
  DT_I8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
  DT_I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32
};

static const float kQWs[4] = {0.011f, 0.007f, 0.019f, 0.004f}, kQMs[3] = {0.02f, 0.03f, 0.025f};

/* A QOperator model on int8 x [N, 2, 5, 5]: QLinearConv 3x3 pad 1 -> 4
 * channels, MaxPool 2x2 stride 1 (int8), QLinearGlobalAveragePool, Flatten,
 * QLinearMatMul -> 3. edit selects a defect. */
static void write_qop(fixture_t *f, const char *name, int edit) {
  ob_t *b = malloc(sizeof *b);
  ob_init(b, 2, 5, 5);
  ob_input_type(b, DT_I8);
  test_rng_t r = {77};
  int32_t w[72], bias[4], wm[12], wz[4] = {0, 0, 0, edit == 1};
  for (int i = 0; i < 72; i++) w[i] = rng_range(&r, -128, 127);
  for (int i = 0; i < 4; i++) bias[i] = rng_range(&r, -3000, 3000);
  for (int i = 0; i < 12; i++) wm[i] = rng_range(&r, -128, 127);
  const int64_t wd[4] = {4, 2, 3, 3}, d4[1] = {4}, md[2] = {4, 3}, d3[1] = {3}, k3[2] = {3, 3}, k2[2] = {2, 2},
                p1[4] = {1, 1, 1, 1};
  ob_scalar_f(b, "xs", 0.05f), ob_scalar_i(b, "xz", DT_I8, 3);
  ob_ints_init(b, "w", DT_I8, wd, 4, w);
  ob_floats(b, "ws", d4, 1, kQWs);
  if (edit == 1)
    ob_ints_init(b, "wz", DT_I8, d4, 1, wz);
  else
    ob_scalar_i(b, "wz", DT_I8, 0);
  ob_scalar_f(b, "ys", edit == 4 ? 0.3f : 0.2f), ob_scalar_i(b, "yz", DT_I8, -5);
  ob_scalar_f(b, "ys2", 0.2f);
  ob_ints_init(b, "b", DT_I32, d4, 1, bias);
  ob_scalar_f(b, "gs", 0.15f), ob_scalar_i(b, "gz", DT_I8, 2);
  ob_ints_init(b, "wm", DT_I8, md, 2, wm);
  ob_floats(b, "wms", d3, 1, kQMs);
  ob_scalar_i(b, "wmz", DT_I8, 0);
  ob_scalar_f(b, "ms", 0.3f), ob_scalar_i(b, "mz", DT_I8, 1);
  Onnx__NodeProto *conv = ob_node(b, "QLinearConv", "qconv", "x,xs,xz,w,ws,wz,ys,yz,b", "c");
  ob_ints(b, conv, "kernel_shape", k3, 2), ob_ints(b, conv, "pads", p1, 4);
  const char *pool_in = "c";
  if (edit == 2) ob_node(b, "Relu", "relu", "c", "cr"), pool_in = "cr";
  Onnx__NodeProto *mp = ob_node(b, "MaxPool", "pool", pool_in, "m");
  ob_ints(b, mp, "kernel_shape", k2, 2);
  Onnx__NodeProto *g =
      ob_node(b, "QLinearGlobalAveragePool", "gap", edit == 4 ? "m,ys2,yz,gs,gz" : "m,ys,yz,gs,gz", "g");
  g->domain = ob_str(b, edit == 5 ? "com.example" : "com.microsoft");
  if (edit == 6) ob_int(b, g, "channels_last", 1);
  ob_int(b, ob_node(b, "Flatten", "flat", "g", "fl"), "axis", 1);
  ob_node(b,
          edit == 3   ? "QAttention"
          : edit == 7 ? "Softmax"
                      : "QLinearMatMul",
          edit == 7 ? "q\001m\xffm" : "qmm", "fl,gs,gz,wm,wms,wmz,ms,mz", "y");
  if (edit == 3) b->nodes[b->g.n_node - 1]->domain = ob_str(b, "com.microsoft");
  assert_int_equal(ob_write(b, tmp_path(f, name)), 0);
  ob_free(b);
  free(b);
}

/* The conv of write_qop by plain loops: ONNX Runtime's requantization
 * (qnpu_golden_ort_round, the one definition) of the int32 sums. */
static void qop_conv_by_hand(const int8_t *x, int32_t n, int8_t *y) {
  test_rng_t r = {77};
  int32_t w[72], bias[4];
  for (int i = 0; i < 72; i++) w[i] = rng_range(&r, -128, 127);
  for (int i = 0; i < 4; i++) bias[i] = rng_range(&r, -3000, 3000);
  for (int32_t im = 0; im < n; im++)
    for (int oy = 0; oy < 5; oy++)
      for (int ox = 0; ox < 5; ox++)
        for (int o = 0; o < 4; o++) {
          int32_t acc = bias[o];
          for (int ic = 0; ic < 2; ic++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++) {
                const int iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue; /* padding: x - xz = 0 */
                acc += (x[((im * 5 + iy) * 5 + ix) * 2 + ic] - 3) * w[((o * 2 + ic) * 3 + ky) * 3 + kx];
              }
          const float s = qnpu_golden_ort_scale(0.05f, kQWs[o], 0.2f);
          double v = qnpu_golden_ort_round(acc, s) - 5;
          v = v < -128 ? -128 : v > 127 ? 127 : v;
          y[((im * 5 + oy) * 5 + ox) * 4 + o] = (int8_t)v;
        }
}

static void expect_q_error(fixture_t *f, const char *name, int edit, const char *msg) {
  write_qop(f, name, edit);
  qnpu_net_t n;
  const qnpu_status_t got = qnpu_onnx_load(f->path, &n, f->err, sizeof f->err);
  if (got != QNPU_ERR_UNSUPPORTED || !strstr(f->err, msg))
    fail_msg("%s: expected '%s', got %d '%s'", name, msg, got, f->err);
  assert_null(n.nodes);
}

static void test_onnx_qoperator(void **state) {
  fixture_t *f = *state;
  qnpu_net_t n, back;
  write_qop(f, "qop.onnx", 0);
  if (qnpu_onnx_load(f->path, &n, f->err, sizeof f->err)) fail_msg("%s", f->err);
  assert_true(n.quantized);
  assert_int_equal(n.semantics, QNPU_SEM_ORT);
  assert_int_equal(n.in_type, QNPU_IN_INT8);
  assert_int_equal(n.out_type, QNPU_OUT_INT8);
  assert_int_equal(n.out_rank, 2);
  assert_int_equal(n.n_nodes, 4);
  const qnpu_node_kind_t kinds[4] = {QNPU_NODE_CONV, QNPU_NODE_MAXPOOL, QNPU_NODE_GAVGPOOL, QNPU_NODE_FC};
  for (int i = 0; i < 4; i++) assert_int_equal(n.nodes[i].kind, kinds[i]);
  const qnpu_net_node_t *cv = &n.nodes[0];
  for (int o = 0; o < 4; o++) assert_true(cv->rscale[o] == qnpu_golden_ort_scale(0.05f, kQWs[o], 0.2f));
  assert_int_equal(n.tensors[cv->in[0]].zero_point, 3);
  assert_int_equal(n.tensors[cv->out].zero_point, -5);
  assert_int_equal(n.tensors[n.nodes[1].out].zero_point, -5); /* max pool keeps it */
  assert_int_equal(n.tensors[n.output].zero_point, 1);
  assert_true(n.nodes[3].rscale[2] == qnpu_golden_ort_scale(0.15f, kQMs[2], 0.3f));

  /* golden: the conv equals plain loops; model: every tensor equals golden */
  enum { N = 3 };
  int8_t x[N * 50], want[N * 100];
  test_rng_t r = {5};
  for (int i = 0; i < N * 50; i++) x[i] = (int8_t)rng_range(&r, -128, 127);
  qop_conv_by_hand(x, N, want);
  qnpu_session_t *g, *m;
  qnpu_net_exec_t *eg, *em;
  assert_int_equal(qnpu_session_open(qnpu_backend_find("golden", NULL), NULL, &g, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(qnpu_session_open(qnpu_backend_find("model", NULL), NULL, &m, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(qnpu_net_exec_create(&n, N, &eg), QNPU_OK);
  assert_int_equal(qnpu_net_exec_create(&n, N, &em), QNPU_OK);
  if (qnpu_net_exec_run_q(eg, g, x, N, f->err, sizeof f->err)) fail_msg("%s", f->err);
  if (qnpu_net_exec_run_q(em, m, x, N, f->err, sizeof f->err)) fail_msg("%s", f->err);
  assert_memory_equal(qnpu_net_exec_tensor(eg, cv->out), want, sizeof want);
  assert_int_equal(qnpu_net_exec_compare(em, eg, N).node, -1);
  uint8_t px[50] = {0};
  assert_int_equal(qnpu_net_exec_run(eg, g, px, 1, f->err, sizeof f->err), QNPU_ERR_ARG); /* int8 input */
  assert_non_null(strstr(f->err, "input is int8"));
  qnpu_net_exec_destroy(eg), qnpu_net_exec_destroy(em);
  qnpu_session_close(g), qnpu_session_close(m);

  /* the .qnpu file keeps every field of ONNX Runtime semantics */
  assert_int_equal(qnpu_netfile_save(tmp_path(f, "qop.qnpu"), &n, f->err, sizeof f->err), QNPU_OK);
  if (qnpu_netfile_load(f->path, &back, f->err, sizeof f->err)) fail_msg("%s", f->err);
  assert_nets_equal(&n, &back);
  qnpu_net_free(&back);
  qnpu_net_free(&n);

  expect_q_error(f, "wz.onnx", 1, "node qconv (QLinearConv): per-channel weight zero points must all be equal");
  expect_q_error(f, "relu.onnx", 2, "node relu (Relu): Relu of a quantized tensor");
  expect_q_error(f, "qatt.onnx", 3, "node qmm (QAttention): op type 'com.microsoft.QAttention' is not supported");
  expect_q_error(f, "scale.onnx", 4, "node gap (QLinearGlobalAveragePool): input 0 'm' is read with scale 0.2");
  expect_q_error(f, "domain.onnx", 5, "node gap (QLinearGlobalAveragePool): domain 'com.example' is not supported");
  expect_q_error(f, "chlast.onnx", 6, "node gap (QLinearGlobalAveragePool): channels_last=1 is not supported");
  /* a name with a control character and a byte that is not UTF-8: one readable line */
  expect_q_error(f, "name.onnx", 7, "node q?m?m (Softmax): op type 'Softmax' is not supported in a quantized model");
}

/* A QDQ model, uint8: float x [N, 1, 4, 4] -> QuantizeLinear -> DQ -> Conv
 * (DQ uint8 weights, zero point 131; DQ int32 bias) -> Relu ->
 * QuantizeLinear -> DequantizeLinear (a float output). edit: 1 the output
 * zero point 10 (the Relu is not redundant), 2 a float bias, 3 the conv
 * output also read by an Add. */
static void write_qdq(fixture_t *f, const char *name, int edit) {
  ob_t *b = malloc(sizeof *b);
  ob_init(b, 1, 4, 4);
  int32_t w[18], bias[2] = {40, -70};
  for (int i = 0; i < 18; i++) w[i] = (i * 37) % 256;
  const int64_t wd[4] = {2, 1, 3, 3}, d2[1] = {2}, k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
  const float ws[2] = {0.01f, 0.02f}, bs[2] = {0.01f / 64, 0.02f / 64};
  ob_scalar_f(b, "xs", 1.0f / 64), ob_scalar_i(b, "xz", DT_U8, 100);
  ob_ints_init(b, "wq", DT_U8, wd, 4, w);
  ob_floats(b, "ws", d2, 1, ws);
  ob_scalar_i(b, "wz", DT_U8, 131);
  ob_ints_init(b, "bq", DT_I32, d2, 1, bias);
  ob_floats(b, "bs", d2, 1, bs);
  ob_floats(b, "bf", d2, 1, ws);
  ob_scalar_f(b, "ys", 0.05f), ob_scalar_i(b, "yz", DT_U8, edit == 1 ? 10 : 0);
  ob_node(b, "QuantizeLinear", "qx", "x,xs,xz", "xq");
  ob_node(b, "DequantizeLinear", "dqx", "xq,xs,xz", "xd");
  ob_node(b, "DequantizeLinear", "dqw", "wq,ws,wz", "wd");
  ob_node(b, "DequantizeLinear", "dqb", "bq,bs", "bd");
  Onnx__NodeProto *conv = ob_node(b, "Conv", "conv", edit == 2 ? "xd,wd,bf" : "xd,wd,bd", "c");
  ob_ints(b, conv, "kernel_shape", k3, 2), ob_ints(b, conv, "pads", p1, 4);
  ob_node(b, "Relu", "relu", "c", "r");
  if (edit == 3) ob_node(b, "Add", "add", "r,r", "a2");
  ob_node(b, "QuantizeLinear", "qy", "r,ys,yz", "yq");
  ob_node(b, "DequantizeLinear", "dqy", "yq,ys,yz", "y");
  assert_int_equal(ob_write(b, tmp_path(f, name)), 0);
  ob_free(b);
  free(b);
}

static void test_onnx_qdq_uint8(void **state) {
  fixture_t *f = *state;
  qnpu_net_t n;
  write_qdq(f, "qdq.onnx", 0);
  if (qnpu_onnx_load(f->path, &n, f->err, sizeof f->err)) fail_msg("%s", f->err);
  assert_int_equal(n.in_type, QNPU_IN_FLOAT);
  assert_int_equal(n.out_type, QNPU_OUT_FLOAT);
  assert_int_equal(n.out_rank, 4);
  assert_int_equal(n.n_nodes, 1); /* the Relu is the quantization's own clamp (zero point 0) */
  const qnpu_net_node_t *cv = &n.nodes[0];
  assert_int_equal(n.tensors[0].zero_point, 100 - 128);
  assert_int_equal(n.tensors[cv->out].zero_point, -128);
  assert_int_equal(cv->wzp, 131 - 128);
  for (int o = 0; o < 2; o++) /* OHWI with one input channel: the ONNX order, shifted by 128 */
    for (int k = 0; k < 9; k++) assert_int_equal(cv->wq[o * 9 + k], ((o * 9 + k) * 37) % 256 - 128);
  assert_int_equal(cv->bq[1], -70);
  for (int p = 0; p < 256; p++) /* raw pixels: float32(p) / 255-ish, then ONNX Runtime's QuantizeLinear */
    assert_int_equal(n.in_lut[p],
                     qnpu_golden_ort_quantize((float)p * n.in_scale + n.in_offset, 1.0f / 64, -28, -128, 127));
  assert_int_equal(qnpu_net_quantize_input(&n, 1.5f), 96 - 28); /* 1.5 * 64 = 96 */
  assert_int_equal(qnpu_net_quantize_input(&n, -1e9f), -128);
  qnpu_net_free(&n);

  write_qdq(f, "relu.onnx", 1);
  assert_int_equal(qnpu_onnx_load(f->path, &n, f->err, sizeof f->err), QNPU_ERR_UNSUPPORTED);
  assert_non_null(strstr(f->err,
                         "node relu (Relu): the following QuantizeLinear (scale 0.05, zero point -118) "
                         "does not make it redundant"));
  write_qdq(f, "fbias.onnx", 2);
  assert_int_equal(qnpu_onnx_load(f->path, &n, f->err, sizeof f->err), QNPU_ERR_UNSUPPORTED);
  assert_non_null(strstr(f->err, "node conv (Conv): input 2 'bf' is a float constant"));
  write_qdq(f, "add.onnx", 3);
  assert_int_equal(qnpu_onnx_load(f->path, &n, f->err, sizeof f->err), QNPU_ERR_UNSUPPORTED);
  assert_non_null(strstr(f->err, "node conv (Conv): its output must be read only by QuantizeLinear nodes"));
}

/* ---- the dataset reader --------------------------------------------------------------- */

static void write_idx(const char *path, qnpu_dtype_t dt, int ndim, const int64_t *shape, size_t count) {
  qnpu_tensor_t t = {.dtype = dt, .ndim = ndim, .count = count, .data = calloc(count, 4)};
  memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
  char err[256];
  assert_int_equal(qnpu_idx_write(path, &t, err, sizeof err), QNPU_OK);
  free(t.data);
}

static void test_dataset_errors(void **state) {
  fixture_t *f = *state;
  qnpu_dataset_t d;
  char p[160];
  const int64_t im[3] = {5, 3, 3}, lb4[1] = {4}, lb5[1] = {5}, im2[2] = {5, 9};
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", f->dir);
  write_idx(p, QNPU_DT_UINT8, 3, im, 45);
  assert_int_equal(qnpu_dataset_load(f->dir, "t10k", &d, f->err, sizeof f->err), QNPU_ERR_IO);
  assert_non_null(strstr(f->err, "t10k-labels-idx1-ubyte: cannot open"));
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", f->dir); /* plain, not gzipped, also reads */
  write_idx(p, QNPU_DT_UINT8, 1, lb4, 4);
  assert_int_equal(qnpu_dataset_load(f->dir, "t10k", &d, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "4 labels for 5 images"));
  write_idx(p, QNPU_DT_INT32, 1, lb5, 5);
  assert_int_equal(qnpu_dataset_load(f->dir, "t10k", &d, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "labels must be uint8 [n]"));
  write_idx(p, QNPU_DT_UINT8, 1, lb5, 5);
  assert_int_equal(qnpu_dataset_load(f->dir, "t10k", &d, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(d.n, 5);
  assert_int_equal(d.h, 3);
  assert_int_equal(d.classes, 1);
  qnpu_dataset_free(&d);
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", f->dir);
  write_idx(p, QNPU_DT_UINT8, 2, im2, 45);
  assert_int_equal(qnpu_dataset_load(f->dir, "t10k", &d, f->err, sizeof f->err), QNPU_ERR_FORMAT);
  assert_non_null(strstr(f->err, "images must be uint8 [n][h][w]"));
}

/* ---- the committed Fashion-MNIST model ------------------------------------------------------- */

/* qnpu's float path on the first 64 test images gives PyTorch's logits
 * (saved by tools/train_fmnist.py) to float32 accumulation-order noise. */
static void test_net_float_matches_pytorch(void **state) {
  fixture_t *f = *state;
  qnpu_dataset_t d;
  if (qnpu_dataset_load(QNPU_DATASET_DEFAULT_DIR, "t10k", &d, f->err, sizeof f->err)) skip();
  qnpu_net_t n;
  if (qnpu_onnx_load(MODEL_ONNX, &n, f->err, sizeof f->err)) fail_msg("%s", f->err);
  qnpu_npy_t ref;
  assert_int_equal(qnpu_npy_read(MODEL_REF, &ref, f->err, sizeof f->err), QNPU_OK);
  assert_int_equal(ref.dtype, QNPU_DT_FLOAT32);
  assert_int_equal(ref.shape[0], 64);
  assert_int_equal(ref.shape[1], n.classes);
  float *lg = malloc(64 * (size_t)n.classes * sizeof *lg);
  assert_int_equal(qnpu_net_float_run(&n, d.pixels, 64, lg, NULL, NULL, f->err, sizeof f->err), QNPU_OK);
  const float *want = ref.data;
  double worst = 0;
  for (size_t i = 0; i < 64 * (size_t)n.classes; i++) worst = fmax(worst, fabs((double)lg[i] - want[i]));
  if (worst > 1e-3) fail_msg("float path differs from PyTorch by %g", worst);
  for (int i = 0; i < 64; i++)
    assert_int_equal(qnpu_argmax_f32(lg + i * n.classes, n.classes), qnpu_argmax_f32(want + i * n.classes, n.classes));
  free(lg);
  qnpu_npy_free(&ref);
  qnpu_net_free(&n);
  qnpu_dataset_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_net_check_names_the_bad_node, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_ptq_known_answer, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_ptq_bias_correction_conv_padding, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_ptq_structure, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_netfile_round_trip, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_netfile_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_net_model_equals_golden, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_net_run_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_onnx_import_and_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_onnx_qoperator, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_onnx_qdq_uint8, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_dataset_errors, setup, test_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_net_float_matches_pytorch, setup, test_fixture_teardown),
  };
  return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
