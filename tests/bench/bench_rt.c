/* bench_rt.c - make bench: the runtime on the cycle-accurate simulator (the
 * fast Verilated build) and on the fast functional model. Every run is
 * checked bit for bit against the golden model. Writes one JSON document
 * (tools/bench_report.py turns it into report.md, CSV and plots):
 *
 *   gemm       M = K = N in {64 ... 1024}, W8A8 and W4A4
 *   resnet18   the 20 conv layers of ResNet-18 at 224x224, batch 1, random
 *              weights, chained: each layer's input is the golden model's
 *              output of the layer before it (after conv1, the golden
 *              3x3/2 max pool; a downsample conv takes its block's input;
 *              residual adds are left out), so that the layers can run in
 *              parallel simulator instances
 *   mobilenet  the 27 conv layers of MobileNet-v1 (224x224, alpha 1)
 *   model      the ResNet-18 stack again on the fast model, five times, for its
 *              speed (the median run)
 *
 *   bench_rt --json FILE [--jobs J] [--quick] [--model-only]
 *   bench_rt --json FILE --stack w8a8|w4a4 [--jobs J]
 *
 * --stack runs only the ResNet-18 conv stack on the simulator, in that
 * precision (make sweep: one configuration's cycles, DRAM bytes and energy).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qnpu_backend.h"
#include "qnpu_energy.h"
#include "qnpu_golden.h"

typedef struct {
  const char *net, *name;
  qnpu_op_t op;
  qnpu_prec_t prec;
  int32_t h, w, c, o, k, stride, pad;
  int from;                    /* index of the layer whose output is the input; -1 random */
  int pool;                    /* 1: max pool 3x3/2 on that output first */
  /* filled in */
  qnpu_layer_t l;
  int8_t *in, *flt, *out_golden;
  int32_t *bias, *m0, *sh;
  int32_t *golden;             /* int32 outputs */
} job_t;

typedef struct {               /* one run's result */
  uint64_t cycles, macs, issued, dram, min_bytes, est;
  qnpu_energy_t energy;
  double wall, device_s;
  int ok;
  uint32_t tile_oh, tile_ow, ctiles, pieces, steps;
  int resident;
} res_t;

static int cmp_d(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (uint32_t)(rs >> 16);
}
static int32_t rr(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }

static int32_t out_dim(int32_t in, int32_t k, int32_t s, int32_t p) { return (in + 2 * p - k) / s + 1; }

/* Builds the layer of j with input `in` (owned by the caller). */
static void build(job_t *j, int8_t *in) {
  const qnpu_prec_info_t *pi = qnpu_prec_info(j->prec);
  const int32_t wl = -(1 << (pi->weight_bits - 1)), wh = -wl - 1, ol = -(1 << (pi->output_bits - 1)), oh = -ol - 1;
  const int dw = j->op == QNPU_OP_DEPTHWISE_CONV2D;
  const size_t nf = (size_t)j->o * (size_t)j->k * (size_t)j->k * (size_t)(dw ? 1 : j->c);
  j->in = in;
  j->flt = malloc(nf);
  j->bias = malloc((size_t)j->o * 4);
  j->m0 = malloc((size_t)j->o * 4);
  j->sh = malloc((size_t)j->o * 4);
  for (size_t i = 0; i < nf; i++) j->flt[i] = (int8_t)rr(wl, wh);
  const int32_t taps = (int32_t)(nf / (size_t)j->o);
  int lg = 0;
  while ((1 << lg) < taps) lg++;
  const int spread = pi->input_bits + pi->weight_bits - 2 + lg / 2 - (pi->output_bits - 1);
  for (int32_t i = 0; i < j->o; i++) {
    j->bias[i] = rr(-1000, 1000);
    j->m0[i] = rr(1 << 30, 0x7fffffff);
    j->sh[i] = -spread;
  }
  qnpu_layer_t *l = &j->l;
  memset(l, 0, sizeof *l);
  l->op = j->op;
  l->prec = j->prec;
  l->input = in;
  l->filter = j->flt;
  l->bias = j->bias;
  l->p = (qnpu_conv_params_t){.n = 1, .h = j->h, .w = j->w, .c = j->c, .out_c = j->o, .kh = j->k, .kw = j->k,
                              .stride_h = j->stride, .stride_w = j->stride, .dil_h = 1, .dil_w = 1,
                              .pad_top = j->pad, .pad_left = j->pad, .pad_bottom = j->pad, .pad_right = j->pad,
                              .groups = 1, .depth_multiplier = 1,
                              .input_zero_point = -(1 << (pi->input_bits - 1))};
  if (j->op == QNPU_OP_FULLY_CONNECTED) l->p.n = j->h, l->p.h = 1;
  const int32_t zp = ol;  /* ReLU: outputs from the zero point up */
  l->rq = (qnpu_requant_t){.mode = QNPU_REQUANT_TFLITE_Q31, .per_channel = 1, .multiplier = j->m0, .shift = j->sh,
                           .output_zero_point = zp, .act_min = zp, .act_max = oh};
}

static void golden(job_t *j) {
  const size_t n = qnpu_layer_out_count(&j->l);
  j->golden = malloc(n * 4);
  j->out_golden = malloc(n);
  if (qnpu_layer_golden(&j->l, j->golden)) {
    fprintf(stderr, "bench_rt: golden failed on %s %s\n", j->net, j->name);
    exit(2);
  }
  for (size_t i = 0; i < n; i++) j->out_golden[i] = (int8_t)j->golden[i];
}

/* The input of job i: random, the output of another, or its max pool. */
static int8_t *input_of(job_t *v, int i) {
  job_t *j = &v[i];
  const size_t n = (size_t)j->h * (size_t)j->w * (size_t)j->c;
  int8_t *in = malloc(n);
  if (j->from < 0) {
    const int32_t lo = -(1 << (qnpu_prec_info(j->prec)->input_bits - 1));
    for (size_t k = 0; k < n; k++) in[k] = (int8_t)rr(lo, -lo - 1);
    return in;
  }
  const job_t *src = &v[j->from];
  if (!j->pool) {
    memcpy(in, src->out_golden, n);
    return in;
  }
  const qnpu_pool_params_t pp = {.n = 1, .h = qnpu_layer_out_h(&src->l), .w = qnpu_layer_out_w(&src->l),
                                 .c = src->o, .kh = 3, .kw = 3, .stride_h = 2, .stride_w = 2, .pad_top = 1,
                                 .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .act_min = -128, .act_max = 127};
  if (qnpu_golden_max_pool(&pp, src->out_golden, in)) exit(2);
  return in;
}

/* ---- the networks ---------------------------------------------------------------- */

static qnpu_prec_t net_prec = QNPU_PREC_W8A8; /* the networks' precision (--stack) */

static int add(job_t *v, int n, const char *net, const char *name, qnpu_op_t op, int32_t h, int32_t c, int32_t o,
               int32_t k, int32_t s, int32_t p, int from, int pool) {
  v[n] = (job_t){.net = net, .name = name, .op = op, .prec = net_prec, .h = h, .w = h, .c = c, .o = o,
                 .k = k, .stride = s, .pad = p, .from = from, .pool = pool};
  return n + 1;
}

static int resnet18(job_t *v) {
  static char names[20][32];
  int n = 0;
  n = add(v, n, "resnet18", "conv1", QNPU_OP_CONV2D, 224, 3, 64, 7, 2, 3, -1, 0);
  int prev = 0, pool = 1, h = 56, c = 64;
  const int32_t widths[4] = {64, 128, 256, 512};
  for (int st = 0; st < 4; st++) {
    for (int b = 0; b < 2; b++) {
      const int32_t o = widths[st], s = (st > 0 && b == 0) ? 2 : 1, ho = s == 2 ? h / 2 : h;
      const int block_in = prev, block_pool = pool;
      snprintf(names[n], sizeof names[n], "layer%d.%d.conv1", st + 1, b);
      n = add(v, n, "resnet18", names[n], QNPU_OP_CONV2D, h, c, o, 3, s, 1, prev, pool);
      snprintf(names[n], sizeof names[n], "layer%d.%d.conv2", st + 1, b);
      n = add(v, n, "resnet18", names[n], QNPU_OP_CONV2D, ho, o, o, 3, 1, 1, n - 1, 0);
      const int conv2 = n - 1;
      if (s == 2) {
        snprintf(names[n], sizeof names[n], "layer%d.%d.downsample", st + 1, b);
        n = add(v, n, "resnet18", names[n], QNPU_OP_CONV2D, h, c, o, 1, 2, 0, block_in, block_pool);
      }
      prev = conv2, pool = 0, h = ho, c = o;
    }
  }
  return n;
}

static int mobilenet(job_t *v) {
  static char names[27][32];
  int n = 0;
  n = add(v, n, "mobilenet_v1", "conv1", QNPU_OP_CONV2D, 224, 3, 32, 3, 2, 1, -1, 0);
  static const int32_t cfg[13][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2},  {512, 1},
                                     {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  int32_t h = 112, c = 32;
  for (int i = 0; i < 13; i++) {
    const int32_t o = cfg[i][0], s = cfg[i][1];
    snprintf(names[n], sizeof names[n], "dw%d", i + 1);
    n = add(v, n, "mobilenet_v1", names[n], QNPU_OP_DEPTHWISE_CONV2D, h, c, c, 3, s, 1, n - 1, 0);
    h = out_dim(h, 3, s, 1);
    snprintf(names[n], sizeof names[n], "pw%d", i + 1);
    n = add(v, n, "mobilenet_v1", names[n], QNPU_OP_CONV2D, h, c, o, 1, 1, 0, n - 1, 0);
    c = o;
  }
  return n;
}

/* ---- running ----------------------------------------------------------------------- */

static qnpu_session_t *open_be(const char *name) {
  char err[512];
  qnpu_session_t *s;
  const qnpu_backend_t *be = qnpu_backend_find(name, NULL);
  if (!be || qnpu_session_open(be, NULL, &s, err, sizeof err)) {
    fprintf(stderr, "bench_rt: cannot open backend %s: %s\n", name, be ? err : "not in this binary");
    exit(2);
  }
  return s;
}

static res_t run_one(qnpu_session_t *s, const job_t *j) {
  res_t r;
  memset(&r, 0, sizeof r);
  const size_t n = qnpu_layer_out_count(&j->l);
  int32_t *out = malloc(n * 4);
  qnpu_rt_stats_t st;
  char err[600];
  const double t0 = now();
  const qnpu_status_t e = qnpu_session_run(s, &j->l, NULL, out, &st, err, sizeof err);
  r.wall = now() - t0;
  if (e) {
    fprintf(stderr, "bench_rt: %s %s: %s\n", j->net, j->name, err);
  } else {
    r.ok = !memcmp(out, j->golden, n * 4);
    r.cycles = st.cycles, r.macs = st.macs, r.issued = st.issued_macs, r.dram = st.rd_bytes + st.wr_bytes;
    r.min_bytes = st.min_bytes, r.est = st.est_cycles, r.tile_oh = st.tile_oh, r.tile_ow = st.tile_ow;
    r.ctiles = st.channel_tiles, r.pieces = st.pieces, r.steps = st.steps, r.resident = st.weights_resident;
    r.device_s = st.device_s;
    r.energy = st.energy;
    if (!r.ok) fprintf(stderr, "bench_rt: %s %s: MISMATCH against the golden model\n", j->net, j->name);
  }
  free(out);
  return r;
}

/* Runs jobs[0..n) on `backend` in `jobs` forked instances (round robin);
 * res[i] gets the results. */
static void run_all(const char *backend, job_t *v, int n, int jobs, res_t *res, const char *what) {
  int fds[16][2];
  pid_t pid[16];
  if (jobs > 16) jobs = 16;
  if (jobs > n) jobs = n;
  for (int w = 0; w < jobs; w++) {
    if (pipe(fds[w])) exit(2);
    pid[w] = fork();
    if (pid[w] < 0) exit(2);
    if (!pid[w]) {
      close(fds[w][0]);
      qnpu_session_t *s = open_be(backend);
      for (int i = w; i < n; i += jobs) {
        res_t r = run_one(s, &v[i]);
        fprintf(stderr, "  %s %-13s %-24s %9llu cycles %6.2f s %s\n", what, v[i].net, v[i].name,
                (unsigned long long)r.cycles, r.wall, r.ok ? "bit-exact" : "FAILED");
        if (write(fds[w][1], &i, sizeof i) != sizeof i || write(fds[w][1], &r, sizeof r) != sizeof r) _exit(3);
      }
      qnpu_session_close(s);
      _exit(0);
    }
    close(fds[w][1]);
  }
  for (int w = 0; w < jobs; w++) {
    int i;
    res_t r;
    while (read(fds[w][0], &i, sizeof i) == sizeof i && read(fds[w][0], &r, sizeof r) == sizeof r)
      if (i >= 0 && i < n) res[i] = r;
    close(fds[w][0]);
    int status;
    waitpid(pid[w], &status, 0);
  }
}

static void emit(FILE *f, const job_t *j, const res_t *r, const qnpu_dev_info_t *in, int last) {
  const double peak = (double)qnpu_rt_peak_macs(in, j->prec);
  double roof = (double)in->data_bytes * (double)r->macs / (double)(r->min_bytes ? r->min_bytes : 1) / peak;
  if (roof > 1) roof = 1;
  fprintf(f,
          "    {\"net\": \"%s\", \"name\": \"%s\", \"op\": \"%s\", \"precision\": \"%s\", \"h\": %d, \"w\": %d, "
          "\"c\": %d, \"o\": %d, \"k\": %d, \"stride\": %d, \"pad\": %d, \"macs\": %llu, \"issued_macs\": %llu, "
          "\"cycles\": %llu, \"est_cycles\": %llu, \"utilization\": %.6f, \"roofline_bound\": %.6f, "
          "\"dram_bytes\": %llu, \"min_dram_bytes\": %llu, \"dram_bytes_per_mac\": %.6f, \"wall_s\": %.4f, "
          "\"energy_pj\": %.1f, \"bit_exact\": %s, \"plan\": {\"tile_oh\": %u, \"tile_ow\": %u, \"channel_tiles\": %u, \"pieces\": %u, "
          "\"steps\": %u, \"weights_resident\": %s}}%s\n",
          j->net, j->name, qnpu_op_name(j->op), qnpu_prec_name(j->prec), j->h, j->w, j->c, j->o, j->k, j->stride,
          j->pad, (unsigned long long)r->macs, (unsigned long long)r->issued, (unsigned long long)r->cycles,
          (unsigned long long)r->est, r->cycles ? (double)r->macs / (peak * (double)r->cycles) : 0.0, roof,
          (unsigned long long)r->dram, (unsigned long long)r->min_bytes,
          r->macs ? (double)r->dram / (double)r->macs : 0.0, r->wall, r->energy.total, r->ok ? "true" : "false",
          r->tile_oh,
          r->tile_ow, r->ctiles, r->pieces, r->steps, r->resident ? "true" : "false", last ? "" : ",");
}

/* --stack: the ResNet-18 conv stack on sim in net_prec, one JSON document. */
static int run_stack(const char *json, int jobs) {
  qnpu_session_t *probe = open_be("sim");
  const qnpu_dev_info_t info = *qnpu_drv_info(qnpu_session_dev(probe));
  qnpu_session_close(probe);
  static job_t rn[20];
  static res_t rr_[20];
  const int nr = resnet18(rn);
  for (int i = 0; i < nr; i++) build(&rn[i], input_of(rn, i)), golden(&rn[i]);
  const double t0 = now();
  run_all("sim", rn, nr, jobs, rr_, "sim");
  const double wall = now() - t0;
  uint64_t cycles = 0, macs = 0, dram = 0;
  qnpu_energy_t e = {0};
  int ok = 1;
  for (int i = 0; i < nr; i++) {
    cycles += rr_[i].cycles, macs += rr_[i].macs, dram += rr_[i].dram;
    qnpu_energy_add(&e, &rr_[i].energy);
    ok &= rr_[i].ok;
  }
  FILE *f = fopen(json, "w");
  if (!f) {
    perror(json);
    return 2;
  }
  fprintf(f, "{\n  \"config\": {\"rows\": %u, \"cols\": %u, \"acc_depth\": %u, \"act_rows\": %u, \"wgt_rows\": %u, "
             "\"out_rows\": %u, \"dram_bytes_per_cycle\": %u, \"int4\": %s},\n",
          info.rows, info.cols, info.acc_depth, info.act_rows, info.wgt_rows, info.out_rows, info.data_bytes,
          info.precisions & 4u ? "true" : "false");
  fprintf(f, "  \"precision\": \"%s\",\n  \"layers\": [\n", qnpu_prec_name(net_prec));
  for (int i = 0; i < nr; i++) emit(f, &rn[i], &rr_[i], &info, i == nr - 1);
  fprintf(f, "  ],\n  \"stack\": {\"layers\": %d, \"cycles\": %llu, \"macs\": %llu, \"utilization\": %.6f, "
             "\"dram_bytes\": %llu, \"energy_pj\": {\"total\": %.1f, \"mac\": %.1f, \"spad\": %.1f, \"acc\": %.1f, "
             "\"requant\": %.1f, \"dram\": %.1f}, \"wall_s\": %.2f, \"bit_exact\": %s}\n}\n",
          nr, (unsigned long long)cycles, (unsigned long long)macs,
          cycles ? (double)macs / ((double)qnpu_rt_peak_macs(&info, net_prec) * (double)cycles) : 0.0,
          (unsigned long long)dram, e.total, e.mac, e.spad, e.acc, e.requant, e.dram, wall, ok ? "true" : "false");
  fclose(f);
  fprintf(stderr, "bench_rt: ResNet-18 stack %s on %ux%u: %llu cycles, %.1f uJ, %s\n", qnpu_prec_name(net_prec),
          info.rows, info.cols, (unsigned long long)cycles, e.total / 1e6, ok ? "bit-exact" : "MISMATCH");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *json = NULL;
  int jobs = 2, quick = 0, model_only = 0;
  const char *stack = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!strcmp(argv[i], "--jobs") && i + 1 < argc) jobs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--model-only")) model_only = 1; /* for profiling the fast model */
    else if (!strcmp(argv[i], "--stack") && i + 1 < argc) stack = argv[++i];
    else {
      fprintf(stderr, "usage: %s --json FILE [--jobs J] [--quick] | --json FILE --stack w8a8|w4a4 [--jobs J]\n",
              argv[0]);
      return 2;
    }
  }
  if (stack) {
    if (qnpu_prec_parse(stack, &net_prec)) {
      fprintf(stderr, "bench_rt: --stack takes w8a8, w4a8 or w4a4, not '%s'\n", stack);
      return 2;
    }
    if (json) return run_stack(json, jobs);
  }
  if (!json || jobs < 1) {
    fprintf(stderr, "usage: %s --json FILE [--jobs J] [--quick]\n", argv[0]);
    return 2;
  }
  qnpu_session_t *probe = open_be("sim");
  const qnpu_dev_info_t info = *qnpu_drv_info(qnpu_session_dev(probe));
  qnpu_session_close(probe);

  /* GEMMs: fully-connected layers of batch M with B transposed */
  static job_t gemm[10];
  static char gnames[10][32];
  const int32_t sizes[5] = {64, 128, 256, 512, 1024};
  int ng = 0;
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < (quick ? 4 : 5); i++) {
      snprintf(gnames[ng], sizeof gnames[ng], "gemm%d", sizes[i]);
      gemm[ng] = (job_t){.net = "gemm", .name = gnames[ng], .op = QNPU_OP_FULLY_CONNECTED,
                         .prec = p ? QNPU_PREC_W4A4 : QNPU_PREC_W8A8, .h = sizes[i], .w = 1, .c = sizes[i],
                         .o = sizes[i], .k = 1, .stride = 1, .from = -1};
      ng++;
    }
  static job_t rn[20], mb[27];
  const int nr = resnet18(rn), nm = mobilenet(mb);
  double t0 = now();
  for (int i = 0; i < ng; i++) {
    const size_t n = (size_t)gemm[i].h * (size_t)gemm[i].c;
    int8_t *in = malloc(n);
    const int lo = gemm[i].prec == QNPU_PREC_W4A4 ? -8 : -128;
    for (size_t k = 0; k < n; k++) in[k] = (int8_t)rr(lo, -lo - 1);
    build(&gemm[i], in);
    gemm[i].l.p.input_zero_point = lo;
    gemm[i].l.rq.output_zero_point = gemm[i].l.rq.act_min = lo;
    gemm[i].l.rq.act_max = -lo - 1;
    golden(&gemm[i]);
  }
  for (int i = 0; i < nr; i++) build(&rn[i], input_of(rn, i)), golden(&rn[i]);
  for (int i = 0; i < nm; i++) build(&mb[i], input_of(mb, i)), golden(&mb[i]);
  const double golden_s = now() - t0;
  fprintf(stderr, "bench_rt: operands and golden outputs in %.1f s\n", golden_s);

  static res_t rg[10], rr_[20], rm[27], rf[20];
  if (model_only) {
    qnpu_session_t *s = open_be("model");
    t0 = now();
    for (int rep = 0; rep < 10; rep++) /* ten times: the profile is the model's */
      for (int i = 0; i < nr; i++) rf[i] = run_one(s, &rn[i]);
    fprintf(stderr, "bench_rt: ResNet-18 stack on the fast model in %.3f s\n", now() - t0);
    qnpu_session_close(s);
    return 0;
  }
  run_all("sim", gemm, ng, jobs, rg, "sim");
  t0 = now();
  run_all("sim", rn, nr, jobs, rr_, "sim");
  const double stack_wall = now() - t0;
  run_all("sim", mb, nm, jobs, rm, "sim");
  /* the fast model: the stack FM_RUNS times in one process, the median run */
  enum { FM_RUNS = 5 };
  double fm_runs[FM_RUNS], fm_devs[FM_RUNS];
  t0 = now();
  qnpu_session_t *fs = open_be("model");
  for (int k = 0; k < FM_RUNS; k++) {
    fm_runs[k] = fm_devs[k] = 0;
    for (int i = 0; i < nr; i++) {
      rf[i] = run_one(fs, &rn[i]);
      fm_runs[k] += rf[i].wall, fm_devs[k] += rf[i].device_s;
    }
  }
  qnpu_session_close(fs);
  const double model_wall = now() - t0;

  uint64_t stack_cycles = 0, sim_cycles = 0;
  double sim_wall = 0, sim_dev = 0;
  int all_ok = 1;
  for (int i = 0; i < nr; i++) {
    stack_cycles += rr_[i].cycles, sim_wall += rr_[i].wall;
    sim_dev += rr_[i].device_s;
    all_ok &= rr_[i].ok & rf[i].ok;
  }
  sim_cycles = stack_cycles;
  const double fm_wall = median(fm_runs, FM_RUNS), fm_dev = median(fm_devs, FM_RUNS);
  for (int i = 0; i < ng; i++) all_ok &= rg[i].ok;
  for (int i = 0; i < nm; i++) all_ok &= rm[i].ok;

  FILE *f = fopen(json, "w");
  if (!f) {
    perror(json);
    return 2;
  }
  fprintf(f, "{\n  \"config\": {\"rows\": %u, \"cols\": %u, \"acc_depth\": %u, \"act_rows\": %u, \"wgt_rows\": %u, "
             "\"out_rows\": %u, \"dram_bytes_per_cycle\": %u, \"dram_latency\": 64},\n",
          info.rows, info.cols, info.acc_depth, info.act_rows, info.wgt_rows, info.out_rows, info.data_bytes);
  fprintf(f, "  \"jobs\": %d,\n  \"golden_s\": %.3f,\n", jobs, golden_s);
  fprintf(f, "  \"layers\": [\n");
  for (int i = 0; i < ng; i++) emit(f, &gemm[i], &rg[i], &info, 0);
  for (int i = 0; i < nr; i++) emit(f, &rn[i], &rr_[i], &info, 0);
  for (int i = 0; i < nm; i++) emit(f, &mb[i], &rm[i], &info, i == nm - 1);
  fprintf(f, "  ],\n");
  fprintf(f, "  \"resnet18_stack\": {\"layers\": %d, \"cycles\": %llu, \"wall_s\": %.3f, \"instances\": %d, "
             "\"sim_cpu_s\": %.3f, \"sim_cycles_per_s\": %.1f},\n",
          nr, (unsigned long long)stack_cycles, stack_wall, jobs, sim_wall, (double)sim_cycles / sim_wall);
  fprintf(f, "  \"fast_model\": {\"runs\": %d, \"wall_s\": %.3f, \"run_s\": %.3f, \"equiv_cycles_per_s\": %.1f, "
             "\"speedup_vs_sim\": %.2f, \"device_s\": %.4f, \"sim_device_s\": %.3f, "
             "\"device_speedup_vs_sim\": %.2f},\n",
          FM_RUNS, model_wall, fm_wall, (double)sim_cycles / fm_wall, sim_wall / fm_wall, fm_dev, sim_dev, sim_dev / fm_dev);
  fprintf(f, "  \"all_bit_exact\": %s\n}\n", all_ok ? "true" : "false");
  fclose(f);
  fprintf(stderr, "bench_rt: ResNet-18 stack %llu cycles, %.1f s wall on %d instances; wrote %s\n",
          (unsigned long long)stack_cycles, stack_wall, jobs, json);
  return all_ok ? 0 : 1;
}
