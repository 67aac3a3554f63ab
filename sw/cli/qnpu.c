/* qnpu.c - the qnpu command-line tool.
 *
 *   qnpu layer CASE_DIR [--backend golden] [--out OUT.npy] [--json]
 *
 * Exit status: 0 success (bit-exact when expected.npy exists), 1 mismatch,
 * 2 bad input or usage. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_case.h"

#define QNPU_VERSION "0.1.0"
#define MAX_REPORTED_MISMATCHES 10

enum { EXIT_MATCH = 0, EXIT_MISMATCH = 1, EXIT_BADINPUT = 2 };

static const char kMainHelp[] =
    "usage: qnpu COMMAND [ARGS]\n"
    "\n"
    "qnpu runs quantized int8/int4 neural-network layers bit-exactly.\n"
    "\n"
    "commands:\n"
    "  layer CASE_DIR   run one layer case and compare it with its expected output\n"
    "\n"
    "options:\n"
    "  -h, --help       show this help (also: qnpu COMMAND --help)\n"
    "  --version        print the version\n"
    "\n"
    "Exit status: 0 ok, 1 mismatch, 2 bad input or usage.\n";

static const char kLayerHelp[] =
    "usage: qnpu layer CASE_DIR [--backend golden] [--out OUT.npy] [--json]\n"
    "\n"
    "Runs the layer described by CASE_DIR (layer.json + .npy tensors, see\n"
    "docs/layer-case.md). When CASE_DIR/expected.npy exists the result is\n"
    "compared bit for bit: prints 'match: N/N' or the first mismatching\n"
    "elements with their coordinates.\n"
    "\n"
    "options:\n"
    "  --backend NAME   where to run it: golden (the C golden model; default)\n"
    "  --out FILE.npy   write the output tensor (int8, or int32 for raw output)\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 bit-exact (or nothing to compare), 1 mismatch,\n"
    "2 bad input (malformed case, unknown option or backend).\n";

/* Prints {"case": ..., "error": msg} or "qnpu: msg" and returns 2. */
static int input_error(int json, const char *dir, const char *msg) {
  if (json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "case", dir);
    cJSON_AddStringToObject(j, "error", msg);
    char *s = cJSON_PrintUnformatted(j);
    if (s) puts(s);
    free(s);
    cJSON_Delete(j);
  } else {
    fprintf(stderr, "qnpu: %s\n", msg);
  }
  return EXIT_BADINPUT;
}

static void coords(const qnpu_case_t *c, size_t flat, int64_t *idx) {
  for (int d = c->rank - 1; d >= 0; d--) {
    idx[d] = (int64_t)(flat % (size_t)c->output_shape[d]);
    flat /= (size_t)c->output_shape[d];
  }
}

static void coords_str(const qnpu_case_t *c, size_t flat, char *buf, size_t len) {
  int64_t idx[4];
  coords(c, flat, idx);
  int k = snprintf(buf, len, "[");
  for (int d = 0; d < c->rank && k > 0 && (size_t)k < len; d++)
    k += snprintf(buf + k, len - (size_t)k, "%s%lld", d ? ", " : "", (long long)idx[d]);
  if (k > 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, "]");
}

static int32_t expected_at(const qnpu_case_t *c, size_t i) {
  return c->output_int32 ? ((const int32_t *)c->expected.data)[i]
                         : ((const int8_t *)c->expected.data)[i];
}

static int write_output(const qnpu_case_t *c, const int32_t *out, size_t n,
                        const char *path, char *err, size_t errlen) {
  if (c->output_int32)
    return qnpu_npy_write(path, QNPU_DT_INT32, c->rank, c->output_shape, out, err, errlen);
  int8_t *narrow = malloc(n ? n : 1);
  if (!narrow) {
    snprintf(err, errlen, "%s: out of memory", path);
    return QNPU_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) narrow[i] = (int8_t)out[i];
  const qnpu_status_t st =
      qnpu_npy_write(path, QNPU_DT_INT8, c->rank, c->output_shape, narrow, err, errlen);
  free(narrow);
  return st;
}

static int cmd_layer(int argc, char **argv) {
  const char *dir = NULL, *backend = "golden", *out_path = NULL;
  int json = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(kLayerHelp, stdout);
      return EXIT_MATCH;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--backend") || !strcmp(a, "--out")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "qnpu layer: %s needs a value (see qnpu layer --help)\n", a);
        return EXIT_BADINPUT;
      }
      if (!strcmp(a, "--backend")) backend = argv[++i];
      else out_path = argv[++i];
    } else if (!strncmp(a, "--backend=", 10)) {
      backend = a + 10;
    } else if (!strncmp(a, "--out=", 6)) {
      out_path = a + 6;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "qnpu layer: unknown option '%s' (see qnpu layer --help)\n", a);
      return EXIT_BADINPUT;
    } else if (!dir) {
      dir = a;
    } else {
      fprintf(stderr, "qnpu layer: more than one CASE_DIR ('%s', '%s')\n", dir, a);
      return EXIT_BADINPUT;
    }
  }
  if (!dir) {
    fputs("qnpu layer: missing CASE_DIR\n\n", stderr);
    fputs(kLayerHelp, stderr);
    return EXIT_BADINPUT;
  }
  char msg[1600];
  if (strcmp(backend, "golden") != 0) {
    snprintf(msg, sizeof msg, "unknown backend '%s' (available: golden)", backend);
    return input_error(json, dir, msg);
  }

  qnpu_case_t c;
  qnpu_status_t st = qnpu_case_load(dir, &c, msg, sizeof msg);
  if (st) {
    qnpu_case_free(&c);
    return input_error(json, dir, msg);
  }
  const size_t n = qnpu_case_output_count(&c);
  int32_t *out = malloc(n * sizeof *out);
  if (!out) {
    qnpu_case_free(&c);
    return input_error(json, dir, "out of memory for the output tensor");
  }
  st = qnpu_case_run_golden(&c, out);
  if (st) {
    snprintf(msg, sizeof msg, "%s: the golden model rejected the case: %s", dir,
             qnpu_status_str(st));
    free(out);
    qnpu_case_free(&c);
    return input_error(json, dir, msg);
  }
  if (out_path && write_output(&c, out, n, out_path, msg, sizeof msg)) {
    free(out);
    qnpu_case_free(&c);
    return input_error(json, dir, msg);
  }

  size_t mismatches = 0, shown = 0;
  size_t first[MAX_REPORTED_MISMATCHES];
  const int have_expected = c.expected.data != NULL;
  for (size_t i = 0; have_expected && i < n; i++)
    if (out[i] != expected_at(&c, i)) {
      if (shown < MAX_REPORTED_MISMATCHES) first[shown++] = i;
      mismatches++;
    }

  if (json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "case", c.name);
    cJSON_AddStringToObject(j, "dir", dir);
    cJSON_AddStringToObject(j, "backend", backend);
    cJSON_AddStringToObject(j, "op", qnpu_case_op_name(c.op));
    cJSON_AddStringToObject(j, "precision", qnpu_prec_name(c.precision));
    cJSON_AddStringToObject(j, "requant", qnpu_case_requant_name(c.requant));
    cJSON_AddNumberToObject(j, "elements", (double)n);
    cJSON_AddBoolToObject(j, "compared", have_expected);
    cJSON_AddNumberToObject(j, "mismatches", (double)mismatches);
    cJSON_AddBoolToObject(j, "bit_exact", have_expected && mismatches == 0);
    cJSON *arr = cJSON_AddArrayToObject(j, "first_mismatches");
    for (size_t k = 0; k < shown; k++) {
      cJSON *m = cJSON_CreateObject();
      int64_t idx[4];
      coords(&c, first[k], idx);
      cJSON *ia = cJSON_AddArrayToObject(m, "index");
      for (int d = 0; d < c.rank; d++) cJSON_AddItemToArray(ia, cJSON_CreateNumber((double)idx[d]));
      cJSON_AddNumberToObject(m, "got", out[first[k]]);
      cJSON_AddNumberToObject(m, "expected", expected_at(&c, first[k]));
      cJSON_AddItemToArray(arr, m);
    }
    if (out_path) cJSON_AddStringToObject(j, "out", out_path);
    else cJSON_AddNullToObject(j, "out");
    char *s = cJSON_PrintUnformatted(j);
    if (s) puts(s);
    free(s);
    cJSON_Delete(j);
  } else {
    printf("case %s: %s %s, requant %s, backend %s, %zu output elements\n", c.name,
           qnpu_case_op_name(c.op), qnpu_prec_name(c.precision), qnpu_case_requant_name(c.requant),
           backend, n);
    if (out_path) printf("wrote %s\n", out_path);
    if (!have_expected) {
      printf("no expected.npy: nothing to compare\n");
    } else if (mismatches == 0) {
      printf("match: %zu/%zu\n", n, n);
    } else {
      printf("MISMATCH: %zu of %zu elements differ; first %zu:\n", mismatches, n, shown);
      for (size_t k = 0; k < shown; k++) {
        char where[96];
        coords_str(&c, first[k], where, sizeof where);
        printf("  %s: got %d, expected %d\n", where, out[first[k]], expected_at(&c, first[k]));
      }
    }
  }
  free(out);
  qnpu_case_free(&c);
  return mismatches ? EXIT_MISMATCH : EXIT_MATCH;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(kMainHelp, stderr);
    return EXIT_BADINPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(kMainHelp, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("qnpu %s\n", QNPU_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "layer")) return cmd_layer(argc - 2, argv + 2);
  fprintf(stderr, "qnpu: unknown command '%s' (see qnpu --help)\n", cmd);
  return EXIT_BADINPUT;
}
