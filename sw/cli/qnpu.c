/* qnpu.c - the qnpu command-line tool: a table of subcommands over the
 * backend table (qnpu_backend.h). Each subcommand builds a layer and hands
 * it to run_and_report(), which runs it, compares it bit for bit and
 * prints the one report (text or JSON) that every subcommand shares.
 *
 * Exit status: 0 success (bit-exact), 1 mismatch, 2 bad input or usage (a
 * malformed case, a layer the hardware cannot run, a missing backend),
 * 3 the hardware reported an error or did not finish. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "layer_case.h"
#include "qnpu_backend.h"

#define MAX_REPORTED_MISMATCHES 10

static int usage_error(const subcmd_t *sc, const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "qnpu %s: ", sc->name);
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, " (see qnpu %s --help)\n", sc->name);
  return EXIT_BADINPUT;
}

/* The options every subcommand parses: flags set an int, valued options
 * a string, a count or the precision. */
typedef enum { OPT_FLAG, OPT_STR, OPT_COUNT, OPT_PREC } opt_kind_t;
static const struct {
  const char *name, *alias;
  opt_kind_t kind;
  size_t off;
} kOptions[] = {
    {"--json", NULL, OPT_FLAG, offsetof(opts_t, json)},
    {"--check", NULL, OPT_FLAG, offsetof(opts_t, check)},
    {"--progress", NULL, OPT_FLAG, offsetof(opts_t, progress)},
    {"--no-bias-correction", NULL, OPT_FLAG, offsetof(opts_t, no_bias_correction)},
    {"--int8-ends", NULL, OPT_FLAG, offsetof(opts_t, int8_ends)},
    {"--backend", NULL, OPT_STR, offsetof(opts_t, backend)},
    {"--trace", NULL, OPT_STR, offsetof(opts_t, trace)},
    {"--faults", NULL, OPT_STR, offsetof(opts_t, faults)},
    {"--out", "-o", OPT_STR, offsetof(opts_t, out_path)},
    {"--device", NULL, OPT_STR, offsetof(opts_t, device)},
    {"--calib", NULL, OPT_STR, offsetof(opts_t, calib)},
    {"--data", NULL, OPT_STR, offsetof(opts_t, data)},
    {"--weights", NULL, OPT_STR, offsetof(opts_t, weights)},
    {"--input", NULL, OPT_STR, offsetof(opts_t, input)},
    {"--output", NULL, OPT_STR, offsetof(opts_t, output)},
    {"--dump-dir", NULL, OPT_STR, offsetof(opts_t, dump_dir)},
    {"--seed", NULL, OPT_COUNT, offsetof(opts_t, seed)},
    {"--images", NULL, OPT_COUNT, offsetof(opts_t, images)},
    {"--offset", NULL, OPT_COUNT, offsetof(opts_t, offset)},
    {"--batch", NULL, OPT_COUNT, offsetof(opts_t, batch)},
    {"--calib-images", NULL, OPT_COUNT, offsetof(opts_t, calib_images)},
    {"--precision", NULL, OPT_PREC, offsetof(opts_t, prec)},
};
#define N_OPTIONS (sizeof kOptions / sizeof *kOptions)

/* Parses argv into o; returns -1 to go on, else an exit status. */
static int parse_opts(const subcmd_t *sc, int argc, char **argv, opts_t *o) {
  memset(o, 0, sizeof *o);
  o->backend = "golden";
  o->seed = 1;
  o->prec = QNPU_PREC_W8A8;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(sc->help, stdout);
      return EXIT_MATCH;
    }
    size_t k = 0;
    for (; k < N_OPTIONS; k++) {
      const char *name = kOptions[k].name;
      const size_t n = strlen(name);
      if (!strcmp(a, name) || (kOptions[k].alias && !strcmp(a, kOptions[k].alias))) {
        if (kOptions[k].kind == OPT_FLAG) break;
        if (i + 1 >= argc) return usage_error(sc, "%s needs a value%s", a, "");
        val = argv[++i];
        break;
      }
      if (kOptions[k].kind != OPT_FLAG && !strncmp(a, name, n) && a[n] == '=') {
        val = a + n + 1;
        break;
      }
    }
    if (k < N_OPTIONS) {
      void *field = (char *)o + kOptions[k].off;
      const char *name = kOptions[k].name;
      char *end;
      switch (kOptions[k].kind) {
        case OPT_FLAG:
          *(int *)field = 1;
          break;
        case OPT_STR:
          *(const char **)field = val;
          if (!strcmp(name, "--backend")) o->backend_set = 1;
          break;
        case OPT_COUNT:
          *(uint64_t *)field = strtoull(val, &end, 10);
          if (!*val || *end || *val == '-')
            return usage_error(sc, "%s wants a non-negative integer, not '%s'", name, val);
          break;
        case OPT_PREC:
          if (qnpu_prec_parse(val, field))
            return usage_error(sc, "unknown precision '%s' (w8a8, w4a8 or w4a4)%s", val, "");
          break;
      }
      continue;
    }
    if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) return usage_error(sc, "unknown option '%s'%s", a, "");
    if (o->npos >= sc->max_pos) {
      if (sc->max_pos == 1) {
        fprintf(stderr, "qnpu %s: more than one %s ('%s', '%s')\n", sc->name, sc->pos_name, o->positional[0], a);
        return EXIT_BADINPUT;
      }
      return usage_error(sc, "unexpected argument '%s'%s", a, "");
    }
    o->positional[o->npos++] = a;
  }
  if (o->npos < sc->min_pos) {
    fprintf(stderr, "qnpu %s: missing %s\n\n", sc->name, sc->min_pos == 1 ? sc->pos_name : "arguments");
    fputs(sc->help, stderr);
    return EXIT_BADINPUT;
  }
  return -1;
}

void cli_print_json(cJSON *j) {
  char *t = cJSON_PrintUnformatted(j);
  if (t) puts(t);
  free(t);
  cJSON_Delete(j);
}

void cli_energy_json(cJSON *j, const char *key, const qnpu_energy_t *e, double per) {
  cJSON *o = cJSON_AddObjectToObject(j, key);
  cJSON_AddNumberToObject(o, "total_pj", e->total / per);
  cJSON_AddNumberToObject(o, "mac_pj", e->mac / per);
  cJSON_AddNumberToObject(o, "spad_pj", e->spad / per);
  cJSON_AddNumberToObject(o, "acc_pj", e->acc / per);
  cJSON_AddNumberToObject(o, "requant_pj", e->requant / per);
  cJSON_AddNumberToObject(o, "dram_pj", e->dram / per);
}

void cli_energy_str(char *buf, size_t len, const qnpu_energy_t *e, double per) {
  const double t = e->total > 0 ? e->total : 1.0;
  snprintf(buf, len, "%.1f nJ (MACs %.0f%%, scratchpads %.0f%%, accumulators %.0f%%, requantization %.0f%%, DRAM %.0f%%)",
           e->total / per / 1000.0, 100.0 * e->mac / t, 100.0 * e->spad / t, 100.0 * e->acc / t,
           100.0 * e->requant / t, 100.0 * e->dram / t);
}

int cli_error(int json, const char *key, const char *name, const char *backend, const char *msg, int code) {
  if (json) {
    cJSON *j = cJSON_CreateObject();
    if (key) cJSON_AddStringToObject(j, key, name ? name : "");
    if (backend) cJSON_AddStringToObject(j, "backend", backend);
    cJSON_AddStringToObject(j, "error", msg);
    cJSON_AddNumberToObject(j, "exit", code);
    cli_print_json(j);
  } else {
    fprintf(stderr, "qnpu: %s\n", msg);
  }
  return code;
}

int cli_exit_of(int status) { return status == QNPU_ERR_HW || status == QNPU_ERR_TIMEOUT ? EXIT_HW : EXIT_BADINPUT; }

/* ---- the one report --------------------------------------------------------------- */

typedef struct {
  const char *name, *dir;
  const qnpu_layer_t *l;
  int rank;
  int64_t shape[4];        /* output shape, for coordinates */
  const int32_t *expected; /* NULL: nothing to compare      */
  const char *out_path;
} subject_t;

static void coords(const subject_t *s, size_t flat, int64_t *idx) {
  for (int d = s->rank - 1; d >= 0; d--) {
    idx[d] = (int64_t)(flat % (size_t)s->shape[d]);
    flat /= (size_t)s->shape[d];
  }
}

static void coords_str(const subject_t *s, size_t flat, char *buf, size_t len) {
  int64_t idx[4];
  coords(s, flat, idx);
  int k = snprintf(buf, len, "[");
  for (int d = 0; d < s->rank && k > 0 && (size_t)k < len; d++)
    k += snprintf(buf + k, len - (size_t)k, "%s%lld", d ? ", " : "", (long long)idx[d]);
  if (k > 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, "]");
}

/* The layer subcommands' error report: {"case": name, "error": ...}. */
static int report_error(int json, const subject_t *s, const char *backend, const char *msg, int code) {
  return cli_error(json, "case", s ? s->name : NULL, backend, msg, code);
}

static const char *requant_name(const qnpu_layer_t *l) { return qnpu_case_requant_name(l->rq.mode); }

int cli_open(const opts_t *o, qnpu_session_t **sess, char *msg, size_t len) {
  char names[64];
  int known;
  *sess = NULL;
  const qnpu_backend_t *be = qnpu_backend_find(o->backend, &known);
  if (!be) {
    snprintf(
        msg, len,
        known ? "backend '%s' is not built into this binary (available: %s)" : "unknown backend '%s' (available: %s)",
        o->backend, qnpu_backend_names(names, sizeof names));
    return EXIT_BADINPUT;
  }
  if ((o->trace || o->faults) && strcmp(be->name, "sim") != 0) {
    snprintf(msg, len, "%s needs --backend sim", o->trace ? "--trace" : "--faults");
    return EXIT_BADINPUT;
  }
  const qnpu_backend_config_t cfg = {.trace_path = o->trace, .device = o->device, .faults = o->faults};
  const qnpu_status_t st = qnpu_session_open(be, &cfg, sess, msg, len);
  return st ? (st == QNPU_ERR_HW ? EXIT_HW : EXIT_BADINPUT) : -1;
}

/* Runs s->l on the backend of o, compares, reports. */
static int run_and_report(const opts_t *o, const subject_t *s) {
  char msg[1600];
  qnpu_session_t *sess;
  const int rc = cli_open(o, &sess, msg, sizeof msg);
  if (rc >= 0) return report_error(o->json, s, o->backend, msg, rc);
  const qnpu_backend_t *be = qnpu_session_backend(sess);
  qnpu_status_t st;
  const size_t n = qnpu_layer_out_count(s->l);
  int32_t *out = malloc((n ? n : 1) * sizeof *out);
  qnpu_rt_stats_t rs;
  memset(&rs, 0, sizeof rs);
  if (!out)
    st = QNPU_ERR_NOMEM, snprintf(msg, sizeof msg, "out of memory for the output tensor");
  else
    st = qnpu_session_run(sess, s->l, NULL, out, &rs, msg, sizeof msg);
  qnpu_dev_info_t info;
  const int has_dev = qnpu_session_dev(sess) != NULL;
  if (has_dev) info = *qnpu_drv_info(qnpu_session_dev(sess));
  qnpu_session_close(sess);
  if (st) {
    free(out);
    return report_error(o->json, s, be->name, msg, cli_exit_of(st));
  }
  if (o->out_path) {
    const int wide = s->l->rq.mode == QNPU_REQUANT_NONE;
    void *buf = wide ? (void *)out : malloc(n ? n : 1);
    if (!wide && buf)
      for (size_t i = 0; i < n; i++) ((int8_t *)buf)[i] = (int8_t)out[i];
    st = buf ? qnpu_npy_write(o->out_path, wide ? QNPU_DT_INT32 : QNPU_DT_INT8, s->rank, s->shape, buf, msg, sizeof msg)
             : QNPU_ERR_NOMEM;
    if (!wide) free(buf);
    if (st) {
      free(out);
      return report_error(o->json, s, be->name, msg, EXIT_BADINPUT);
    }
  }
  size_t mismatches = 0, shown = 0, first[MAX_REPORTED_MISMATCHES];
  for (size_t i = 0; s->expected && i < n; i++)
    if (out[i] != s->expected[i]) {
      if (shown < MAX_REPORTED_MISMATCHES) first[shown++] = i;
      mismatches++;
    }
  const double peak = has_dev ? (double)qnpu_rt_peak_macs(&info, s->l->prec) : 0.0;
  const double util = rs.cycles ? (double)rs.macs / (peak * (double)rs.cycles) : 0.0;
  const double bw = has_dev ? (double)info.data_bytes : 16.0;
  double roof = peak > 0 && rs.min_bytes ? bw * (double)rs.macs / (double)rs.min_bytes / peak : 0.0;
  if (roof > 1.0) roof = 1.0;
  const uint64_t dram = (uint64_t)rs.rd_bytes + rs.wr_bytes;

  if (o->json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "case", s->name);
    if (s->dir) cJSON_AddStringToObject(j, "dir", s->dir);
    cJSON_AddStringToObject(j, "backend", be->name);
    cJSON_AddStringToObject(j, "op", qnpu_op_name(s->l->op));
    cJSON_AddStringToObject(j, "precision", qnpu_prec_name(s->l->prec));
    cJSON_AddStringToObject(j, "requant", requant_name(s->l));
    cJSON_AddNumberToObject(j, "elements", (double)n);
    cJSON_AddBoolToObject(j, "compared", s->expected != NULL);
    cJSON_AddNumberToObject(j, "mismatches", (double)mismatches);
    cJSON_AddBoolToObject(j, "bit_exact", s->expected && mismatches == 0);
    cJSON *arr = cJSON_AddArrayToObject(j, "first_mismatches");
    for (size_t k = 0; k < shown; k++) {
      cJSON *m = cJSON_CreateObject();
      int64_t idx[4];
      coords(s, first[k], idx);
      cJSON *ia = cJSON_AddArrayToObject(m, "index");
      for (int d = 0; d < s->rank; d++) cJSON_AddItemToArray(ia, cJSON_CreateNumber((double)idx[d]));
      cJSON_AddNumberToObject(m, "got", out[first[k]]);
      cJSON_AddNumberToObject(m, "expected", s->expected[first[k]]);
      cJSON_AddItemToArray(arr, m);
    }
    if (o->out_path)
      cJSON_AddStringToObject(j, "out", o->out_path);
    else
      cJSON_AddNullToObject(j, "out");
    cJSON_AddNumberToObject(j, "macs", (double)rs.macs);
    if (has_dev) {
      if (rs.cycles) {
        cJSON_AddNumberToObject(j, "cycles", (double)rs.cycles);
        cJSON_AddNumberToObject(j, "utilization", util);
      } else { /* the fast model has no time */
        cJSON_AddNullToObject(j, "cycles");
        cJSON_AddNullToObject(j, "utilization");
      }
      cJSON_AddNumberToObject(j, "roofline_bound", roof);
      cJSON_AddNumberToObject(j, "dram_bytes", (double)dram);
      cJSON_AddNumberToObject(j, "min_dram_bytes", (double)rs.min_bytes);
      cJSON_AddNumberToObject(j, "issued_macs", (double)rs.issued_macs);
      cJSON_AddNumberToObject(j, "est_cycles", (double)rs.est_cycles);
      cli_energy_json(j, "energy", &rs.energy, 1.0);
      cJSON *cf = cJSON_AddObjectToObject(j, "config");
      cJSON_AddNumberToObject(cf, "rows", info.rows);
      cJSON_AddNumberToObject(cf, "cols", info.cols);
      cJSON_AddNumberToObject(cf, "acc_depth", info.acc_depth);
      cJSON_AddNumberToObject(cf, "act_rows", info.act_rows);
      cJSON_AddNumberToObject(cf, "wgt_rows", info.wgt_rows);
      cJSON_AddNumberToObject(cf, "out_rows", info.out_rows);
      cJSON_AddNumberToObject(cf, "dram_bytes_per_cycle", info.data_bytes);
      cJSON_AddNumberToObject(cf, "cols_per_requant_unit", info.req_share);
      cJSON_AddNumberToObject(cf, "peak_macs_per_cycle", peak);
      cJSON *pl = cJSON_AddObjectToObject(j, "plan");
      cJSON_AddNumberToObject(pl, "tile_oh", rs.tile_oh);
      cJSON_AddNumberToObject(pl, "tile_ow", rs.tile_ow);
      cJSON_AddNumberToObject(pl, "channel_tiles", rs.channel_tiles);
      cJSON_AddNumberToObject(pl, "pieces", rs.pieces);
      cJSON_AddNumberToObject(pl, "steps", rs.steps);
      cJSON_AddNumberToObject(pl, "commands", rs.commands);
      cJSON_AddBoolToObject(pl, "weights_resident", rs.weights_resident);
      cJSON_AddBoolToObject(pl, "taps_packed", rs.taps_packed);
    } else {
      cJSON_AddNullToObject(j, "cycles");
      cJSON_AddNullToObject(j, "utilization");
    }
    cli_print_json(j);
  } else {
    printf("case %s: %s %s, requant %s, backend %s, %zu output elements\n", s->name, qnpu_op_name(s->l->op),
           qnpu_prec_name(s->l->prec), requant_name(s->l), be->name, n);
    if (has_dev) {
      printf("array %ux%u: %llu MACs", info.rows, info.cols, (unsigned long long)rs.macs);
      if (rs.cycles)
        printf(" in %llu cycles, utilization %.1f%% (roofline bound %.1f%%), %llu DRAM bytes",
               (unsigned long long)rs.cycles, 100.0 * util, 100.0 * roof, (unsigned long long)dram);
      else
        printf(", %llu DRAM bytes (the fast model counts no cycles)", (unsigned long long)dram);
      char en[192];
      cli_energy_str(en, sizeof en, &rs.energy, 1.0);
      printf("\nenergy (Horowitz 45 nm estimate, docs/energy.md): %s", en);
      printf("\nplan: %ux%u-pixel tiles, %u channel tiles, %u pieces, %u COMPUTEs, %u commands%s%s\n", rs.tile_oh,
             rs.tile_ow, rs.channel_tiles, rs.pieces, rs.steps, rs.commands,
             rs.weights_resident ? ", weights resident" : "", rs.taps_packed ? ", taps packed into channels" : "");
    }
    if (o->trace) printf("wrote %s\n", o->trace);
    if (o->out_path) printf("wrote %s\n", o->out_path);
    if (!s->expected) {
      printf("no expected output: nothing to compare\n");
    } else if (!mismatches) {
      printf("match: %zu/%zu\n", n, n);
    } else {
      printf("MISMATCH: %zu of %zu elements differ; first %zu:\n", mismatches, n, shown);
      for (size_t k = 0; k < shown; k++) {
        char where[96];
        coords_str(s, first[k], where, sizeof where);
        printf("  %s: got %d, expected %d\n", where, out[first[k]], s->expected[first[k]]);
      }
    }
  }
  free(out);
  return mismatches ? EXIT_MISMATCH : EXIT_MATCH;
}

/* ---- qnpu layer ---------------------------------------------------------------------- */

static const char kLayerHelp[] =
    "usage: qnpu layer CASE_DIR [--backend NAME] [--trace FILE.fst] [--out OUT.npy] [--json]\n"
    "\n"
    "Runs the layer described by CASE_DIR (layer.json + .npy tensors, see\n"
    "docs/layer-case.md). When CASE_DIR/expected.npy exists the result is\n"
    "compared bit for bit: prints 'match: N/N' or the first mismatching\n"
    "elements with their coordinates. On a device backend it also prints the\n"
    "cycles, the utilization of the array and the roofline bound.\n"
    "\n"
    "options:\n"
    "  --backend NAME   golden (the C golden model; default), model (the fast\n"
    "                   functional model), sim (the cycle-accurate Verilated RTL),\n"
    "                   mmio (real hardware, --device /dev/uioN)\n"
    "  --trace FILE.fst write an FST waveform (sim only)\n"
    "  --faults SPEC    inject memory faults (sim only): seed=S,jitter=CYCLES,\n"
    "                   throttle=PCT,stall=CYCLES@PPM,error-beat=N,error-ppm=PPM\n"
    "  --out FILE.npy   write the output tensor (int8, or int32 for raw output)\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 bit-exact (or nothing to compare), 1 mismatch,\n"
    "2 bad input (malformed case, unknown option or backend, a layer the\n"
    "hardware cannot run), 3 hardware error or timeout.\n";

static int cmd_layer(const opts_t *o) {
  const char *dir = o->positional[0];
  char msg[1600];
  qnpu_case_t c;
  subject_t s = {.name = dir, .dir = dir};
  if (qnpu_case_load(dir, &c, msg, sizeof msg)) {
    qnpu_case_free(&c);
    return report_error(o->json, &s, o->backend, msg, EXIT_BADINPUT);
  }
  const qnpu_layer_t l = qnpu_case_layer(&c);
  s.name = c.name;
  s.l = &l;
  s.rank = c.rank;
  memcpy(s.shape, c.output_shape, sizeof s.shape);
  s.out_path = o->out_path;
  int32_t *exp = NULL;
  const size_t n = qnpu_layer_out_count(&l);
  if (c.expected.data) {
    exp = malloc((n ? n : 1) * sizeof *exp);
    if (!exp) {
      qnpu_case_free(&c);
      return report_error(o->json, &s, o->backend, "out of memory", EXIT_BADINPUT);
    }
    for (size_t i = 0; i < n; i++) exp[i] = qnpu_case_expected_at(&c, i);
  }
  s.expected = exp;
  const int rc = run_and_report(o, &s);
  free(exp);
  qnpu_case_free(&c);
  return rc;
}

/* ---- qnpu gemm ----------------------------------------------------------------------- */

static const char kGemmHelp[] =
    "usage: qnpu gemm M K N [--precision w8a8|w4a8|w4a4] [--seed S] [--backend NAME] [--json]\n"
    "\n"
    "Runs a random quantized GEMM out[M][N] = requant(A[M][K] x B[K][N] + bias)\n"
    "(random input zero point, per-channel multipliers and shifts) on the\n"
    "backend and checks it bit for bit against the golden model. The same\n"
    "seed gives the same operands on every backend.\n"
    "\n"
    "options:\n"
    "  --precision P    w8a8 (default), w4a8 or w4a4\n"
    "  --seed S         operand seed (default 1)\n"
    "  --backend NAME   golden, model, sim (default golden), mmio\n"
    "  --trace FILE.fst write an FST waveform (sim only)\n"
    "  --faults SPEC    inject memory faults (sim only): seed=S,jitter=CYCLES,\n"
    "                   throttle=PCT,stall=CYCLES@PPM,error-beat=N,error-ppm=PPM\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 bit-exact, 1 mismatch, 2 bad input, 3 hardware error.\n";

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int32_t rng_range(uint64_t *s, int32_t lo, int32_t hi) {
  return lo + (int32_t)(rng_next(s) % (uint64_t)((int64_t)hi - lo + 1));
}

static int parse_dim(const char *s, int32_t *v) {
  char *end;
  const long x = strtol(s, &end, 10);
  if (!*s || *end || x < 1 || x > (1 << 20)) return -1;
  *v = (int32_t)x;
  return 0;
}

static int cmd_gemm(const opts_t *o) {
  int32_t m, k, n;
  char msg[256], name[96];
  for (int i = 0; i < 3; i++)
    if (parse_dim(o->positional[i], i == 0 ? &m : i == 1 ? &k : &n)) {
      snprintf(msg, sizeof msg, "gemm: %s is not a dimension (an integer from 1 to 1048576)", o->positional[i]);
      return report_error(o->json, NULL, o->backend, msg, EXIT_BADINPUT);
    }
  if ((uint64_t)m * (uint64_t)k > (1u << 26) || (uint64_t)k * (uint64_t)n > (1u << 26) ||
      (uint64_t)m * (uint64_t)n > (1u << 26))
    return report_error(o->json, NULL, o->backend, "gemm: operands over 64 Mi elements", EXIT_BADINPUT);
  const qnpu_prec_info_t *pi = qnpu_prec_info(o->prec);
  const int32_t alo = -(1 << (pi->input_bits - 1)), ahi = -alo - 1, wlo = -(1 << (pi->weight_bits - 1)), whi = -wlo - 1,
                olo = -(1 << (pi->output_bits - 1)), ohi = -olo - 1;
  int8_t *a = malloc((size_t)m * k), *bt = malloc((size_t)n * k);
  int32_t *bias = malloc((size_t)n * 4), *m0 = malloc((size_t)n * 4), *sh = malloc((size_t)n * 4),
          *exp = malloc((size_t)m * n * 4);
  int rc = EXIT_BADINPUT;
  if (!a || !bt || !bias || !m0 || !sh || !exp) {
    report_error(o->json, NULL, o->backend, "gemm: out of memory", EXIT_BADINPUT);
    goto done;
  }
  uint64_t r = o->seed;
  for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (int8_t)rng_range(&r, alo, ahi);
  for (size_t i = 0; i < (size_t)n * k; i++) bt[i] = (int8_t)rng_range(&r, wlo, whi);
  /* Multipliers scaled so that the outputs spread over the range: the
   * accumulator's spread grows with sqrt(K) x the operand ranges. */
  int log2k = 0;
  while ((1 << log2k) < k) log2k++;
  const int spread = (pi->input_bits + pi->weight_bits - 2) + log2k / 2 - (pi->output_bits - 1);
  for (int32_t j = 0; j < n; j++) {
    bias[j] = rng_range(&r, -(1 << 12), 1 << 12);
    m0[j] = rng_range(&r, 1 << 30, INT32_MAX);
    sh[j] = -spread - rng_range(&r, 0, 1);
    if (sh[j] < -31) sh[j] = -31;
  }
  qnpu_layer_t l = qnpu_layer_fully_connected(o->prec, m, k, n, a, bt, bias);
  l.p.input_zero_point = rng_range(&r, alo, ahi);
  l.rq = (qnpu_requant_t){.mode = QNPU_REQUANT_TFLITE_Q31,
                          .per_channel = 1,
                          .multiplier = m0,
                          .shift = sh,
                          .output_zero_point = rng_range(&r, olo / 2, ohi / 2),
                          .act_min = olo,
                          .act_max = ohi};
  if (qnpu_layer_golden(&l, exp)) {
    report_error(o->json, NULL, o->backend, "gemm: the golden model rejected the operands", EXIT_BADINPUT);
    goto done;
  }
  snprintf(name, sizeof name, "gemm_%dx%dx%d_%s_seed%llu", m, k, n, pi->name, (unsigned long long)o->seed);
  const subject_t s = {.name = name, .l = &l, .rank = 2, .shape = {m, n}, .expected = exp};
  rc = run_and_report(o, &s);
done:
  free(a), free(bt), free(bias), free(m0), free(sh), free(exp);
  return rc;
}

/* ---- qnpu backends ------------------------------------------------------------------- */

static const char kBackendsHelp[] =
    "usage: qnpu backends\n"
    "\n"
    "Lists the backends of this binary.\n";

static int cmd_backends(const opts_t *o) {
  (void)o;
  const qnpu_backend_t *be;
  for (size_t i = 0; qnpu_backend_entry(i, &be); i++)
    printf("  %-8s %s\n", qnpu_backend_entry(i, NULL), be ? be->help : "(not built into this binary)");
  return EXIT_MATCH;
}

/* ---- main ------------------------------------------------------------------------------ */

static const subcmd_t kCommands[] = {
    {"layer", "run one layer case and compare it with its expected output", kLayerHelp, 1, 1, "CASE_DIR", cmd_layer},
    {"gemm", "run a random GEMM and check it against the golden model", kGemmHelp, 3, 3, "M K N", cmd_gemm},
    {"quantize", "quantize a float ONNX model (post-training, calibrated) into a .qnpu model", kQuantizeHelp, 1, 1,
     "MODEL.onnx", cmd_quantize},
    {"import", "import a quantized ONNX model (QDQ or QOperator) into a .qnpu model", kImportHelp, 1, 1, "MODEL.onnx",
     cmd_import},
    {"net", "run a network on a dataset or given inputs: accuracy, per-layer cycles, bit-exact check", kNetHelp, 1, 1,
     "MODEL", cmd_net},
    {"backends", "list the backends of this binary", kBackendsHelp, 0, 0, "", cmd_backends},
};

static void main_help(FILE *f) {
  fputs("usage: qnpu COMMAND [ARGS]\n\nqnpu runs quantized int8/int4 neural-network layers bit-exactly.\n\ncommands:\n",
        f);
  for (size_t i = 0; i < sizeof kCommands / sizeof *kCommands; i++)
    fprintf(f, "  %-16s %s\n", kCommands[i].name, kCommands[i].summary);
  fputs(
      "\noptions:\n  -h, --help       show this help (also: qnpu COMMAND --help)\n"
      "  --version        print the version\n\n"
      "Exit status: 0 ok, 1 mismatch, 2 bad input or usage, 3 hardware error.\n",
      f);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    main_help(stderr);
    return EXIT_BADINPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    main_help(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("qnpu %s\n", QNPU_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof kCommands / sizeof *kCommands; i++)
    if (!strcmp(cmd, kCommands[i].name)) {
      opts_t o;
      const int rc = parse_opts(&kCommands[i], argc - 2, argv + 2, &o);
      return rc >= 0 ? rc : kCommands[i].run(&o);
    }
  fprintf(stderr, "qnpu: unknown command '%s' (see qnpu --help)\n", cmd);
  return EXIT_BADINPUT;
}
