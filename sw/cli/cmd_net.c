/* cmd_net.c - the network subcommands of qnpu: quantize (a float ONNX
 * model -> a .qnpu model, post-training) and net (a network over a
 * dataset: accuracy, per-layer cycles and utilization, and a tensor-by-
 * tensor bit-exact check against the golden model). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "npy.h"
#include "qnpu_dataset.h"
#include "qnpu_net_run.h"
#include "qnpu_netfile.h"
#include "qnpu_onnx.h"
#include "qnpu_ptq.h"

#define CALIB_DEFAULT 1000 /* calibration images */
#define MAX_BATCH 10000    /* images per run of qnpu net */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int ends_with(const char *s, const char *suffix) {
  const size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* A float network from an .onnx file, else a quantized one from a .qnpu file. */
static qnpu_status_t load_model(const char *path, qnpu_net_t *net, char *msg, size_t len) {
  return ends_with(path, ".onnx") ? qnpu_onnx_load(path, net, msg, len) : qnpu_netfile_load(path, net, msg, len);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* The dataset split and the image range [*first, *first + *count) of o,
 * checked against the network's input. On an error (an exit code, with
 * msg) *d is freed. */
static int load_images(const opts_t *o, const qnpu_net_t *net, const char *split, uint64_t first_default,
                       uint64_t count_default, qnpu_dataset_t *d, int32_t *first, int32_t *count, char *msg,
                       size_t len) {
  const char *dir = o->data ? o->data : QNPU_DATASET_DEFAULT_DIR;
  if (qnpu_dataset_load(dir, split, d, msg, len)) return EXIT_BADINPUT;
  const qnpu_net_tensor_t *in = &net->tensors[net->input];
  if (d->h != in->h || d->w != in->w || d->c != in->c) {
    snprintf(msg, len, "%s: %s images are %dx%dx%d, the model's input %s is %dx%dx%d", dir, split, d->h, d->w, d->c,
             in->name, in->h, in->w, in->c);
    qnpu_dataset_free(d);
    return EXIT_BADINPUT;
  }
  if (d->classes > net->classes) {
    snprintf(msg, len, "%s: labels go up to %d, the model has %d outputs", dir, d->classes - 1, net->classes);
    qnpu_dataset_free(d);
    return EXIT_BADINPUT;
  }
  const uint64_t f = o->offset ? o->offset : first_default;
  const uint64_t want = o->images       ? o->images
                        : count_default ? count_default
                                        : (uint64_t)d->n - (f < (uint64_t)d->n ? f : 0);
  if (f >= (uint64_t)d->n || want > (uint64_t)d->n - f) {
    snprintf(msg, len, "%s: images %llu..%llu asked, the %s set has %d", dir, (unsigned long long)f,
             (unsigned long long)(f + want - 1), split, d->n);
    qnpu_dataset_free(d);
    return EXIT_BADINPUT;
  }
  *first = (int32_t)f, *count = (int32_t)want;
  return -1;
}

/* ---- qnpu quantize ------------------------------------------------------------------- */

const char kQuantizeHelp[] =
    "usage: qnpu quantize MODEL.onnx --calib CALIB --precision P -o OUT.qnpu\n"
    "                     [--weights max|mse] [--no-bias-correction] [--int8-ends] [--calib-images N]\n"
    "                     [--offset K] [--data DIR] [--json]\n"
    "\n"
    "Post-training quantization of a float ONNX model (docs/network.md): weights\n"
    "symmetric per output channel, activations asymmetric per tensor over the range\n"
    "a calibrator picks from the float model's activations on N held-out training\n"
    "images, int32 biases, Q31 multipliers and shifts. Writes a .qnpu model file\n"
    "(docs/model-format.md) that qnpu net runs.\n"
    "\n"
    "options:\n"
    "  --calib CALIB      max, percentile:P (e.g. percentile:99.99) or entropy\n"
    "                     (KL divergence over a 2048-bin histogram)\n"
    "  --precision P      w8a8 (default), w4a8 or w4a4\n"
    "  --weights RULE     per-channel weight scales: max (max|w| / qmax, the default)\n"
    "                     or mse (the clipping that minimises the squared error)\n"
    "  --no-bias-correction  keep the trained biases (by default each is corrected\n"
    "                     by the mean error its quantized weights add)\n"
    "  -o, --out FILE     the .qnpu file to write\n"
    "  --int8-ends        keep the first and the last conv/fc layer W8A8, with an 8-bit\n"
    "                     input image and 8-bit logits (usual in 4-bit work)\n"
    "  --calib-images N   calibration images (default 1000)\n"
    "  --offset K         first calibration image in the training set (default: the\n"
    "                     first one the model was not trained on, from its metadata\n"
    "                     qnpu.train_images; 55000 for models/fmnist_cnn.onnx)\n"
    "  --data DIR         the dataset (default " QNPU_DATASET_DEFAULT_DIR
    ")\n"
    "  --json             print one JSON object\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 written, 2 bad input (a model, dataset or option qnpu cannot use).\n";

int cmd_quantize(const opts_t *o) {
  const char *path = o->positional[0];
  char msg[1600];
  if (!o->calib)
    return cli_error(o->json, "model", path, NULL, "quantize: --calib is required (max, percentile:P or entropy)",
                     EXIT_BADINPUT);
  if (!o->out_path) return cli_error(o->json, "model", path, NULL, "quantize: -o OUT.qnpu is required", EXIT_BADINPUT);
  qnpu_ptq_options_t po = {.prec = o->prec, .no_bias_correction = o->no_bias_correction, .int8_ends = o->int8_ends};
  if (qnpu_calib_parse(o->calib, &po.calib)) {
    snprintf(msg, sizeof msg, "quantize: unknown calibrator '%s' (max, percentile:P with 0 < P <= 100, entropy)",
             o->calib);
    return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  }
  if (o->weights && qnpu_wscale_parse(o->weights, &po.wscale)) {
    snprintf(msg, sizeof msg, "quantize: unknown weight rule '%s' (max or mse)", o->weights);
    return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  }
  if (!ends_with(path, ".onnx"))
    return cli_error(o->json, "model", path, NULL, "quantize: MODEL must be a float .onnx model", EXIT_BADINPUT);
  qnpu_net_t f, q;
  if (qnpu_onnx_load(path, &f, msg, sizeof msg)) return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  if (!o->offset && !f.train_images) {
    qnpu_net_free(&f);
    return cli_error(o->json, "model", path, NULL,
                     "quantize: the model does not say which training images trained it (metadata "
                     "qnpu.train_images); pass --offset K, the first held-out training image",
                     EXIT_BADINPUT);
  }
  qnpu_dataset_t d;
  int32_t first, count;
  int rc = load_images(o, &f, "train", (uint64_t)f.train_images, o->calib_images ? o->calib_images : CALIB_DEFAULT, &d,
                       &first, &count, msg, sizeof msg);
  if (rc >= 0) {
    qnpu_net_free(&f);
    return cli_error(o->json, "model", path, NULL, msg, rc);
  }
  qnpu_ptq_range_t *ranges = calloc((size_t)f.n_tensors, sizeof *ranges);
  const size_t img = (size_t)d.h * d.w * d.c;
  const double t0 = now();
  qnpu_status_t st =
      ranges ? qnpu_ptq(&f, d.pixels + (size_t)first * img, count, &po, &q, ranges, msg, sizeof msg) : QNPU_ERR_NOMEM;
  const double secs = now() - t0;
  qnpu_dataset_free(&d);
  if (!st) st = qnpu_netfile_save(o->out_path, &q, msg, sizeof msg);
  if (st) {
    free(ranges), qnpu_net_free(&f);
    return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  }
  FILE *fp = fopen(o->out_path, "rb");
  long bytes = -1;
  if (fp && !fseek(fp, 0, SEEK_END)) bytes = ftell(fp);
  if (fp) fclose(fp);
  const char *pname = qnpu_prec_name(o->prec);
  if (o->json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", path);
    cJSON_AddStringToObject(j, "out", o->out_path);
    cJSON_AddNumberToObject(j, "bytes", (double)bytes);
    cJSON_AddStringToObject(j, "precision", pname);
    cJSON_AddStringToObject(j, "calib", o->calib);
    cJSON_AddNumberToObject(j, "calib_images", count);
    cJSON_AddNumberToObject(j, "calib_first", first);
    cJSON_AddNumberToObject(j, "seconds", secs);
    cJSON *ts = cJSON_AddArrayToObject(j, "tensors");
    for (int t = 0; t < q.n_tensors; t++) {
      const qnpu_net_tensor_t *x = &q.tensors[t];
      cJSON *e = cJSON_CreateObject();
      cJSON_AddStringToObject(e, "name", x->name);
      cJSON *sh = cJSON_AddArrayToObject(e, "shape");
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(x->h));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(x->w));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(x->c));
      cJSON_AddNumberToObject(e, "min", ranges[t].min);
      cJSON_AddNumberToObject(e, "max", ranges[t].max);
      cJSON_AddNumberToObject(e, "lo", ranges[t].lo);
      cJSON_AddNumberToObject(e, "hi", ranges[t].hi);
      cJSON_AddBoolToObject(e, "calibrated", ranges[t].calibrated);
      cJSON_AddNumberToObject(e, "bits", x->bits);
      cJSON_AddNumberToObject(e, "scale", x->scale);
      cJSON_AddNumberToObject(e, "zero_point", x->zero_point);
      cJSON_AddItemToArray(ts, e);
    }
    cli_print_json(j);
  } else {
    printf("quantize %s: %s, calibrator %s, %d calibration images (training set %d..%d), %.1f s\n", base_name(path),
           pname, o->calib, count, first, first + count - 1, secs);
    printf("%-28s %-10s %-22s %-22s %-12s %5s\n", "tensor", "shape", "float range seen", "quantized range", "scale",
           "zero");
    for (int t = 0; t < q.n_tensors; t++) {
      const qnpu_net_tensor_t *x = &q.tensors[t];
      char shape[32], seen[48], rng[48];
      snprintf(shape, sizeof shape, "%dx%dx%d", x->h, x->w, x->c);
      snprintf(seen, sizeof seen, "[%.4g, %.4g]", ranges[t].min, ranges[t].max);
      snprintf(rng, sizeof rng, "[%.4g, %.4g]%s", ranges[t].lo, ranges[t].hi,
               t == q.input           ? " input"
               : ranges[t].calibrated ? ""
                                      : " kept");
      printf("%-28.28s %-10s %-22s %-22s %-12.6g %5d\n", x->name, shape, seen, rng, (double)x->scale, x->zero_point);
    }
    printf("wrote %s (%ld bytes)\n", o->out_path, bytes);
  }
  free(ranges), qnpu_net_free(&f), qnpu_net_free(&q);
  return EXIT_MATCH;
}

/* ---- qnpu import ------------------------------------------------------------------------ */

const char kImportHelp[] =
    "usage: qnpu import MODEL.onnx -o OUT.qnpu [--json]\n"
    "\n"
    "Imports a quantized ONNX model - QDQ (QuantizeLinear / DequantizeLinear around\n"
    "Conv, Gemm, MatMul, Add, pools), as ONNX Runtime's quantize_static writes it,\n"
    "or QOperator (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearAveragePool,\n"
    "QLinearGlobalAveragePool) - into a .qnpu model that computes exactly what ONNX\n"
    "Runtime computes: float32 requantization (ort_f32) and ONNX Runtime's host\n"
    "kernels (docs/onnx.md). int8 and uint8 tensors; uint8 u is held as u - 128.\n"
    "qnpu net MODEL.onnx imports on the fly; this writes the result once.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE   the .qnpu file to write\n"
    "  --json           print one JSON object\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 written, 2 bad input (an op, attribute or file qnpu cannot\n"
    "import: one line naming the node, its op type and what is missing).\n";

int cmd_import(const opts_t *o) {
  const char *path = o->positional[0];
  char msg[1600];
  if (!o->out_path) return cli_error(o->json, "model", path, NULL, "import: -o OUT.qnpu is required", EXIT_BADINPUT);
  if (!ends_with(path, ".onnx"))
    return cli_error(o->json, "model", path, NULL, "import: MODEL must be a quantized .onnx model", EXIT_BADINPUT);
  qnpu_net_t net;
  if (qnpu_onnx_load(path, &net, msg, sizeof msg)) return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  if (!net.quantized) {
    qnpu_net_free(&net);
    snprintf(msg, sizeof msg,
             "%s: a float model (no QuantizeLinear, DequantizeLinear or QLinear op); quantize it with qnpu quantize "
             "or ONNX Runtime's quantize_static",
             path);
    return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  }
  if (qnpu_netfile_save(o->out_path, &net, msg, sizeof msg)) {
    qnpu_net_free(&net);
    return cli_error(o->json, "model", path, NULL, msg, EXIT_BADINPUT);
  }
  static const char *const kIn[] = {"float32", "int8", "uint8"}, *const kOut[] = {"float32", "int8", "uint8"};
  if (o->json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", path);
    cJSON_AddStringToObject(j, "out", o->out_path);
    cJSON_AddStringToObject(j, "semantics", "onnxruntime");
    cJSON_AddStringToObject(j, "input_type", kIn[net.in_type]);
    cJSON_AddStringToObject(j, "output_type", kOut[net.out_type]);
    cJSON *ns = cJSON_AddArrayToObject(j, "nodes");
    for (int i = 0; i < net.n_nodes; i++) {
      const qnpu_net_node_t *nd = &net.nodes[i];
      const qnpu_net_tensor_t *t = &net.tensors[nd->out];
      cJSON *e = cJSON_CreateObject();
      cJSON_AddStringToObject(e, "name", nd->name);
      cJSON_AddStringToObject(e, "op", qnpu_node_kind_name(nd->kind));
      cJSON_AddStringToObject(e, "precision", qnpu_node_on_array(nd) ? qnpu_prec_name(nd->prec) : "");
      cJSON_AddStringToObject(e, "output", t->name);
      cJSON *sh = cJSON_AddArrayToObject(e, "shape");
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->h));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->w));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->c));
      cJSON_AddNumberToObject(e, "scale", t->scale);
      cJSON_AddNumberToObject(e, "zero_point", t->zero_point);
      cJSON_AddItemToArray(ns, e);
    }
    cli_print_json(j);
  } else {
    printf("import %s: %d nodes, %s input, %s output, ONNX Runtime numerics (ort_f32)\n", base_name(path), net.n_nodes,
           kIn[net.in_type], kOut[net.out_type]);
    printf("%-24s %-9s %-5s %-10s %-12s %5s\n", "node", "op", "prec", "output", "scale", "zero");
    for (int i = 0; i < net.n_nodes; i++) {
      const qnpu_net_node_t *nd = &net.nodes[i];
      const qnpu_net_tensor_t *t = &net.tensors[nd->out];
      char shape[32];
      snprintf(shape, sizeof shape, "%dx%dx%d", t->h, t->w, t->c);
      printf("%-24.24s %-9s %-5s %-10s %-12.6g %5d\n", nd->name, qnpu_node_kind_name(nd->kind),
             qnpu_node_on_array(nd) ? qnpu_prec_name(nd->prec) : "-", shape, (double)t->scale, t->zero_point);
    }
    printf("wrote %s\n", o->out_path);
  }
  qnpu_net_free(&net);
  return EXIT_MATCH;
}

/* ---- qnpu net -------------------------------------------------------------------------- */

const char kNetHelp[] =
    "usage: qnpu net MODEL [--backend NAME] [--images N] [--offset K] [--batch B]\n"
    "                [--check] [--data DIR] [--input X.npy] [--output Y.npy]\n"
    "                [--dump-dir DIR] [--progress] [--json]\n"
    "\n"
    "Runs a network over the test set (Fashion-MNIST's t10k by default), or over\n"
    "the inputs of --input, and prints its accuracy and, per layer, where it ran\n"
    "(the array, or a host fallback), its MACs, cycles, utilization and DRAM\n"
    "traffic per image. MODEL is a .qnpu model (qnpu quantize, qnpu import), a\n"
    "quantized .onnx model (QDQ or QOperator, imported on the fly and run with\n"
    "ONNX Runtime's numerics, docs/onnx.md), or a float .onnx model, which runs on\n"
    "qnpu's float reference path in C.\n"
    "\n"
    "options:\n"
    "  --backend NAME   golden (default), model (the fast functional model), sim\n"
    "                   (the cycle-accurate Verilated RTL), mmio\n"
    "  --images N       images to run (default: all from --offset on)\n"
    "  --offset K       first image (default 0)\n"
    "  --batch B        images per run (default 1 on sim and mmio, else 100)\n"
    "  --check          also run the golden model and compare every tensor of every\n"
    "                   image bit for bit (exit 1 at the first difference)\n"
    "  --data DIR       the dataset (default " QNPU_DATASET_DEFAULT_DIR
    ")\n"
    "  --input X.npy    run on these inputs instead, in the ONNX model's layout\n"
    "                   ([N, C, H, W] or [N, K]): float32 (quantized as the model\n"
    "                   says), int8 or uint8 (an int8 or uint8 model input; for a\n"
    "                   float input, uint8 values are raw pixels)\n"
    "  --output Y.npy   write the outputs as the ONNX model returns them (float32\n"
    "                   dequantized, int8 or uint8; [N, C] or [N, C, H, W])\n"
    "  --dump-dir DIR   write every tensor (int8, [N][H][W][C]) as DIR/tNNN.npy and\n"
    "                   their names and quantization in DIR/tensors.json\n"
    "  --progress       a progress bar on stderr (default when stderr is a terminal)\n"
    "  --trace FILE.fst a waveform of the whole run (sim only)\n"
    "  --faults SPEC    inject memory faults (sim only): seed=S,jitter=CYCLES,\n"
    "                   throttle=PCT,stall=CYCLES@PPM,error-beat=N,error-ppm=PPM\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 ran (and bit-exact with --check), 1 a tensor differs from the\n"
    "golden model, 2 bad input, 3 hardware error or timeout.\n";

typedef struct {
  int on, tty;
  double start, last;
} progress_t;

static void progress(progress_t *p, int32_t done, int32_t total, uint64_t cycles, int checked, int final) {
  if (!p->on) return;
  const double t = now();
  if (!final && t - p->last < (p->tty ? 0.2 : 5.0)) return;
  p->last = t;
  const int width = 30, fill = total ? (int)((int64_t)width * done / total) : width;
  char bar[64];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  fprintf(stderr, "%s[%s] %d/%d images", p->tty ? "\r" : "", bar, done, total);
  if (cycles && done) fprintf(stderr, ", %llu cycles/image", (unsigned long long)(cycles / (uint64_t)done));
  if (checked) fprintf(stderr, ", %d bit-exact vs golden", done);
  fprintf(stderr, ", %.1f images/s ", done / (t - p->start > 0 ? t - p->start : 1e-9));
  if (!p->tty || final) fputc('\n', stderr);
  fflush(stderr);
}

/* The float network over the images: the accuracy of the C float path. */
static int run_float(const opts_t *o, const char *path, const qnpu_net_t *net) {
  char msg[1600];
  if (o->backend_set && strcmp(o->backend, "golden"))
    return cli_error(o->json, "model", path, o->backend,
                     "a float model runs only on the host float reference; quantize it first (qnpu quantize)",
                     EXIT_BADINPUT);
  qnpu_dataset_t d;
  int32_t first, count;
  const int rc = load_images(o, net, "t10k", 0, 0, &d, &first, &count, msg, sizeof msg);
  if (rc >= 0) return cli_error(o->json, "model", path, "float", msg, rc);
  const int32_t batch = o->batch ? (int32_t)(o->batch < MAX_BATCH ? o->batch : MAX_BATCH) : 100;
  float *logits = malloc((size_t)batch * (size_t)net->classes * sizeof *logits);
  const size_t img = (size_t)d.h * d.w * d.c;
  progress_t pg = {o->progress || isatty(2), isatty(2), now(), 0};
  int32_t correct = 0;
  qnpu_status_t st = logits ? QNPU_OK : QNPU_ERR_NOMEM;
  for (int32_t b = 0; !st && b < count; b += batch) {
    const int32_t n = count - b < batch ? count - b : batch;
    st = qnpu_net_float_run(net, d.pixels + (size_t)(first + b) * img, n, logits, NULL, NULL, msg, sizeof msg);
    for (int32_t i = 0; !st && i < n; i++)
      correct += qnpu_argmax_f32(logits + (size_t)i * net->classes, net->classes) == d.labels[first + b + i];
    progress(&pg, b + n, count, 0, 0, b + n == count);
  }
  const double secs = now() - pg.start;
  free(logits);
  qnpu_dataset_free(&d);
  if (st) return cli_error(o->json, "model", path, "float", msg, EXIT_BADINPUT);
  if (o->json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", path);
    cJSON_AddStringToObject(j, "meta", net->meta);
    cJSON_AddStringToObject(j, "backend", "float");
    cJSON_AddBoolToObject(j, "quantized", 0);
    cJSON_AddNumberToObject(j, "images", count);
    cJSON_AddNumberToObject(j, "offset", first);
    cJSON_AddNumberToObject(j, "correct", correct);
    cJSON_AddNumberToObject(j, "accuracy", (double)correct / count);
    cJSON_AddNumberToObject(j, "seconds", secs);
    cli_print_json(j);
  } else {
    printf("net %s: float32 (%s), qnpu's float reference path on the host\n", base_name(path), net->meta);
    printf("accuracy: %d/%d = %.2f%% (test images %d..%d), %.1f s\n", correct, count, 100.0 * correct / count, first,
           first + count - 1, secs);
  }
  return EXIT_MATCH;
}

static void shape_str(const qnpu_net_tensor_t *t, char *buf, size_t len) {
  snprintf(buf, len, "%dx%dx%d", t->h, t->w, t->c);
}

/* The report of a quantized run: text or JSON. */
typedef struct {
  const char *path, *backend;
  const qnpu_net_t *net;
  const qnpu_net_exec_t *e;
  const qnpu_dev_info_t *info; /* NULL without a device */
  int32_t first, count, correct;
  int labeled;       /* the inputs have labels (a dataset, not --input) */
  const char *input; /* --input, or NULL */
  int checked;
  const qnpu_net_diff_t *diff; /* NULL: none */
  double seconds;
} net_report_t;

static void report_net(const opts_t *o, const net_report_t *r) {
  const qnpu_net_t *net = r->net;
  const qnpu_net_node_stats_t *st = qnpu_net_exec_stats(r->e);
  const double imgs = r->count > 0 ? r->count : 1;
  uint64_t cycles = 0, macs = 0, dram = 0;
  qnpu_energy_t energy = {0};
  double busy = 0; /* sum over array layers of macs / peak: cycles at 100 % */
  for (int i = 0; i < net->n_nodes; i++) {
    cycles += st[i].cycles, macs += st[i].macs, dram += st[i].rd_bytes + st[i].wr_bytes;
    qnpu_energy_add(&energy, &st[i].energy);
    if (r->info && qnpu_node_on_array(&net->nodes[i]))
      busy += (double)st[i].macs / (double)qnpu_rt_peak_macs(r->info, net->nodes[i].prec);
  }
  const int has_cycles = cycles > 0;
  const char *prec = "?";
  for (int i = 0; i < net->n_nodes; i++)
    if (qnpu_node_on_array(&net->nodes[i])) prec = qnpu_prec_name(net->nodes[i].prec);
  if (o->json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", r->path);
    cJSON_AddStringToObject(j, "meta", net->meta);
    cJSON_AddStringToObject(j, "backend", r->backend);
    cJSON_AddBoolToObject(j, "quantized", 1);
    cJSON_AddStringToObject(j, "precision", prec);
    cJSON_AddNumberToObject(j, "images", r->count);
    cJSON_AddNumberToObject(j, "offset", r->first);
    if (r->input) cJSON_AddStringToObject(j, "input", r->input);
    if (r->labeled) {
      cJSON_AddNumberToObject(j, "correct", r->correct);
      cJSON_AddNumberToObject(j, "accuracy", (double)r->correct / imgs);
    } else {
      cJSON_AddNullToObject(j, "correct");
      cJSON_AddNullToObject(j, "accuracy");
    }
    cJSON_AddBoolToObject(j, "checked", r->checked);
    if (r->checked) cJSON_AddBoolToObject(j, "bit_exact", !r->diff);
    if (r->diff) {
      cJSON *m = cJSON_AddObjectToObject(j, "mismatch");
      cJSON_AddStringToObject(m, "node", net->nodes[r->diff->node].name);
      cJSON_AddNumberToObject(m, "image", r->first + r->diff->image);
      cJSON_AddNumberToObject(m, "element", (double)r->diff->element);
      cJSON_AddNumberToObject(m, "got", r->diff->a);
      cJSON_AddNumberToObject(m, "expected", r->diff->b);
    }
    if (has_cycles) {
      cJSON_AddNumberToObject(j, "cycles_per_image", (double)cycles / imgs);
      cJSON_AddNumberToObject(j, "utilization", busy / (double)cycles);
    } else {
      cJSON_AddNullToObject(j, "cycles_per_image");
      cJSON_AddNullToObject(j, "utilization");
    }
    cJSON_AddNumberToObject(j, "macs_per_image", (double)macs / imgs);
    cJSON_AddNumberToObject(j, "dram_bytes_per_image", (double)dram / imgs);
    if (r->info)
      cli_energy_json(j, "energy_per_image", &energy, imgs);
    else
      cJSON_AddNullToObject(j, "energy_per_image");
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "images_per_second", r->seconds > 0 ? r->count / r->seconds : 0);
    if (r->info) {
      cJSON *cf = cJSON_AddObjectToObject(j, "config");
      cJSON_AddNumberToObject(cf, "rows", r->info->rows);
      cJSON_AddNumberToObject(cf, "cols", r->info->cols);
    }
    cJSON *ls = cJSON_AddArrayToObject(j, "layers");
    for (int i = 0; i < net->n_nodes; i++) {
      const qnpu_net_node_t *nd = &net->nodes[i];
      const int arr = qnpu_node_on_array(nd);
      cJSON *l = cJSON_CreateObject();
      cJSON_AddStringToObject(l, "name", nd->name);
      cJSON_AddStringToObject(l, "op", qnpu_node_kind_name(nd->kind));
      cJSON_AddStringToObject(l, "act", qnpu_act_name(nd->act));
      cJSON_AddStringToObject(l, "where", arr ? (r->info ? "array" : r->backend) : "host fallback");
      cJSON_AddStringToObject(l, "precision", arr ? qnpu_prec_name(nd->prec) : "");
      cJSON *sh = cJSON_AddArrayToObject(l, "output");
      const qnpu_net_tensor_t *t = &net->tensors[nd->out];
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->h));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->w));
      cJSON_AddItemToArray(sh, cJSON_CreateNumber(t->c));
      cJSON_AddNumberToObject(l, "macs_per_image", (double)st[i].macs / imgs);
      if (arr && has_cycles) {
        cJSON_AddNumberToObject(l, "cycles_per_image", (double)st[i].cycles / imgs);
        cJSON_AddNumberToObject(
            l, "utilization",
            st[i].cycles ? (double)st[i].macs / (double)qnpu_rt_peak_macs(r->info, nd->prec) / (double)st[i].cycles
                         : 0.0);
      } else {
        cJSON_AddNullToObject(l, "cycles_per_image");
        cJSON_AddNullToObject(l, "utilization");
      }
      cJSON_AddNumberToObject(l, "dram_bytes_per_image", (double)(st[i].rd_bytes + st[i].wr_bytes) / imgs);
      if (arr && r->info)
        cli_energy_json(l, "energy_per_image", &st[i].energy, imgs);
      else
        cJSON_AddNullToObject(l, "energy_per_image");
      cJSON_AddNumberToObject(l, "host_ms_per_image", 1e3 * st[i].seconds / imgs);
      cJSON_AddItemToArray(ls, l);
    }
    cli_print_json(j);
    return;
  }
  printf("net %s: %s (%s), backend %s", base_name(r->path), prec, net->meta, r->backend);
  if (r->info) printf(", array %ux%u", r->info->rows, r->info->cols);
  if (r->labeled)
    printf("\naccuracy: %d/%d = %.2f%% (test images %d..%d), %.1f s (%.1f images/s)\n", r->correct, r->count,
           100.0 * r->correct / imgs, r->first, r->first + r->count - 1, r->seconds,
           r->seconds > 0 ? r->count / r->seconds : 0.0);
  else
    printf("\n%d inputs of %s (%d..%d), %.1f s (%.1f inputs/s)\n", r->count, r->input, r->first,
           r->first + r->count - 1, r->seconds, r->seconds > 0 ? r->count / r->seconds : 0.0);
  if (r->checked && !r->diff)
    printf("bit-exact against the golden model: every tensor of all %d images (%d nodes)\n", r->count, net->n_nodes);
  if (r->diff) {
    const qnpu_net_node_t *nd = &net->nodes[r->diff->node];
    printf("MISMATCH against the golden model: node %s (%s), image %d, element %zu: got %d, expected %d\n", nd->name,
           qnpu_node_kind_name(nd->kind), r->first + r->diff->image, r->diff->element, r->diff->a, r->diff->b);
  }
  printf("per image: %.0f MACs", (double)macs / imgs);
  if (has_cycles)
    printf(", %.0f cycles, array utilization %.1f%%", (double)cycles / imgs, 100.0 * busy / (double)cycles);
  if (r->info) {
    char en[192];
    cli_energy_str(en, sizeof en, &energy, imgs);
    printf(", %.0f DRAM bytes\nenergy per image (Horowitz 45 nm estimate, docs/energy.md): %s", (double)dram / imgs,
           en);
  }
  printf("\n%-14s %-10s %-13s %-5s %-9s %9s %10s %6s %11s %8s\n", "layer", "op", "where", "prec", "output", "MACs/img",
         "cycles/img", "util", "DRAM B/img", "host ms");
  for (int i = 0; i < net->n_nodes; i++) {
    const qnpu_net_node_t *nd = &net->nodes[i];
    const int arr = qnpu_node_on_array(nd);
    char shape[32], op[24], cyc[24] = "-", util[16] = "-", dr[24] = "-", mc[24] = "-";
    shape_str(&net->tensors[nd->out], shape, sizeof shape);
    snprintf(op, sizeof op, "%s%s", qnpu_node_kind_name(nd->kind),
             nd->act && nd->kind != QNPU_NODE_RELU ? "+relu" : "");
    if (arr) snprintf(mc, sizeof mc, "%.0f", (double)st[i].macs / imgs);
    if (arr && has_cycles && st[i].cycles) {
      snprintf(cyc, sizeof cyc, "%.0f", (double)st[i].cycles / imgs);
      snprintf(util, sizeof util, "%.1f%%",
               100.0 * (double)st[i].macs / (double)qnpu_rt_peak_macs(r->info, nd->prec) / (double)st[i].cycles);
    }
    if (arr && r->info) snprintf(dr, sizeof dr, "%.0f", (double)(st[i].rd_bytes + st[i].wr_bytes) / imgs);
    printf("%-14.14s %-10s %-13s %-5s %-9s %9s %10s %6s %11s %8.3f\n", nd->name, op,
           arr ? (r->info ? "array" : r->backend) : "host fallback", arr ? qnpu_prec_name(nd->prec) : "-", shape, mc,
           cyc, util, dr, 1e3 * st[i].seconds / imgs);
  }
}

/* The int8 inputs of a quantized run: the --input array, or test images. */
typedef struct {
  int8_t *q;             /* count x the input tensor's elements, NHWC   */
  const uint8_t *labels; /* count labels, NULL for --input              */
  int32_t first, count;
  qnpu_dataset_t d;
} inputs_t;

static void inputs_free(inputs_t *in) {
  free(in->q);
  qnpu_dataset_free(&in->d);
  memset(in, 0, sizeof *in);
}

/* The array of --input: [N, C, H, W] or [N, K], float32 (quantized as the
 * network's input quantization says), int8 or uint8. */
static int load_npy_inputs(const opts_t *o, const qnpu_net_t *net, inputs_t *in, char *msg, size_t len) {
  qnpu_npy_t a;
  if (qnpu_npy_read(o->input, &a, msg, len)) return EXIT_BADINPUT;
  const qnpu_net_tensor_t *t = &net->tensors[net->input];
  const int flat = a.ndim == 2;
  const int shape_ok = a.ndim >= 1 && a.shape[0] >= 1 &&
                       (flat ? t->h * t->w == 1 && a.shape[1] == t->c
                             : a.ndim == 4 && a.shape[1] == t->c && a.shape[2] == t->h && a.shape[3] == t->w);
  const char *want = net->in_type == QNPU_IN_FLOAT  ? "float32 (or uint8 pixels)"
                     : net->in_type == QNPU_IN_INT8 ? "int8"
                                                    : "uint8";
  const int type_ok = (a.dtype == QNPU_DT_FLOAT32 && net->in_type == QNPU_IN_FLOAT) ||
                      (a.dtype == QNPU_DT_INT8 && net->in_type == QNPU_IN_INT8) ||
                      (a.dtype == QNPU_DT_UINT8 && net->in_type != QNPU_IN_INT8);
  if (!shape_ok || !type_ok) {
    snprintf(msg, len, "%s: a %s array of %d dimensions; the model's input %s wants %s [N, %d, %d, %d]%s", o->input,
             qnpu_dtype_name(a.dtype), a.ndim, t->name, want, t->c, t->h, t->w, t->h * t->w == 1 ? " or [N, C]" : "");
    qnpu_npy_free(&a);
    return EXIT_BADINPUT;
  }
  const int64_t n = a.shape[0];
  const uint64_t f = o->offset, want_n = o->images ? o->images : (uint64_t)n - (f < (uint64_t)n ? f : 0);
  if (f >= (uint64_t)n || want_n > (uint64_t)n - f || want_n > INT32_MAX) {
    snprintf(msg, len, "%s: inputs %llu..%llu asked, the array has %lld", o->input, (unsigned long long)f,
             (unsigned long long)(f + want_n - 1), (long long)n);
    qnpu_npy_free(&a);
    return EXIT_BADINPUT;
  }
  const size_t per = qnpu_net_tensor_size(net, net->input), hw = (size_t)t->h * t->w;
  in->first = (int32_t)f, in->count = (int32_t)want_n;
  if (!(in->q = malloc((size_t)in->count * per))) {
    qnpu_npy_free(&a);
    snprintf(msg, len, "out of memory for %d inputs", in->count);
    return EXIT_BADINPUT;
  }
  for (int32_t i = 0; i < in->count; i++)
    for (size_t ch = 0; ch < (size_t)t->c; ch++)
      for (size_t p = 0; p < hw; p++) { /* NCHW -> NHWC */
        const size_t src = ((size_t)(in->first + i) * t->c + ch) * hw + p, dst = (size_t)i * per + p * t->c + ch;
        int8_t v;
        if (a.dtype == QNPU_DT_FLOAT32)
          v = qnpu_net_quantize_input(net, ((const float *)a.data)[src]);
        else if (a.dtype == QNPU_DT_INT8)
          v = ((const int8_t *)a.data)[src];
        else
          v = net->in_lut[((const uint8_t *)a.data)[src]];
        in->q[dst] = v;
      }
  qnpu_npy_free(&a);
  return -1;
}

static int load_inputs(const opts_t *o, const qnpu_net_t *net, inputs_t *in, char *msg, size_t len) {
  memset(in, 0, sizeof *in);
  if (o->input) return load_npy_inputs(o, net, in, msg, len);
  if (net->in_type == QNPU_IN_INT8) {
    snprintf(msg, len, "the model's input is int8, not 8-bit pixels: give it with --input X.npy");
    return EXIT_BADINPUT;
  }
  int rc = load_images(o, net, "t10k", 0, 0, &in->d, &in->first, &in->count, msg, len);
  if (rc >= 0) return rc;
  const size_t per = qnpu_net_tensor_size(net, net->input), n = (size_t)in->count * per;
  if (!(in->q = malloc(n))) {
    snprintf(msg, len, "out of memory for %d images", in->count);
    inputs_free(in);
    return EXIT_BADINPUT;
  }
  const uint8_t *px = in->d.pixels + (size_t)in->first * per;
  for (size_t i = 0; i < n; i++) in->q[i] = net->in_lut[px[i]];
  in->labels = in->d.labels + in->first;
  return -1;
}

/* --output: the output tensor as the ONNX model returns it. */
static int write_output(const opts_t *o, const qnpu_net_t *net, const int8_t *y, int32_t count, char *msg, size_t len) {
  const qnpu_net_tensor_t *t = &net->tensors[net->output];
  const size_t per = qnpu_net_tensor_size(net, net->output), hw = (size_t)t->h * t->w, n = (size_t)count * per;
  const int64_t shape[4] = {count, t->c, t->h, t->w};
  const qnpu_dtype_t dt = net->out_type == QNPU_OUT_FLOAT   ? QNPU_DT_FLOAT32
                          : net->out_type == QNPU_OUT_UINT8 ? QNPU_DT_UINT8
                                                            : QNPU_DT_INT8;
  void *buf = malloc(n * qnpu_dtype_size(dt));
  if (!buf) return snprintf(msg, len, "out of memory for the output"), EXIT_BADINPUT;
  for (size_t i = 0; i < (size_t)count; i++)
    for (size_t ch = 0; ch < (size_t)t->c; ch++)
      for (size_t p = 0; p < hw; p++) { /* NHWC -> NCHW */
        const int8_t q = y[i * per + p * t->c + ch];
        const size_t k = (i * t->c + ch) * hw + p;
        if (dt == QNPU_DT_FLOAT32) /* DequantizeLinear: float32(q - zp) * scale */
          ((float *)buf)[k] = (float)(q - t->zero_point) * t->scale;
        else if (dt == QNPU_DT_UINT8)
          ((uint8_t *)buf)[k] = (uint8_t)(q + 128);
        else
          ((int8_t *)buf)[k] = q;
      }
  const qnpu_status_t st = qnpu_npy_write(o->output, dt, net->out_rank == 4 ? 4 : 2, shape, buf, msg, len);
  free(buf);
  return st ? EXIT_BADINPUT : -1;
}

/* --dump-dir: every tensor, and an index of them. */
static int write_dump(const opts_t *o, const qnpu_net_t *net, int8_t *const *bufs, int32_t count, char *msg,
                      size_t len) {
  char path[4096];
  cJSON *j = cJSON_CreateObject(), *ts = cJSON_AddArrayToObject(j, "tensors");
  cJSON_AddStringToObject(j, "layout", "NHWC, int8 (a uint8 tensor u is stored as u - 128)");
  cJSON_AddNumberToObject(j, "count", count);
  for (int t = 0; t < net->n_tensors; t++) {
    const qnpu_net_tensor_t *x = &net->tensors[t];
    const int64_t shape[4] = {count, x->h, x->w, x->c};
    char file[32];
    snprintf(file, sizeof file, "t%03d.npy", t);
    snprintf(path, sizeof path, "%s/%s", o->dump_dir, file);
    if (qnpu_npy_write(path, QNPU_DT_INT8, 4, shape, bufs[t], msg, len)) return cJSON_Delete(j), EXIT_BADINPUT;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "index", t);
    cJSON_AddStringToObject(e, "name", x->name);
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddNumberToObject(e, "scale", x->scale);
    cJSON_AddNumberToObject(e, "zero_point", x->zero_point);
    cJSON_AddBoolToObject(e, "input", t == net->input);
    cJSON_AddBoolToObject(e, "output", t == net->output);
    cJSON_AddItemToArray(ts, e);
  }
  snprintf(path, sizeof path, "%s/tensors.json", o->dump_dir);
  char *txt = cJSON_Print(j);
  FILE *f = fopen(path, "w");
  int bad = !txt || !f || fputs(txt, f) < 0;
  bad |= f && fclose(f);
  free(txt), cJSON_Delete(j);
  if (bad) return snprintf(msg, len, "%.1000s: cannot write", path), EXIT_BADINPUT;
  return -1;
}

static int run_quantized(const opts_t *o, const char *path, const qnpu_net_t *net) {
  char msg[1600];
  if (o->batch > MAX_BATCH) {
    snprintf(msg, sizeof msg, "--batch %llu: at most %d images per run", (unsigned long long)o->batch, MAX_BATCH);
    return cli_error(o->json, "model", path, o->backend, msg, EXIT_BADINPUT);
  }
  if (o->dump_dir && mkdir(o->dump_dir, 0777) && errno != EEXIST) {
    snprintf(msg, sizeof msg, "%s: cannot create the directory (%s)", o->dump_dir, strerror(errno));
    return cli_error(o->json, "model", path, o->backend, msg, EXIT_BADINPUT);
  }
  inputs_t in;
  int rc = load_inputs(o, net, &in, msg, sizeof msg);
  if (rc >= 0) return cli_error(o->json, "model", path, o->backend, msg, rc);
  const int32_t count = in.count;
  qnpu_session_t *s = NULL, *gs = NULL;
  qnpu_net_exec_t *e = NULL, *ge = NULL;
  int8_t **dump = o->dump_dir ? calloc((size_t)net->n_tensors, sizeof *dump) : NULL;
  int8_t *outs = o->output ? malloc((size_t)count * qnpu_net_tensor_size(net, net->output)) : NULL;
  int oom = (o->dump_dir && !dump) || (o->output && !outs);
  for (int t = 0; dump && t < net->n_tensors; t++)
    oom |= !(dump[t] = malloc((size_t)count * qnpu_net_tensor_size(net, t)));
  if (oom) {
    snprintf(msg, sizeof msg, "out of memory for the tensors of %d images (--dump-dir, --output)", count);
    rc = EXIT_BADINPUT;
    goto done;
  }
  if ((rc = cli_open(o, &s, msg, sizeof msg)) >= 0) goto done;
  const qnpu_backend_t *be = qnpu_session_backend(s);
  const int device = qnpu_session_dev(s) != NULL, checked = o->check && strcmp(be->name, "golden");
  const int32_t batch = o->batch ? (int32_t)o->batch : !strcmp(be->name, "sim") || !strcmp(be->name, "mmio") ? 1 : 100;
  if (checked) {
    const opts_t go = {.backend = "golden"};
    if ((rc = cli_open(&go, &gs, msg, sizeof msg)) >= 0) goto done;
  }
  if (qnpu_net_exec_create(net, batch, &e) || (checked && qnpu_net_exec_create(net, batch, &ge))) {
    snprintf(msg, sizeof msg, "out of memory for a batch of %d images", batch);
    rc = EXIT_BADINPUT;
    goto done;
  }
  const size_t per_in = qnpu_net_tensor_size(net, net->input);
  progress_t pg = {o->progress || isatty(2), isatty(2), now(), 0};
  int32_t correct = 0, done_n = 0;
  qnpu_net_diff_t diff = {.node = -1};
  for (int32_t b = 0; b < count && diff.node < 0; b += batch) {
    const int32_t n = count - b < batch ? count - b : batch;
    const int8_t *x = in.q + (size_t)b * per_in;
    qnpu_status_t st = qnpu_net_exec_run_q(e, s, x, n, msg, sizeof msg);
    if (!st && checked) st = qnpu_net_exec_run_q(ge, gs, x, n, msg, sizeof msg);
    if (st) {
      if (pg.on && pg.tty) fputc('\n', stderr);
      rc = cli_exit_of(st);
      goto done;
    }
    if (checked) {
      diff = qnpu_net_exec_compare(e, ge, n);
      if (diff.node >= 0) diff.image += b;
    }
    const int8_t *lg = qnpu_net_exec_logits(e);
    for (int32_t i = 0; in.labels && i < n; i++)
      correct += qnpu_argmax_i8(lg + (size_t)i * net->classes, net->classes) == in.labels[b + i];
    for (int t = 0; dump && t < net->n_tensors; t++) {
      const size_t per = qnpu_net_tensor_size(net, t);
      memcpy(dump[t] + (size_t)b * per, qnpu_net_exec_tensor(e, t), (size_t)n * per);
    }
    if (outs) memcpy(outs + (size_t)b * net->classes, lg, (size_t)n * net->classes);
    done_n = b + n;
    uint64_t cyc = 0;
    for (int i = 0; i < net->n_nodes; i++) cyc += qnpu_net_exec_stats(e)[i].cycles;
    progress(&pg, done_n, count, cyc, checked && diff.node < 0, done_n == count || diff.node >= 0);
  }
  const net_report_t r = {.path = path,
                          .backend = be->name,
                          .net = net,
                          .e = e,
                          .info = device ? qnpu_drv_info(qnpu_session_dev(s)) : NULL,
                          .first = in.first,
                          .count = done_n,
                          .correct = correct,
                          .labeled = in.labels != NULL,
                          .input = o->input,
                          .checked = checked,
                          .diff = diff.node >= 0 ? &diff : NULL,
                          .seconds = now() - pg.start};
  if (done_n == count && outs && (rc = write_output(o, net, outs, count, msg, sizeof msg)) >= 0) goto done;
  if (done_n == count && dump && (rc = write_dump(o, net, dump, count, msg, sizeof msg)) >= 0) goto done;
  report_net(o, &r);
  rc = diff.node >= 0 ? EXIT_MISMATCH : EXIT_MATCH;
  msg[0] = '\0';
done:
  qnpu_net_exec_destroy(e), qnpu_net_exec_destroy(ge);
  qnpu_session_close(s), qnpu_session_close(gs);
  for (int t = 0; dump && t < net->n_tensors; t++) free(dump[t]);
  free(dump), free(outs);
  inputs_free(&in);
  if (rc >= EXIT_BADINPUT) return cli_error(o->json, "model", path, o->backend, msg, rc);
  return rc;
}

int cmd_net(const opts_t *o) {
  const char *path = o->positional[0];
  char msg[1600];
  qnpu_net_t net;
  if (load_model(path, &net, msg, sizeof msg)) return cli_error(o->json, "model", path, o->backend, msg, EXIT_BADINPUT);
  const int rc = net.quantized ? run_quantized(o, path, &net) : run_float(o, path, &net);
  qnpu_net_free(&net);
  return rc;
}
