/* layer_case.c - load, validate and save layer cases; qnpu_case_layer()
 * turns one into the layer model that the golden model and runtime run. */
#include "layer_case.h"

#include "qnpu_errmsg.h"
#include "qnpu_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* indexed by qnpu_requant_mode_t */
static const char *const kRequantNames[] = {"tflite_q31", "float_rne", "none", "ort_f32"};
#define N_REQUANT (sizeof kRequantNames / sizeof *kRequantNames)

const char *qnpu_case_requant_name(qnpu_requant_mode_t m) { return (unsigned)m < N_REQUANT ? kRequantNames[m] : "?"; }

/* Validation context: where to report and what we are reading. */
typedef struct {
  char path[1200]; /* the file being read (layer.json or an .npy) */
  char *err;
  size_t errlen;
} ctx_t;

static qnpu_status_t bad(const ctx_t *x, qnpu_status_t s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static qnpu_status_t bad(const ctx_t *x, qnpu_status_t s, const char *field, const char *fmt, ...) {
  if (x->err && x->errlen) {
    int n = field ? snprintf(x->err, x->errlen, "%s: field '%s': ", x->path, field)
                  : snprintf(x->err, x->errlen, "%s: ", x->path);
    if (n < 0) n = 0;
    if ((size_t)n < x->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
    qnpu_printable(x->err); /* a JSON string may hold a newline: still one line */
  }
  return s;
}

/* ---- JSON fields ------------------------------------------------------- */

static int as_int32(const cJSON *v, int32_t *out) {
  if (!cJSON_IsNumber(v)) return 0;
  const double d = v->valuedouble;
  if (d != floor(d) || d < -2147483648.0 || d > 2147483647.0) return 0;
  *out = (int32_t)d;
  return 1;
}

/* Integer field; absent -> default when !required. */
static qnpu_status_t get_int(const ctx_t *x, const cJSON *root, const char *key, int required, int32_t dflt,
                             int32_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) {
    if (required) return bad(x, QNPU_ERR_FORMAT, key, "missing (required)");
    *out = dflt;
    return QNPU_OK;
  }
  if (!as_int32(v, out)) return bad(x, QNPU_ERR_FORMAT, key, "expected a 32-bit integer");
  return QNPU_OK;
}

/* Array of exactly n integers (n == 0: any length 1..4 into *n_out). */
static qnpu_status_t get_int_array(const ctx_t *x, const cJSON *root, const char *key, int required, int n,
                                   const int32_t *dflt, int32_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) {
    if (required) return bad(x, QNPU_ERR_FORMAT, key, "missing (required)");
    memcpy(out, dflt, (size_t)n * sizeof *out);
    return QNPU_OK;
  }
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
    return bad(x, QNPU_ERR_FORMAT, key, "expected an array of %d integers", n);
  for (int i = 0; i < n; i++)
    if (!as_int32(cJSON_GetArrayItem(v, i), &out[i]))
      return bad(x, QNPU_ERR_FORMAT, key, "element %d is not a 32-bit integer", i);
  return QNPU_OK;
}

static qnpu_status_t get_shape(const ctx_t *x, const cJSON *root, const char *key, int rank, int64_t *out) {
  int32_t v[4];
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!a) return bad(x, QNPU_ERR_FORMAT, key, "missing (required)");
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != rank)
    return bad(x, QNPU_ERR_FORMAT, key, "expected %d dimensions%s", rank,
               rank == 4 ? " (NHWC / OHWI)" : " ([N, K] / [O, K])");
  qnpu_status_t st = get_int_array(x, root, key, 1, rank, NULL, v);
  if (st) return st;
  for (int i = 0; i < rank; i++) {
    if (v[i] < 1) return bad(x, QNPU_ERR_FORMAT, key, "dimension %d is %d (must be >= 1)", i, v[i]);
    out[i] = v[i];
  }
  return QNPU_OK;
}

/* String field that must be one of names[0..n). */
static qnpu_status_t get_enum(const ctx_t *x, const cJSON *root, const char *key, const char *const *names, int n,
                              qnpu_status_t unknown, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) return bad(x, QNPU_ERR_FORMAT, key, "missing (required)");
  if (!cJSON_IsString(v)) return bad(x, QNPU_ERR_FORMAT, key, "expected a string");
  for (int i = 0; i < n; i++)
    if (strcmp(v->valuestring, names[i]) == 0) {
      *out = i;
      return QNPU_OK;
    }
  char list[128] = "";
  for (int i = 0; i < n; i++) {
    strncat(list, names[i], sizeof list - strlen(list) - 1);
    if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
  }
  return bad(x, unknown, key, "unsupported value '%s' (supported: %s)", v->valuestring, list);
}

static void get_string(const cJSON *root, const char *key, char *out, size_t n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (cJSON_IsString(v)) snprintf(out, n, "%s", v->valuestring);
}

static int32_t bits_min(int bits) { return -(INT32_C(1) << (bits - 1)); }
static int32_t bits_max(int bits) { return (INT32_C(1) << (bits - 1)) - 1; }

static qnpu_status_t check_range(const ctx_t *x, const char *key, int32_t v, int32_t lo, int32_t hi) {
  if (v < lo || v > hi) return bad(x, QNPU_ERR_FORMAT, key, "%d is outside [%d, %d]", v, lo, hi);
  return QNPU_OK;
}

/* ---- tensors ------------------------------------------------------------- */

static void shape_str(const int64_t *s, int n, char *buf, size_t len) {
  int k = snprintf(buf, len, "[");
  for (int i = 0; i < n && k > 0 && (size_t)k < len; i++)
    k += snprintf(buf + k, len - (size_t)k, "%s%lld", i ? ", " : "", (long long)s[i]);
  if (k > 0 && (size_t)k < len) snprintf(buf + k, len - (size_t)k, "]");
}

/* Reads DIR/file into *a and checks dtype and shape. optional: a missing
 * file is fine (a->data stays NULL). */
static qnpu_status_t load_tensor(ctx_t *x, const char *dir, const char *file, int optional, qnpu_dtype_t dt, int ndim,
                                 const int64_t *shape, int allow_scalar_1, qnpu_npy_t *a) {
  snprintf(x->path, sizeof x->path, "%s/%s", dir, file);
  if (access(x->path, F_OK) != 0) {
    if (optional) return QNPU_OK;
    return bad(x, QNPU_ERR_FORMAT, NULL, "missing file (required for this case)");
  }
  const qnpu_status_t st = qnpu_npy_read(x->path, a, x->err, x->errlen);
  if (st) return st == QNPU_ERR_IO ? QNPU_ERR_FORMAT : st;
  if (a->dtype != dt)
    return bad(x, QNPU_ERR_FORMAT, NULL, "wrong dtype %s (expected %s)", qnpu_dtype_name(a->dtype),
               qnpu_dtype_name(dt));
  int same = a->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = a->shape[i] == shape[i];
  if (!same && allow_scalar_1 && a->ndim == 1 && a->shape[0] == 1) same = 1;
  if (!same) {
    char got[96], want[96];
    shape_str(a->shape, a->ndim, got, sizeof got);
    shape_str(shape, ndim, want, sizeof want);
    return bad(x, QNPU_ERR_FORMAT, NULL, "wrong shape %s (expected %s%s)", got, want, allow_scalar_1 ? " or [1]" : "");
  }
  return QNPU_OK;
}

/* Every int8 element must fit `bits`. */
static qnpu_status_t check_values(const ctx_t *x, const qnpu_npy_t *a, int bits, const char *what) {
  const int8_t *v = a->data;
  for (size_t i = 0; i < a->count; i++)
    if (v[i] < bits_min(bits) || v[i] > bits_max(bits))
      return bad(x, QNPU_ERR_FORMAT, NULL, "element %zu is %d, outside the declared %s of %d bits [%d, %d]", i, v[i],
                 what, bits, bits_min(bits), bits_max(bits));
  return QNPU_OK;
}

int32_t qnpu_case_expected_at(const qnpu_case_t *c, size_t i) {
  return c->output_int32 ? ((const int32_t *)c->expected.data)[i] : ((const int8_t *)c->expected.data)[i];
}

size_t qnpu_case_output_count(const qnpu_case_t *c) {
  size_t n = 1;
  for (int i = 0; i < c->rank; i++) n *= (size_t)c->output_shape[i];
  return n;
}

/* ---- load -------------------------------------------------------------- */

static qnpu_status_t parse_json(ctx_t *x, const cJSON *j, qnpu_case_t *c) {
  qnpu_status_t st;
  const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
  if (!fmt) return bad(x, QNPU_ERR_FORMAT, "format", "missing (required, \"%s\")", QNPU_CASE_FORMAT);
  if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, QNPU_CASE_FORMAT) != 0)
    return bad(x, QNPU_ERR_UNSUPPORTED, "format", "expected \"%s\"", QNPU_CASE_FORMAT);
  get_string(j, "name", c->name, sizeof c->name);
  get_string(j, "source", c->source, sizeof c->source);

  int op, rq, out;
  const char *ops[3];
  for (int i = 0; i < 3; i++) ops[i] = qnpu_op_name((qnpu_op_t)i);
  if ((st = get_enum(x, j, "op", ops, 3, QNPU_ERR_UNSUPPORTED, &op))) return st;
  c->op = (qnpu_op_t)op;
  c->rank = c->op == QNPU_OP_FULLY_CONNECTED ? 2 : 4;
  if ((st = get_shape(x, j, "input_shape", c->rank, c->input_shape)) ||
      (st = get_shape(x, j, "filter_shape", c->rank, c->filter_shape)) ||
      (st = get_shape(x, j, "output_shape", c->rank, c->output_shape)))
    return st;

  static const int32_t one2[2] = {1, 1}, zero4[4] = {0, 0, 0, 0};
  int32_t bits[3];
  if ((st = get_int_array(x, j, "stride", 0, 2, one2, c->stride)) ||
      (st = get_int_array(x, j, "dilation", 0, 2, one2, c->dilation)) ||
      (st = get_int_array(x, j, "padding", 0, 4, zero4, c->padding)) ||
      (st = get_int(x, j, "groups", 0, 1, &c->groups)) ||
      (st = get_int(x, j, "depth_multiplier", 0, 1, &c->depth_multiplier)) ||
      (st = get_int(x, j, "input_zero_point", 1, 0, &c->input_zero_point)) ||
      (st = get_int(x, j, "filter_zero_point", 0, 0, &c->filter_zero_point)) ||
      (st = get_int(x, j, "output_zero_point", 1, 0, &c->output_zero_point)) ||
      (st = get_int(x, j, "act_min", 1, 0, &c->act_min)) || (st = get_int(x, j, "act_max", 1, 0, &c->act_max)) ||
      (st = get_int(x, j, "input_bits", 0, 8, &bits[0])) || (st = get_int(x, j, "weight_bits", 0, 8, &bits[1])) ||
      (st = get_int(x, j, "output_bits", 0, 8, &bits[2])))
    return st;
  if ((st = get_enum(x, j, "requant", kRequantNames, N_REQUANT, QNPU_ERR_UNSUPPORTED, &rq))) return st;
  static const char *const kOutNames[] = {"int8", "int32"};
  if ((st = get_enum(x, j, "output", kOutNames, 2, QNPU_ERR_UNSUPPORTED, &out))) return st;
  c->requant = (qnpu_requant_mode_t)rq;
  c->output_int32 = out == 1;
  c->input_bits = bits[0];
  c->weight_bits = bits[1];
  c->output_bits = bits[2];

  /* Parameter ranges. */
  for (int i = 0; i < 2; i++) {
    if (c->stride[i] < 1) return bad(x, QNPU_ERR_FORMAT, "stride", "must be >= 1");
    if (c->dilation[i] < 1) return bad(x, QNPU_ERR_FORMAT, "dilation", "must be >= 1");
  }
  for (int i = 0; i < 4; i++)
    if (c->padding[i] < 0) return bad(x, QNPU_ERR_FORMAT, "padding", "must be >= 0");
  if (c->groups < 1) return bad(x, QNPU_ERR_FORMAT, "groups", "must be >= 1");
  if (c->depth_multiplier < 1) return bad(x, QNPU_ERR_FORMAT, "depth_multiplier", "must be >= 1");
  if (qnpu_prec_of_bits(bits[0], bits[1], bits[2], &c->precision) != QNPU_OK)
    return bad(x, QNPU_ERR_UNSUPPORTED, "input_bits",
               "precision input/weight/output = %d/%d/%d bits is not supported "
               "(supported: W8A8 8/8/8, W4A8 8/4/8, W4A4 4/4/4)",
               bits[0], bits[1], bits[2]);
  if ((c->requant == QNPU_REQUANT_NONE) != c->output_int32)
    return bad(x, QNPU_ERR_FORMAT, "output", "\"int32\" output goes with requant \"none\" and only with it");
  if ((st = check_range(x, "input_zero_point", c->input_zero_point, bits_min(bits[0]), bits_max(bits[0]))) ||
      (st = check_range(x, "filter_zero_point", c->filter_zero_point, bits_min(bits[1]), bits_max(bits[1]))))
    return st;
  if (!c->output_int32) {
    const int32_t lo = bits_min(bits[2]), hi = bits_max(bits[2]);
    /* TFLite carries Zy as int32 and CMSIS-NN data uses 128 for an int8
     * output, so any int16 value is accepted (the clamp still applies). */
    if ((st = check_range(x, "output_zero_point", c->output_zero_point, INT16_MIN, INT16_MAX)) ||
        (st = check_range(x, "act_min", c->act_min, lo, hi)) || (st = check_range(x, "act_max", c->act_max, lo, hi)))
      return st;
    if (c->act_min > c->act_max)
      return bad(x, QNPU_ERR_FORMAT, "act_min", "act_min %d > act_max %d", c->act_min, c->act_max);
  }

  /* Shapes against each other. */
  const int64_t *in = c->input_shape, *f = c->filter_shape, *o = c->output_shape;
  if (c->op == QNPU_OP_FULLY_CONNECTED) {
    if (f[1] != in[1])
      return bad(x, QNPU_ERR_FORMAT, "filter_shape", "K = %lld does not match input_shape K = %lld", (long long)f[1],
                 (long long)in[1]);
    if (o[0] != in[0] || o[1] != f[0])
      return bad(x, QNPU_ERR_FORMAT, "output_shape", "expected [%lld, %lld] ([N, O])", (long long)in[0],
                 (long long)f[0]);
    return QNPU_OK;
  }
  int64_t oc;
  if (c->op == QNPU_OP_CONV2D) {
    if (in[3] % c->groups || f[0] % c->groups)
      return bad(x, QNPU_ERR_FORMAT, "groups", "%d does not divide input channels %lld and output channels %lld",
                 c->groups, (long long)in[3], (long long)f[0]);
    if (f[3] * c->groups != in[3])
      return bad(x, QNPU_ERR_FORMAT, "filter_shape",
                 "input channels per filter %lld x groups %d != input channels %lld", (long long)f[3], c->groups,
                 (long long)in[3]);
    oc = f[0];
  } else {
    if (f[0] != 1) return bad(x, QNPU_ERR_FORMAT, "filter_shape", "depthwise filters are [1, KH, KW, O]");
    if (f[3] != in[3] * c->depth_multiplier)
      return bad(x, QNPU_ERR_FORMAT, "filter_shape", "O = %lld != input channels %lld x depth_multiplier %d",
                 (long long)f[3], (long long)in[3], c->depth_multiplier);
    oc = f[3];
  }
  const int32_t oh = qnpu_golden_conv_out_dim((int32_t)in[1], (int32_t)f[1], c->stride[0], c->dilation[0],
                                              c->padding[0], c->padding[2]);
  const int32_t ow = qnpu_golden_conv_out_dim((int32_t)in[2], (int32_t)f[2], c->stride[1], c->dilation[1],
                                              c->padding[1], c->padding[3]);
  if (oh < 1 || ow < 1)
    return bad(x, QNPU_ERR_FORMAT, "filter_shape", "the dilated kernel does not fit the padded input");
  if (o[0] != in[0] || o[1] != oh || o[2] != ow || o[3] != oc)
    return bad(x, QNPU_ERR_FORMAT, "output_shape",
               "[%lld, %lld, %lld, %lld] is inconsistent with input, filter, stride, "
               "padding and dilation, which give [%lld, %d, %d, %lld]",
               (long long)o[0], (long long)o[1], (long long)o[2], (long long)o[3], (long long)in[0], oh, ow,
               (long long)oc);
  return QNPU_OK;
}

static int64_t case_out_channels(const qnpu_case_t *c) {
  return c->op == QNPU_OP_FULLY_CONNECTED ? c->filter_shape[0]
         : c->op == QNPU_OP_CONV2D        ? c->filter_shape[0]
                                          : c->filter_shape[3];
}

qnpu_status_t qnpu_case_load(const char *dir, qnpu_case_t *c, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  ctx_t x = {.err = err, .errlen = errlen};
  snprintf(x.path, sizeof x.path, "%s/layer.json", dir);
  uint8_t *buf;
  size_t len;
  if (qnpu_file_read(x.path, 64u << 20, &buf, &len, err, errlen)) return QNPU_ERR_FORMAT;
  char *text = (char *)buf;
  cJSON *j = cJSON_Parse(text);
  qnpu_status_t st = QNPU_OK;
  if (!j) {
    const char *at = cJSON_GetErrorPtr();
    const long off = at ? (long)(at - text) : -1;
    st = bad(&x, QNPU_ERR_FORMAT, NULL, "invalid JSON near byte %ld", off);
  } else if (!cJSON_IsObject(j)) {
    st = bad(&x, QNPU_ERR_FORMAT, NULL, "expected a JSON object");
  } else {
    st = parse_json(&x, j, c);
  }
  cJSON_Delete(j);
  free(text);
  if (st) return st;
  if (!c->name[0]) {
    const char *slash = strrchr(dir, '/');
    snprintf(c->name, sizeof c->name, "%s", slash && slash[1] ? slash + 1 : dir);
  }

  const int64_t o = case_out_channels(c);
  if ((st = load_tensor(&x, dir, "input.npy", 0, QNPU_DT_INT8, c->rank, c->input_shape, 0, &c->input)) ||
      (st = check_values(&x, &c->input, c->input_bits, "input width")) ||
      (st = load_tensor(&x, dir, "filter.npy", 0, QNPU_DT_INT8, c->rank, c->filter_shape, 0, &c->filter)) ||
      (st = check_values(&x, &c->filter, c->weight_bits, "weight width")) ||
      (st = load_tensor(&x, dir, "bias.npy", 1, QNPU_DT_INT32, 1, &o, 0, &c->bias)))
    return st;
  if (c->requant != QNPU_REQUANT_NONE) {
    /* float_rne and ort_f32 cases may carry M0/shift too; required only for tflite_q31. */
    const int opt = c->requant != QNPU_REQUANT_TFLITE_Q31;
    if ((st = load_tensor(&x, dir, "multiplier.npy", opt, QNPU_DT_INT32, 1, &o, 1, &c->multiplier)) ||
        (st = load_tensor(&x, dir, "shift.npy", opt, QNPU_DT_INT32, 1, &o, 1, &c->shift)))
      return st;
    if (c->multiplier.data && c->shift.data && c->multiplier.count != c->shift.count)
      return bad(&x, QNPU_ERR_FORMAT, NULL, "has %zu values but multiplier.npy has %zu", c->shift.count,
                 c->multiplier.count);
    for (size_t i = 0; c->shift.data && i < c->shift.count; i++) {
      const int32_t s = ((const int32_t *)c->shift.data)[i];
      if (s < -31 || s > 30) return bad(&x, QNPU_ERR_FORMAT, NULL, "element %zu is %d, outside [-31, 30]", i, s);
    }
    snprintf(x.path, sizeof x.path, "%s/multiplier.npy", dir);
    for (size_t i = 0; c->multiplier.data && i < c->multiplier.count; i++)
      if (((const int32_t *)c->multiplier.data)[i] < 0)
        return bad(&x, QNPU_ERR_FORMAT, NULL, "element %zu is negative", i);
  }
  if (c->requant == QNPU_REQUANT_FLOAT_RNE || c->requant == QNPU_REQUANT_ORT_F32) {
    /* float_rne: float64 scales; ort_f32: float32 ones, as ONNX Runtime computes them */
    const int f32 = c->requant == QNPU_REQUANT_ORT_F32;
    if ((st = load_tensor(&x, dir, "requant_scale.npy", 0, f32 ? QNPU_DT_FLOAT32 : QNPU_DT_FLOAT64, 1, &o, 1,
                          &c->requant_scale)))
      return st;
    for (size_t i = 0; i < c->requant_scale.count; i++) {
      const double s = f32 ? ((const float *)c->requant_scale.data)[i] : ((const double *)c->requant_scale.data)[i];
      if (!isfinite(s) || s < 0.0)
        return bad(&x, QNPU_ERR_FORMAT, NULL, "element %zu is %g (must be finite and >= 0)", i, s);
    }
  }
  const qnpu_dtype_t edt = c->output_int32 ? QNPU_DT_INT32 : QNPU_DT_INT8;
  if ((st = load_tensor(&x, dir, "expected.npy", 1, edt, c->rank, c->output_shape, 0, &c->expected))) return st;
  if (c->expected.data && !c->output_int32 && (st = check_values(&x, &c->expected, c->output_bits, "output width")))
    return st;
  return QNPU_OK;
}

/* ---- run ----------------------------------------------------------------- */

qnpu_layer_t qnpu_case_layer(const qnpu_case_t *c) {
  qnpu_layer_t l = {
      .op = c->op,
      .prec = c->precision,
      .rq = {.mode = c->requant,
             .multiplier = c->multiplier.data,
             .shift = c->shift.data,
             .scale = c->requant == QNPU_REQUANT_FLOAT_RNE ? c->requant_scale.data : NULL,
             .scale_f32 = c->requant == QNPU_REQUANT_ORT_F32 ? c->requant_scale.data : NULL,
             .output_zero_point = c->output_zero_point,
             .act_min = c->act_min,
             .act_max = c->act_max},
      .input = c->input.data,
      .filter = c->filter.data,
      .bias = c->bias.data,
  };
  const int fscale = c->requant == QNPU_REQUANT_FLOAT_RNE || c->requant == QNPU_REQUANT_ORT_F32;
  const qnpu_npy_t *per = fscale ? &c->requant_scale : &c->multiplier;
  l.rq.per_channel = per->count > 1; /* a [1] array is one per-tensor value */
  const int fc = c->op == QNPU_OP_FULLY_CONNECTED;
  const qnpu_conv_params_t p = {
      .n = (int32_t)c->input_shape[0],
      .h = fc ? 1 : (int32_t)c->input_shape[1],
      .w = fc ? 1 : (int32_t)c->input_shape[2],
      .c = (int32_t)c->input_shape[fc ? 1 : 3],
      .out_c = (int32_t)case_out_channels(c),
      .kh = fc ? 1 : (int32_t)c->filter_shape[1],
      .kw = fc ? 1 : (int32_t)c->filter_shape[2],
      .stride_h = fc ? 1 : c->stride[0],
      .stride_w = fc ? 1 : c->stride[1],
      .dil_h = fc ? 1 : c->dilation[0],
      .dil_w = fc ? 1 : c->dilation[1],
      .pad_top = fc ? 0 : c->padding[0],
      .pad_left = fc ? 0 : c->padding[1],
      .pad_bottom = fc ? 0 : c->padding[2],
      .pad_right = fc ? 0 : c->padding[3],
      .groups = c->op == QNPU_OP_CONV2D ? c->groups : 1,
      .depth_multiplier = c->depth_multiplier,
      .input_zero_point = c->input_zero_point,
      .filter_zero_point = c->filter_zero_point,
  };
  l.p = p;
  return l;
}

/* ---- save ---------------------------------------------------------------- */

static cJSON *int_array(const int64_t *v64, const int32_t *v32, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v64 ? (double)v64[i] : (double)v32[i]));
  return a;
}

static qnpu_status_t save_tensor(const char *dir, const char *file, const qnpu_npy_t *a, char *err, size_t errlen) {
  if (!a->data) return QNPU_OK;
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return qnpu_npy_write(path, a->dtype, a->ndim, a->shape, a->data, err, errlen);
}

qnpu_status_t qnpu_case_save(const qnpu_case_t *c, const char *dir, char *err, size_t errlen) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return QNPU_ERR_NOMEM;
  cJSON_AddStringToObject(j, "format", QNPU_CASE_FORMAT);
  cJSON_AddStringToObject(j, "name", c->name);
  cJSON_AddStringToObject(j, "source", c->source);
  cJSON_AddStringToObject(j, "op", qnpu_op_name(c->op));
  cJSON_AddItemToObject(j, "input_shape", int_array(c->input_shape, NULL, c->rank));
  cJSON_AddItemToObject(j, "filter_shape", int_array(c->filter_shape, NULL, c->rank));
  cJSON_AddItemToObject(j, "output_shape", int_array(c->output_shape, NULL, c->rank));
  cJSON_AddItemToObject(j, "stride", int_array(NULL, c->stride, 2));
  cJSON_AddItemToObject(j, "dilation", int_array(NULL, c->dilation, 2));
  cJSON_AddItemToObject(j, "padding", int_array(NULL, c->padding, 4));
  cJSON_AddNumberToObject(j, "groups", c->groups);
  cJSON_AddNumberToObject(j, "depth_multiplier", c->depth_multiplier);
  cJSON_AddNumberToObject(j, "input_zero_point", c->input_zero_point);
  cJSON_AddNumberToObject(j, "filter_zero_point", c->filter_zero_point);
  cJSON_AddNumberToObject(j, "output_zero_point", c->output_zero_point);
  cJSON_AddNumberToObject(j, "act_min", c->act_min);
  cJSON_AddNumberToObject(j, "act_max", c->act_max);
  cJSON_AddNumberToObject(j, "input_bits", c->input_bits);
  cJSON_AddNumberToObject(j, "weight_bits", c->weight_bits);
  cJSON_AddNumberToObject(j, "output_bits", c->output_bits);
  cJSON_AddStringToObject(j, "requant", qnpu_case_requant_name(c->requant));
  cJSON_AddStringToObject(j, "output", c->output_int32 ? "int32" : "int8");
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  if (!text) return QNPU_ERR_NOMEM;
  char path[1200];
  snprintf(path, sizeof path, "%s/layer.json", dir);
  FILE *fp = fopen(path, "w");
  qnpu_status_t st = QNPU_OK;
  if (!fp || fputs(text, fp) < 0 || fputc('\n', fp) == EOF) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    st = QNPU_ERR_IO;
  }
  if (fp && fclose(fp) != 0 && st == QNPU_OK) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    st = QNPU_ERR_IO;
  }
  free(text);
  if (st) return st;
  if ((st = save_tensor(dir, "input.npy", &c->input, err, errlen)) ||
      (st = save_tensor(dir, "filter.npy", &c->filter, err, errlen)) ||
      (st = save_tensor(dir, "bias.npy", &c->bias, err, errlen)) ||
      (st = save_tensor(dir, "multiplier.npy", &c->multiplier, err, errlen)) ||
      (st = save_tensor(dir, "shift.npy", &c->shift, err, errlen)) ||
      (st = save_tensor(dir, "requant_scale.npy", &c->requant_scale, err, errlen)) ||
      (st = save_tensor(dir, "expected.npy", &c->expected, err, errlen)))
    return st;
  return QNPU_OK;
}

void qnpu_case_free(qnpu_case_t *c) {
  qnpu_npy_free(&c->input);
  qnpu_npy_free(&c->filter);
  qnpu_npy_free(&c->bias);
  qnpu_npy_free(&c->multiplier);
  qnpu_npy_free(&c->shift);
  qnpu_npy_free(&c->requant_scale);
  qnpu_npy_free(&c->expected);
}
