/* qnpu_onnx.c - float ONNX models -> float networks (qnpu_onnx.h). */
#include "qnpu_onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "qnpu_errmsg.h"
#include "qnpu_file.h"

#define MAX_FILE_BYTES (1ull << 30)

typedef Onnx__NodeProto node_t;
typedef Onnx__TensorProto tproto_t;

/* An ONNX value: a tensor of the network (maybe seen flattened, in NCHW
 * order), a constant, or a zero padding waiting for the Conv that reads it. */
typedef struct {
  const char *name;
  int tensor;            /* network tensor, or -1                          */
  int flat;              /* the ONNX value is the tensor flattened (NCHW)   */
  int producer;          /* network node that wrote it, or -1              */
  const tproto_t *konst; /* an initializer or Constant                     */
  int32_t pad[4];        /* a pending zero Pad: top, left, bottom, right    */
  /* quantized models */
  int fin;                       /* the float graph input, not yet quantized      */
  int u8;                        /* the tensor is uint8 in ONNX                   */
  int dq;                        /* a DequantizeLinear (float view) of `tensor`   */
  const tproto_t *qk, *qs, *qz;  /* a DequantizeLinear of constant qk: scale, zp  */
  const node_t *pend, *pend_act; /* a float op over dequantized inputs (and a
                                    Relu/Clip after it) waiting for the
                                    QuantizeLinear that fuses it               */
  size_t fused;                  /* pend: 1 + the index of the value the first
                                    QuantizeLinear made of it (0: none yet)    */
} value_t;

typedef struct {
  const char *path;
  char *err;
  size_t errlen;
  Onnx__GraphProto *g;
  qnpu_net_t *net;
  value_t *vals;
  size_t n_vals, cap_vals;
  int cap_tensors, cap_nodes;
  int quant; /* a quantized model (QDQ or QOperator) */
} ctx_t;

/* ---- errors ----------------------------------------------------------------------- */

static qnpu_status_t fail(ctx_t *c, qnpu_status_t st, const node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static qnpu_status_t fail(ctx_t *c, qnpu_status_t st, const node_t *n, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (n)
    qnpu_path_error(st, c->err, c->errlen, c->path, "node %s (%s): %s", n->name && *n->name ? n->name : "?",
                    n->op_type ? n->op_type : "?", why);
  else
    qnpu_path_error(st, c->err, c->errlen, c->path, "%s", why);
  return st; /* qnpu_path_error makes it one readable line */
}

/* ---- attributes ------------------------------------------------------------------- */

static const Onnx__AttributeProto *attr(const node_t *n, const char *name) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
  return NULL;
}

static int64_t attr_int(const node_t *n, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = attr(n, name);
  return a && a->has_i ? a->i : def;
}

static float attr_float(const node_t *n, const char *name, float def) {
  const Onnx__AttributeProto *a = attr(n, name);
  return a && a->has_f ? a->f : def;
}

/* The INTS attribute name into v[want] (each default def when absent);
 * -1 when present with another length. */
static int attr_ints(const node_t *n, const char *name, int64_t *v, size_t want, int64_t def) {
  const Onnx__AttributeProto *a = attr(n, name);
  for (size_t i = 0; i < want; i++) v[i] = def;
  if (!a) return 0;
  if (a->n_ints != want) return -1;
  for (size_t i = 0; i < want; i++) v[i] = a->ints[i];
  return 0;
}

/* Every attribute of n must be one of the NULL-terminated list. */
static qnpu_status_t only_attrs(ctx_t *c, const node_t *n, const char *const *ok) {
  for (size_t i = 0; i < n->n_attribute; i++) {
    const char *name = n->attribute[i]->name ? n->attribute[i]->name : "";
    const char *const *k = ok;
    while (*k && strcmp(*k, name)) k++;
    if (!*k) return fail(c, QNPU_ERR_UNSUPPORTED, n, "attribute '%s' is not supported", name);
  }
  return QNPU_OK;
}

/* ---- values ----------------------------------------------------------------------- */

static value_t *find(ctx_t *c, const char *name) {
  for (size_t i = c->n_vals; name && i-- > 0;)
    if (!strcmp(c->vals[i].name, name)) return &c->vals[i];
  return NULL;
}

static value_t *add_value(ctx_t *c, const char *name) {
  if (c->n_vals == c->cap_vals) {
    const size_t cap = c->cap_vals ? 2 * c->cap_vals : 64;
    value_t *v = realloc(c->vals, cap * sizeof *v);
    if (!v) return NULL;
    c->vals = v, c->cap_vals = cap;
  }
  value_t *v = &c->vals[c->n_vals++];
  memset(v, 0, sizeof *v);
  v->name = name;
  v->tensor = v->producer = -1;
  return v;
}

/* How many node inputs and graph outputs read the value called name. */
static int uses(const ctx_t *c, const char *name) {
  int k = 0;
  for (size_t i = 0; i < c->g->n_node; i++)
    for (size_t j = 0; j < c->g->node[i]->n_input; j++) k += !strcmp(c->g->node[i]->input[j], name);
  for (size_t i = 0; i < c->g->n_output; i++) k += !strcmp(c->g->output[i]->name, name);
  return k;
}

/* How many node inputs and graph outputs read tensor t under any of its
 * names (a later alias reads one of the names already known). */
static int tensor_uses(const ctx_t *c, int t) {
  int k = 0;
  for (size_t i = 0; i < c->n_vals; i++)
    if (c->vals[i].tensor == t) k += uses(c, c->vals[i].name);
  return k;
}

/* Elements of t; SIZE_MAX when more than 2^40 (no real tensor is). */
static size_t tproto_count(const tproto_t *t) {
  size_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] > ((int64_t)1 << 40)) return SIZE_MAX;
    n *= t->dims[i] > 0 ? (size_t)t->dims[i] : 0;
    if (n > ((size_t)1 << 40)) return SIZE_MAX;
  }
  return n;
}

/* A float tensor's data into out (count finite elements). */
static int tproto_floats(const tproto_t *t, float *out, size_t count) {
  if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || tproto_count(t) != count) return -1;
  if (t->has_raw_data) {
    if (t->raw_data.len != count * 4) return -1;
    for (size_t i = 0; i < count; i++) { /* little-endian IEEE 754 */
      const uint8_t *b = t->raw_data.data + 4 * i;
      const uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
      memcpy(&out[i], &u, 4);
    }
  } else {
    if (t->n_float_data != count) return -1;
    memcpy(out, t->float_data, count * sizeof *out);
  }
  for (size_t i = 0; i < count; i++)
    if (!isfinite(out[i])) return -1;
  return 0;
}

static int tproto_int64s(const tproto_t *t, int64_t *out, size_t count) {
  if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || tproto_count(t) != count) return -1;
  if (t->has_raw_data) {
    if (t->raw_data.len != count * 8) return -1;
    for (size_t i = 0; i < count; i++) {
      uint64_t u = 0;
      for (int k = 7; k >= 0; k--) u = u << 8 | t->raw_data.data[8 * i + (size_t)k];
      out[i] = (int64_t)u;
    }
    return 0;
  }
  if (t->n_int64_data != count) return -1;
  memcpy(out, t->int64_data, count * sizeof *out);
  return 0;
}

/* A float scalar (Clip's bounds). */
static int tproto_scalar(const tproto_t *t, float *v) { return tproto_count(t) == 1 ? tproto_floats(t, v, 1) : -1; }

/* The tensor input i of n (a value that is a network tensor). */
static qnpu_status_t tensor_in(ctx_t *c, const node_t *n, size_t i, value_t **out) {
  value_t *v = i < n->n_input ? find(c, n->input[i]) : NULL;
  if (!v)
    return fail(c, QNPU_ERR_FORMAT, n, "input %zu '%s' is not defined before it is read", i,
                i < n->n_input ? n->input[i] : "");
  if (v->tensor < 0)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "input %zu '%s' must be a tensor, not a constant", i, v->name);
  const char *t = n->op_type ? n->op_type : "";
  if ((v->pad[0] || v->pad[1] || v->pad[2] || v->pad[3]) && strcmp(t, "Conv") && strcmp(t, "Pad") &&
      strcmp(t, "Identity") && strcmp(t, "Dropout") && strcmp(t, "QLinearConv") && strcmp(t, "QuantizeLinear") &&
      strcmp(t, "DequantizeLinear"))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "reads a Pad with nonzero pads (only a Conv can take them over)");
  *out = v;
  return QNPU_OK;
}

/* The constant input i of n, or NULL when it is absent or not a constant. */
static const tproto_t *const_in(ctx_t *c, const node_t *n, size_t i) {
  if (i >= n->n_input || !*n->input[i]) return NULL;
  const value_t *v = find(c, n->input[i]);
  return v ? v->konst : NULL;
}

static void set_name(char *dst, const char *src) { snprintf(dst, QNPU_NET_NAME_MAX, "%s", src && *src ? src : "?"); }

/* A new network tensor h x w x ch called name, written by node n; its value. */
static qnpu_status_t new_tensor_named(ctx_t *c, const node_t *n, const char *name, int32_t h, int32_t w, int32_t ch,
                                      int producer, value_t **out) {
  if (c->net->n_tensors == c->cap_tensors) return fail(c, QNPU_ERR_FORMAT, n, "too many tensors");
  if (h < 1 || w < 1 || ch < 1 || (int64_t)h * w > (1 << 24) || (int64_t)h * w * ch > (1 << 24))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "output shape %dx%dx%d", h, w, ch);
  value_t *v = name ? add_value(c, name) : NULL;
  if (!v) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  qnpu_net_tensor_t *t = &c->net->tensors[c->net->n_tensors];
  set_name(t->name, name);
  t->h = h, t->w = w, t->c = ch;
  v->tensor = c->net->n_tensors++;
  v->producer = producer;
  *out = v;
  return QNPU_OK;
}

/* A new network tensor h x w x ch, the output 0 of n; its value. */
static qnpu_status_t new_tensor(ctx_t *c, const node_t *n, int32_t h, int32_t w, int32_t ch, int producer,
                                value_t **out) {
  return new_tensor_named(c, n, n->n_output ? n->output[0] : NULL, h, w, ch, producer, out);
}

static qnpu_net_node_t *new_node(ctx_t *c, const node_t *n, qnpu_node_kind_t kind) {
  if (c->net->n_nodes == c->cap_nodes) return NULL;
  qnpu_net_node_t *nd = &c->net->nodes[c->net->n_nodes++];
  memset(nd, 0, sizeof *nd);
  nd->kind = kind;
  if (n->name && *n->name)
    set_name(nd->name, n->name);
  else
    snprintf(nd->name, sizeof nd->name, "%s_%d", n->op_type, c->net->n_nodes - 1);
  nd->kh = nd->kw = nd->stride_h = nd->stride_w = nd->dil_h = nd->dil_w = nd->groups = 1;
  nd->n_in = 1;
  return nd;
}

/* Makes the output of n another name of value v (Identity, Dropout, ...). */
static qnpu_status_t alias(ctx_t *c, const node_t *n, const value_t *v) {
  const value_t copy = *v;
  value_t *a = n->n_output ? add_value(c, n->output[0]) : NULL;
  if (!a) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  const char *name = a->name;
  *a = copy;
  a->name = name;
  return QNPU_OK;
}

/* ---- ops ------------------------------------------------------------------------------ */

/* kernel_shape, strides, pads, dilations of a 2-D Conv/pool into nd. */
static qnpu_status_t geometry(ctx_t *c, const node_t *n, qnpu_net_node_t *nd, const value_t *x, int has_dil) {
  int64_t k[2], s[2], p[4], d[2];
  const Onnx__AttributeProto *ap = attr(n, "auto_pad");
  if (ap && ap->has_s && !(ap->s.len == 6 && !memcmp(ap->s.data, "NOTSET", 6)) &&
      !(ap->s.len == 5 && !memcmp(ap->s.data, "VALID", 5)))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "auto_pad=%.*s is not supported (only NOTSET and VALID)", (int)ap->s.len,
                (const char *)ap->s.data);
  if (attr_ints(n, "kernel_shape", k, 2, 0) || attr_ints(n, "strides", s, 2, 1) || attr_ints(n, "pads", p, 4, 0) ||
      attr_ints(n, "dilations", d, 2, 1))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "only 2-D kernels are supported (kernel_shape, strides, pads, dilations)");
  if (!has_dil && (d[0] != 1 || d[1] != 1)) return fail(c, QNPU_ERR_UNSUPPORTED, n, "dilations other than 1");
  for (int i = 0; i < 4; i++)
    if (p[i] < 0 || p[i] > 255 ||
        (i < 2 && (k[i] < 0 || k[i] > 255 || s[i] < 1 || s[i] > 255 || d[i] < 1 || d[i] > 255)))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "kernel, stride, dilation or padding out of range");
  nd->kh = (int32_t)k[0], nd->kw = (int32_t)k[1], nd->stride_h = (int32_t)s[0], nd->stride_w = (int32_t)s[1];
  nd->dil_h = (int32_t)d[0], nd->dil_w = (int32_t)d[1];
  nd->pad_top = (int32_t)p[0] + x->pad[0], nd->pad_left = (int32_t)p[1] + x->pad[1];
  nd->pad_bottom = (int32_t)p[2] + x->pad[2], nd->pad_right = (int32_t)p[3] + x->pad[3];
  return QNPU_OK;
}

static qnpu_status_t out_dims(ctx_t *c, const node_t *n, const qnpu_net_node_t *nd, const qnpu_net_tensor_t *in,
                              int32_t *h, int32_t *w) {
  *h = qnpu_golden_conv_out_dim(in->h, nd->kh, nd->stride_h, nd->dil_h, nd->pad_top, nd->pad_bottom);
  *w = qnpu_golden_conv_out_dim(in->w, nd->kw, nd->stride_w, nd->dil_w, nd->pad_left, nd->pad_right);
  if (*h < 1 || *w < 1)
    return fail(c, QNPU_ERR_FORMAT, n, "the %dx%d kernel does not fit the %dx%d input", nd->kh, nd->kw, in->h, in->w);
  return QNPU_OK;
}

static qnpu_status_t op_conv(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, ok)) || (st = tensor_in(c, n, 0, &x))) return st;
  if (x->flat) return fail(c, QNPU_ERR_UNSUPPORTED, n, "reads a flattened tensor");
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  const tproto_t *wt = const_in(c, n, 1), *bt = const_in(c, n, 2);
  if (!wt) return fail(c, QNPU_ERR_UNSUPPORTED, n, "weights must be an initializer");
  if (n->n_input > 2 && *n->input[2] && !bt) return fail(c, QNPU_ERR_UNSUPPORTED, n, "bias must be an initializer");
  const int64_t groups = attr_int(n, "group", 1);
  if (wt->n_dims != 4 || groups < 1 || in.c % groups || wt->dims[1] != in.c / groups || wt->dims[0] < 1 ||
      wt->dims[0] % groups || wt->dims[0] > (1 << 16) || wt->dims[2] < 1 || wt->dims[2] > 255 || wt->dims[3] < 1 ||
      wt->dims[3] > 255)
    return fail(c, QNPU_ERR_FORMAT, n, "weights of shape [%lld, %lld, ...] do not fit %d input channels in %lld groups",
                wt->n_dims > 0 ? (long long)wt->dims[0] : 0, wt->n_dims > 1 ? (long long)wt->dims[1] : 0, in.c,
                (long long)groups);
  qnpu_net_node_t *nd = new_node(c, n, QNPU_NODE_CONV);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, n, "too many nodes");
  if ((st = geometry(c, n, nd, x, 1))) return st;
  if (nd->kh == 0) nd->kh = (int32_t)wt->dims[2], nd->kw = (int32_t)wt->dims[3];
  if (wt->dims[2] != nd->kh || wt->dims[3] != nd->kw)
    return fail(c, QNPU_ERR_FORMAT, n, "kernel_shape %dx%d but weights %lldx%lld", nd->kh, nd->kw,
                (long long)wt->dims[2], (long long)wt->dims[3]);
  nd->groups = (int32_t)groups;
  nd->in[0] = x->tensor;
  const int32_t o = (int32_t)wt->dims[0], cpg = in.c / nd->groups, kk = nd->kh * nd->kw;
  const size_t nw = (size_t)o * (size_t)kk * (size_t)cpg;
  float *w = malloc(nw * sizeof *w);
  nd->wf = malloc(nw * sizeof *nd->wf);
  if (!w || !nd->wf) return free(w), fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  if (tproto_floats(wt, w, nw))
    return free(w), fail(c, QNPU_ERR_FORMAT, n, "weights are not %zu finite float32 values", nw);
  for (int32_t oc = 0; oc < o; oc++) /* OIHW -> OHWI */
    for (int32_t ic = 0; ic < cpg; ic++)
      for (int32_t k = 0; k < kk; k++)
        nd->wf[((size_t)oc * kk + (size_t)k) * cpg + (size_t)ic] = w[((size_t)oc * cpg + (size_t)ic) * kk + (size_t)k];
  free(w);
  if (bt) {
    if (!(nd->bf = malloc((size_t)o * sizeof *nd->bf))) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
    if (tproto_floats(bt, nd->bf, (size_t)o))
      return fail(c, QNPU_ERR_FORMAT, n, "bias is not %d finite float32 values", o);
  }
  int32_t oh, ow;
  value_t *y;
  if ((st = out_dims(c, n, nd, &in, &oh, &ow))) return st;
  if ((st = new_tensor(c, n, oh, ow, o, c->net->n_nodes - 1, &y))) return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

static qnpu_status_t op_pool(ctx_t *c, const node_t *n, int avg, int global) {
  static const char *const ok_max[] = {"auto_pad", "ceil_mode",     "dilations", "kernel_shape",
                                       "pads",     "storage_order", "strides",   NULL};
  static const char *const ok_avg[] = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads",
                                       "strides",  NULL};
  static const char *const none[] = {NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, global ? none : avg ? ok_avg : ok_max)) || (st = tensor_in(c, n, 0, &x))) return st;
  if (x->flat) return fail(c, QNPU_ERR_UNSUPPORTED, n, "reads a flattened tensor");
  if (n->n_output > 1) return fail(c, QNPU_ERR_UNSUPPORTED, n, "the Indices output is not supported");
  if (attr_int(n, "ceil_mode", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, n, "ceil_mode=1 is not supported");
  if (attr_int(n, "storage_order", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, n, "storage_order=1 is not supported");
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  qnpu_net_node_t *nd = new_node(c, n, avg ? QNPU_NODE_AVGPOOL : QNPU_NODE_MAXPOOL);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, n, "too many nodes");
  if (global) {
    nd->kh = in.h, nd->kw = in.w;
  } else {
    if ((st = geometry(c, n, nd, x, 0))) return st;
    if (nd->kh < 1 || nd->kw < 1) return fail(c, QNPU_ERR_FORMAT, n, "kernel_shape is missing");
    if (avg && attr_int(n, "count_include_pad", 0) && (nd->pad_top || nd->pad_left || nd->pad_bottom || nd->pad_right))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "count_include_pad=1 with padding is not supported");
  }
  nd->in[0] = x->tensor;
  int32_t oh, ow;
  value_t *y;
  if ((st = out_dims(c, n, nd, &in, &oh, &ow))) return st;
  if ((st = new_tensor(c, n, oh, ow, in.c, c->net->n_nodes - 1, &y))) return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* Relu, or Clip(0, 6) (act RELU6): fused into the node that produced its
 * input when this is that value's only reader and the node has no
 * activation yet; otherwise a host RELU node. */
static qnpu_status_t op_relu(ctx_t *c, const node_t *n, int clip) {
  static const char *const ok_clip[] = {"min", "max", NULL};
  static const char *const none[] = {NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, clip ? ok_clip : none)) || (st = tensor_in(c, n, 0, &x))) return st;
  qnpu_act_t act = QNPU_ACT_RELU;
  if (clip) {
    float lo = attr_float(n, "min", -INFINITY), hi = attr_float(n, "max", INFINITY);
    const tproto_t *tl = const_in(c, n, 1), *th = const_in(c, n, 2);
    if ((n->n_input > 1 && *n->input[1] && (!tl || tproto_scalar(tl, &lo))) ||
        (n->n_input > 2 && *n->input[2] && (!th || tproto_scalar(th, &hi))))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "min and max must be float32 scalar initializers");
    if (lo != 0.0f || (hi != 6.0f && !isinf(hi)))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "Clip(%g, %g): only Clip(0, 6) (ReLU6) and Clip(0, inf) are supported",
                  (double)lo, (double)hi);
    if (hi == 6.0f) act = QNPU_ACT_RELU6;
  }
  if (x->producer >= 0 && x->producer == c->net->n_nodes - 1 && tensor_uses(c, x->tensor) == 1) {
    qnpu_net_node_t *p = &c->net->nodes[x->producer];
    if (p->act == QNPU_ACT_NONE && (qnpu_node_on_array(p) || p->kind == QNPU_NODE_ADD)) {
      p->act = act;
      return alias(c, n, x);
    }
  }
  qnpu_net_node_t *nd = new_node(c, n, QNPU_NODE_RELU);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, n, "too many nodes");
  nd->act = act;
  nd->in[0] = x->tensor;
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  value_t *y;
  if ((st = new_tensor(c, n, in.h, in.w, in.c, c->net->n_nodes - 1, &y))) return st;
  y->flat = x->flat;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* A fully-connected node reading x with weights w[o][k] (k in ONNX's
 * flattened NCHW order when x is flattened), bias b[o] or NULL. */
static qnpu_status_t emit_fc(ctx_t *c, const node_t *n, const value_t *x, float *w, float *b, int32_t o) {
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  const size_t k = (size_t)in.h * in.w * in.c;
  qnpu_net_node_t *nd = new_node(c, n, QNPU_NODE_FC);
  if (!nd) return free(w), free(b), fail(c, QNPU_ERR_FORMAT, n, "too many nodes");
  nd->in[0] = x->tensor;
  nd->bf = b;
  if (in.h * in.w == 1) {
    nd->wf = w;
  } else { /* reorder k from (c, y, x) to (y, x, c) */
    if (!(nd->wf = malloc((size_t)o * k * sizeof *nd->wf))) return free(w), fail(c, QNPU_ERR_NOMEM, n, "out of memory");
    for (int32_t j = 0; j < o; j++)
      for (int32_t ch = 0; ch < in.c; ch++)
        for (int32_t p = 0; p < in.h * in.w; p++)
          nd->wf[(size_t)j * k + (size_t)p * in.c + (size_t)ch] =
              w[(size_t)j * k + (size_t)ch * in.h * in.w + (size_t)p];
    free(w);
  }
  value_t *y;
  const qnpu_status_t st = new_tensor(c, n, 1, 1, o, c->net->n_nodes - 1, &y);
  if (st) return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* The [rows][cols] float matrix of t, transposed when trans. */
static float *matrix(const tproto_t *t, int trans, int64_t *rows, int64_t *cols) {
  if (t->n_dims != 2 || t->dims[0] < 1 || t->dims[1] < 1 || t->dims[0] > (1 << 26) || t->dims[1] > (1 << 26) ||
      t->dims[0] * t->dims[1] > (1 << 26))
    return NULL;
  const int64_t r = t->dims[0], cc = t->dims[1];
  float *m = malloc((size_t)(r * cc) * sizeof *m), *out = malloc((size_t)(r * cc) * sizeof *out);
  if (!m || !out || tproto_floats(t, m, (size_t)(r * cc))) return free(m), free(out), NULL;
  for (int64_t i = 0; i < r; i++)
    for (int64_t j = 0; j < cc; j++) out[trans ? j * r + i : i * cc + j] = m[i * cc + j];
  free(m);
  *rows = trans ? cc : r, *cols = trans ? r : cc;
  return out;
}

/* Gemm: y = alpha A B' + beta C (B an initializer [O][K] with transB, else
 * [K][O]); MatMul: y = A B (B [K][O]), whose bias a following Add gives. */
static qnpu_status_t op_gemm(ctx_t *c, const node_t *n, int matmul) {
  static const char *const ok[] = {"alpha", "beta", "transA", "transB", NULL};
  static const char *const none[] = {NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, matmul ? none : ok)) || (st = tensor_in(c, n, 0, &x))) return st;
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  if (!x->flat && in.h * in.w != 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "reads a %dx%dx%d tensor that is not flattened", in.h, in.w, in.c);
  if (attr_int(n, "transA", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, n, "transA=1 is not supported");
  const tproto_t *bt = const_in(c, n, 1), *ct = matmul ? NULL : const_in(c, n, 2);
  if (!bt) return fail(c, QNPU_ERR_UNSUPPORTED, n, "B must be an initializer");
  if (!matmul && n->n_input > 2 && *n->input[2] && !ct)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "C must be an initializer");
  int64_t o, k;
  float *w = matrix(bt, matmul || !attr_int(n, "transB", 0), &o, &k); /* -> [O][K] */
  if (!w) return fail(c, QNPU_ERR_FORMAT, n, "B is not a matrix of finite float32 values");
  if (k != (int64_t)in.h * in.w * in.c || o > (1 << 16))
    return free(w), fail(c, QNPU_ERR_FORMAT, n, "B has %lld rows for %d inputs", (long long)k, in.h * in.w * in.c);
  const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
  if (!isfinite(alpha) || !isfinite(beta) || fabsf(alpha) > 1e6f || fabsf(beta) > 1e6f)
    return free(w), fail(c, QNPU_ERR_UNSUPPORTED, n, "alpha %g and beta %g must be finite (and below 1e6)",
                         (double)alpha, (double)beta);
  for (int64_t i = 0; alpha != 1.0f && i < o * k; i++) w[i] *= alpha;
  float *b = NULL;
  if (ct) {
    const size_t nc = tproto_count(ct);
    if (nc != (size_t)o || !(b = malloc((size_t)o * sizeof *b)) || tproto_floats(ct, b, (size_t)o))
      return free(w), free(b),
             fail(c, QNPU_ERR_UNSUPPORTED, n, "C must hold %lld finite float32 values (one per output)", (long long)o);
    for (int64_t i = 0; i < o; i++) b[i] *= beta;
  }
  return emit_fc(c, n, x, w, b, (int32_t)o);
}

/* Add: of two tensors (a host ADD node), or of a constant bias to the
 * output of a MatMul that has none. */
static qnpu_status_t op_add(ctx_t *c, const node_t *n) {
  static const char *const none[] = {NULL};
  qnpu_status_t st = only_attrs(c, n, none);
  if (st) return st;
  if (n->n_input != 2) return fail(c, QNPU_ERR_FORMAT, n, "needs two inputs");
  const tproto_t *k0 = const_in(c, n, 0), *k1 = const_in(c, n, 1);
  if (k0 || k1) {
    value_t *x;
    if ((st = tensor_in(c, n, k0 ? 1 : 0, &x))) return st;
    const tproto_t *kt = k0 ? k0 : k1;
    qnpu_net_node_t *p = x->producer >= 0 ? &c->net->nodes[x->producer] : NULL;
    const int32_t o = c->net->tensors[x->tensor].c;
    if (!p || p->kind != QNPU_NODE_FC || p->bf || p->act || x->producer != c->net->n_nodes - 1 ||
        tensor_uses(c, x->tensor) != 1 || tproto_count(kt) != (size_t)o)
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "adding a constant is supported only as the bias of a MatMul");
    if (!(p->bf = malloc((size_t)o * sizeof *p->bf))) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
    if (tproto_floats(kt, p->bf, (size_t)o))
      return fail(c, QNPU_ERR_FORMAT, n, "bias is not %d finite float32 values", o);
    return alias(c, n, x);
  }
  value_t *a, *b;
  if ((st = tensor_in(c, n, 0, &a)) || (st = tensor_in(c, n, 1, &b))) return st;
  const qnpu_net_tensor_t ta = c->net->tensors[a->tensor], tb = c->net->tensors[b->tensor];
  if (ta.h != tb.h || ta.w != tb.w || ta.c != tb.c || a->flat != b->flat)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "adds %dx%dx%d to %dx%dx%d (broadcasting is not supported)", ta.h, ta.w,
                ta.c, tb.h, tb.w, tb.c);
  qnpu_net_node_t *nd = new_node(c, n, QNPU_NODE_ADD);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, n, "too many nodes");
  nd->n_in = 2;
  nd->in[0] = a->tensor, nd->in[1] = b->tensor;
  value_t *y;
  if ((st = new_tensor(c, n, ta.h, ta.w, ta.c, c->net->n_nodes - 1, &y))) return st;
  y->flat = a->flat;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* Flatten(axis 1) and Reshape to [batch, -1]: the same tensor, seen flat. */
static qnpu_status_t op_flatten(ctx_t *c, const node_t *n, int reshape) {
  static const char *const ok_f[] = {"axis", NULL};
  static const char *const ok_r[] = {"allowzero", NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, reshape ? ok_r : ok_f)) || (st = tensor_in(c, n, 0, &x))) return st;
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  if (reshape) {
    const tproto_t *s = const_in(c, n, 1);
    int64_t dims[2];
    const int64_t k = (int64_t)in.h * in.w * in.c;
    if (!s || tproto_int64s(s, dims, 2) || (dims[0] != -1 && dims[0] != 0 && dims[0] != 1) ||
        (dims[1] != -1 && dims[1] != k))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "only a reshape to [batch, %lld] (a flatten) is supported", (long long)k);
  } else if (attr_int(n, "axis", 1) != 1) {
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "only axis=1 is supported");
  }
  if ((st = alias(c, n, x))) return st;
  c->vals[c->n_vals - 1].flat = 1;
  return QNPU_OK;
}

/* BatchNormalization (inference) after a Conv: folded into its weights. */
static qnpu_status_t op_batchnorm(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"epsilon", "momentum", "spatial", "training_mode", NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, ok)) || (st = tensor_in(c, n, 0, &x))) return st;
  if (attr_int(n, "training_mode", 0) || n->n_output > 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "training mode is not supported");
  qnpu_net_node_t *p = x->producer >= 0 ? &c->net->nodes[x->producer] : NULL;
  if (!p || p->kind != QNPU_NODE_CONV || p->act || x->producer != c->net->n_nodes - 1 || tensor_uses(c, x->tensor) != 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "only a BatchNormalization right after a Conv (folded into it)");
  const int32_t o = c->net->tensors[x->tensor].c;
  float *v[4] = {NULL};
  for (int i = 0; i < 4; i++) {
    const tproto_t *t = const_in(c, n, (size_t)i + 1);
    if (!(v[i] = malloc((size_t)o * sizeof(float))) || !t || tproto_floats(t, v[i], (size_t)o)) {
      for (int k = 0; k <= i; k++) free(v[k]);
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "scale, B, mean and var must be initializers of %d float32 values", o);
    }
  }
  if (!p->bf && !(p->bf = calloc((size_t)o, sizeof *p->bf))) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  const size_t per = qnpu_net_weight_count(c->net, p) / (size_t)o;
  const double eps = attr_float(n, "epsilon", 1e-5f);
  int bad = !(eps >= 0);
  for (int32_t j = 0; j < o && !bad; j++) {
    const double f = v[0][j] / sqrt((double)v[3][j] + eps);
    for (size_t k = 0; k < per; k++) p->wf[(size_t)j * per + k] = (float)(p->wf[(size_t)j * per + k] * f);
    p->bf[j] = (float)((p->bf[j] - v[2][j]) * f + v[1][j]);
    bad = !isfinite(f) || !isfinite(p->bf[j]);
    for (size_t k = 0; k < per && !bad; k++) bad = !isfinite(p->wf[(size_t)j * per + k]);
  }
  for (int k = 0; k < 4; k++) free(v[k]);
  if (bad)
    return fail(c, QNPU_ERR_FORMAT, n, "folding it into the Conv gives a NaN or an infinity (var + epsilon <= 0?)");
  return alias(c, n, x);
}

/* Pad (constant zeros): nothing when the pads are 0, else held for the
 * Conv that reads the result. */
static qnpu_status_t op_pad(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"mode", "pads", "value", NULL};
  value_t *x;
  qnpu_status_t st;
  if ((st = only_attrs(c, n, ok)) || (st = tensor_in(c, n, 0, &x))) return st;
  const Onnx__AttributeProto *mode = attr(n, "mode");
  if (mode && mode->has_s && !(mode->s.len == 8 && !memcmp(mode->s.data, "constant", 8)))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "mode=%.*s (only constant)", (int)mode->s.len, (const char *)mode->s.data);
  int64_t p[8];
  const tproto_t *pt = const_in(c, n, 1), *vt = const_in(c, n, 2);
  float value = attr_float(n, "value", 0.0f);
  if (pt ? tproto_int64s(pt, p, 8) : attr_ints(n, "pads", p, 8, 0))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "pads must be 8 int64 constants (NCHW begins and ends)");
  if (vt && tproto_scalar(vt, &value))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "the pad value must be a float32 scalar");
  if (value != 0.0f || p[0] || p[1] || p[4] || p[5])
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "only zero padding of H and W is supported");
  for (int i = 0; i < 8; i++)
    if (p[i] < 0 || p[i] > 255) return fail(c, QNPU_ERR_UNSUPPORTED, n, "pads out of range [0, 255]");
  if ((st = alias(c, n, x))) return st;
  int32_t *pad = c->vals[c->n_vals - 1].pad;
  pad[0] += (int32_t)p[2], pad[1] += (int32_t)p[3], pad[2] += (int32_t)p[6], pad[3] += (int32_t)p[7];
  return QNPU_OK;
}

static qnpu_status_t op_constant(ctx_t *c, const node_t *n) {
  const Onnx__AttributeProto *a = attr(n, "value");
  if (n->n_attribute != 1 || !a || !a->t) return fail(c, QNPU_ERR_UNSUPPORTED, n, "only a 'value' tensor attribute");
  value_t *v = n->n_output ? add_value(c, n->output[0]) : NULL;
  if (!v) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  v->konst = a->t;
  return QNPU_OK;
}

static qnpu_status_t op_identity(ctx_t *c, const node_t *n) {
  value_t *x;
  const qnpu_status_t st = tensor_in(c, n, 0, &x);
  return st ? st : alias(c, n, x);
}

static const char kSupported[] =
    "Conv, Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, Add, Gemm, MatMul, Flatten, Reshape, "
    "BatchNormalization, Pad, Dropout, Identity, Constant";

static qnpu_status_t op(ctx_t *c, const node_t *n) {
  const char *t = n->op_type ? n->op_type : "";
  if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "domain '%s' is not supported", n->domain);
  if (n->n_output < 1) return fail(c, QNPU_ERR_FORMAT, n, "has no output");
  if (!strcmp(t, "Conv")) return op_conv(c, n);
  if (!strcmp(t, "Relu")) return op_relu(c, n, 0);
  if (!strcmp(t, "Clip")) return op_relu(c, n, 1);
  if (!strcmp(t, "MaxPool")) return op_pool(c, n, 0, 0);
  if (!strcmp(t, "AveragePool")) return op_pool(c, n, 1, 0);
  if (!strcmp(t, "GlobalAveragePool")) return op_pool(c, n, 1, 1);
  if (!strcmp(t, "Add")) return op_add(c, n);
  if (!strcmp(t, "Gemm")) return op_gemm(c, n, 0);
  if (!strcmp(t, "MatMul")) return op_gemm(c, n, 1);
  if (!strcmp(t, "Flatten")) return op_flatten(c, n, 0);
  if (!strcmp(t, "Reshape")) return op_flatten(c, n, 1);
  if (!strcmp(t, "BatchNormalization")) return op_batchnorm(c, n);
  if (!strcmp(t, "Pad")) return op_pad(c, n);
  if (!strcmp(t, "Constant")) return op_constant(c, n);
  if (!strcmp(t, "Dropout") || !strcmp(t, "Identity")) return op_identity(c, n);
  return fail(c, QNPU_ERR_UNSUPPORTED, n, "op type '%s' is not supported (supported: %s)", t, kSupported);
}

/* ---- quantized models (ONNX Runtime semantics, docs/onnx.md) ------------------------ */

/* ONNX's int4 types (IR 10; the onnx.proto qnpu builds against is older,
 * data_type is a plain int32 there). */
#define DT_UINT4 21
#define DT_INT4 22

/* The quantization of an activation: scale, zero point in qnpu's int8
 * domain (a uint8 u is held as u - 128), and whether ONNX's type is uint8. */
typedef struct {
  float scale;
  int32_t zp;
  int u8;
} qp_t;

static int is_int_type(int32_t dt) {
  return dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
         dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 || dt == DT_INT4 || dt == DT_UINT4;
}

/* An integer initializer's count values into out (int8, uint8, int32,
 * int4, uint4; unsigned ones as they are, 0..255 / 0..15). */
static int tproto_ints(const tproto_t *t, int32_t *out, size_t count) {
  if (!t->has_data_type || !is_int_type(t->data_type) || tproto_count(t) != count) return -1;
  const int32_t dt = t->data_type;
  if (t->has_raw_data) {
    const uint8_t *b = t->raw_data.data;
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
      if (t->raw_data.len != count * 4) return -1;
      for (size_t i = 0; i < count; i++)
        out[i] = (int32_t)((uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                           (uint32_t)b[4 * i + 3] << 24);
    } else if (dt == DT_INT4 || dt == DT_UINT4) { /* two per byte, element 2k in the low nibble */
      if (t->raw_data.len != (count + 1) / 2) return -1;
      for (size_t i = 0; i < count; i++) {
        const int v = (b[i / 2] >> (4 * (i % 2))) & 15;
        out[i] = dt == DT_INT4 && v > 7 ? v - 16 : v;
      }
    } else {
      if (t->raw_data.len != count) return -1;
      for (size_t i = 0; i < count; i++)
        out[i] = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int32_t)(int8_t)b[i] : (int32_t)b[i];
    }
    return 0;
  }
  if (dt == DT_INT4 || dt == DT_UINT4) {
    if (t->n_int32_data != (count + 1) / 2) return -1;
    for (size_t i = 0; i < count; i++) {
      const int v = (t->int32_data[i / 2] >> (4 * (i % 2))) & 15;
      out[i] = dt == DT_INT4 && v > 7 ? v - 16 : v;
    }
    return 0;
  }
  if (t->n_int32_data != count) return -1;
  for (size_t i = 0; i < count; i++) {
    const int32_t v = t->int32_data[i];
    if ((dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 && (v < -128 || v > 127)) ||
        (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 && (v < 0 || v > 255)))
      return -1;
    out[i] = v;
  }
  return 0;
}

/* The scale (input si) and zero point (input zi, may be absent: uint8 0)
 * of a per-tensor quantization, both scalar constants. */
static qnpu_status_t get_qp(ctx_t *c, const node_t *n, size_t si, size_t zi, qp_t *q) {
  const tproto_t *st = const_in(c, n, si), *zt = const_in(c, n, zi);
  if (!st || tproto_count(st) != 1 || tproto_floats(st, &q->scale, 1) || !(q->scale > 0))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "input %zu (a scale) must be a positive float32 scalar constant", si);
  if (zi < n->n_input && *n->input[zi] && !zt)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "input %zu (a zero point) must be a constant", zi);
  int32_t z = 0;
  if (zt &&
      (tproto_count(zt) != 1 || tproto_ints(zt, &z, 1) ||
       (zt->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT8 && zt->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8)))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "input %zu (a zero point) must be an int8 or uint8 scalar", zi);
  q->u8 = !zt || zt->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
  q->zp = q->u8 ? z - 128 : z;
  return QNPU_OK;
}

/* A value that holds a quantized network tensor, or that is a
 * DequantizeLinear view of one: the tensor, with its quantization in *q. */
static int qtensor_of(const ctx_t *c, const value_t *v, qp_t *q) {
  if (!v || v->tensor < 0 || v->fin || v->pend) return -1;
  const qnpu_net_tensor_t *t = &c->net->tensors[v->tensor];
  if (!(t->scale > 0)) return -1;
  *q = (qp_t){t->scale, t->zero_point, v->u8};
  return v->tensor;
}

/* Input i of n: a quantized tensor (QOperator) whose quantization n states
 * in inputs si, zi; for a raw int8/uint8 graph input, n sets it. The
 * stated zero point must be the tensor's own, its scale too. */
static qnpu_status_t qinput(ctx_t *c, const node_t *n, size_t i, size_t si, size_t zi, value_t **out, qp_t *q) {
  qnpu_status_t st = tensor_in(c, n, i, out);
  if (st || (st = get_qp(c, n, si, zi, q))) return st;
  value_t *v = *out;
  if (v->fin || v->pend || v->dq)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "input %zu '%s' must be a quantized tensor", i, v->name);
  qnpu_net_tensor_t *t = &c->net->tensors[v->tensor];
  if (!(t->scale > 0)) { /* a raw quantized graph input: its first reader says how */
    t->scale = q->scale, t->zero_point = q->zp, t->bits = 8, t->uint8 = q->u8;
    v->u8 = q->u8;
    c->net->in_type = q->u8 ? QNPU_IN_UINT8 : QNPU_IN_INT8;
  }
  if (t->scale != q->scale || t->zero_point != q->zp || v->u8 != q->u8)
    return fail(c, QNPU_ERR_UNSUPPORTED, n,
                "input %zu '%s' is read with scale %g and zero point %d, but was written with %g and %d", i, v->name,
                (double)q->scale, q->zp + (q->u8 ? 128 : 0), (double)t->scale, t->zero_point + (v->u8 ? 128 : 0));
  return QNPU_OK;
}

/* A new quantized tensor named name, written by node n. */
static qnpu_status_t new_qtensor(ctx_t *c, const node_t *n, const char *name, int32_t h, int32_t w, int32_t ch,
                                 const qp_t *q, value_t **out) {
  qnpu_status_t st = new_tensor_named(c, n, name, h, w, ch, c->net->n_nodes - 1, out);
  if (st) return st;
  qnpu_net_tensor_t *t = &c->net->tensors[(*out)->tensor];
  t->bits = 8, t->scale = q->scale, t->zero_point = q->zp, t->uint8 = q->u8;
  (*out)->u8 = q->u8;
  return QNPU_OK;
}

/* The weights of a quantized conv/fc: a constant int8/uint8 (or int4)
 * tensor w with per-tensor or per-channel (axis `axis`, o channels) scales
 * ws and zero points wz, the zero points all equal. Fills nd->wscale and
 * nd->wzp, vals (count values, int8 domain) and the precision. */
static qnpu_status_t qweights(ctx_t *c, const node_t *n, qnpu_net_node_t *nd, const tproto_t *w, const tproto_t *ws,
                              const tproto_t *wz, int32_t o, size_t count, int32_t *vals) {
  if (!w || !w->has_data_type || !is_int_type(w->data_type) || w->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "weights must be an int8, uint8 or int4 constant");
  const int32_t dt = w->data_type;
  const int four = dt == DT_INT4 || dt == DT_UINT4, uns = dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 || dt == DT_UINT4;
  if (tproto_ints(w, vals, count)) return fail(c, QNPU_ERR_FORMAT, n, "weights are not %zu integers", count);
  const size_t nws = ws ? tproto_count(ws) : 0, nwz = wz ? tproto_count(wz) : 1;
  if (!ws || (nws != 1 && nws != (size_t)o) || (nwz != 1 && nwz != (size_t)o))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "the weight scale and zero point must be constants of 1 or %d values", o);
  nd->wscale = malloc((size_t)o * sizeof *nd->wscale);
  int32_t *z = malloc(nwz * sizeof *z);
  if (!nd->wscale || !z) return free(z), fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  float s0;
  if (nws == 1 ? tproto_floats(ws, &s0, 1) : tproto_floats(ws, nd->wscale, (size_t)o))
    return free(z), fail(c, QNPU_ERR_FORMAT, n, "the weight scale is not finite float32");
  for (int32_t i = 0; nws == 1 && i < o; i++) nd->wscale[i] = s0;
  for (int32_t i = 0; i < o; i++)
    if (!(nd->wscale[i] > 0)) return free(z), fail(c, QNPU_ERR_FORMAT, n, "weight scale %d is not positive", i);
  if (wz ? tproto_ints(wz, z, nwz) || wz->data_type != dt : (z[0] = 0, 0))
    return free(z), fail(c, QNPU_ERR_UNSUPPORTED, n, "the weight zero point must be a constant of the weights' type");
  for (size_t i = 1; i < nwz; i++)
    if (z[i] != z[0])
      return free(z), fail(c, QNPU_ERR_UNSUPPORTED, n,
                           "per-channel weight zero points must all be equal (ONNX Runtime's rule too)");
  const int32_t shift = uns ? (four ? 8 : 128) : 0; /* unsigned -> signed, exactly: w - zw is kept */
  nd->wzp = z[0] - shift;
  free(z);
  for (size_t i = 0; i < count; i++) vals[i] -= shift;
  nd->prec = four ? QNPU_PREC_W4A8 : QNPU_PREC_W8A8;
  return QNPU_OK;
}

/* The int32 bias (o values) of a quantized conv/fc, or none. */
static qnpu_status_t qbias(ctx_t *c, const node_t *n, qnpu_net_node_t *nd, const tproto_t *b, int32_t o) {
  if (!b) return QNPU_OK;
  if (!b->has_data_type || b->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT32 || tproto_count(b) != (size_t)o)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "the bias must be an int32 constant of %d values", o);
  if (!(nd->bq = malloc((size_t)o * sizeof *nd->bq))) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  if (tproto_ints(b, nd->bq, (size_t)o)) return fail(c, QNPU_ERR_FORMAT, n, "the bias is not %d int32 values", o);
  return QNPU_OK;
}

/* ONNX Runtime's requantization scales, (x_scale * w_scale) / y_scale. */
static qnpu_status_t qrequant(ctx_t *c, const node_t *n, qnpu_net_node_t *nd, float xs, float ys, int32_t o) {
  if (!(nd->rscale = malloc((size_t)o * sizeof *nd->rscale))) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  for (int32_t i = 0; i < o; i++) {
    nd->rscale[i] = qnpu_golden_ort_scale(xs, nd->wscale[i], ys);
    if (!isfinite(nd->rscale[i]))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "channel %d: the requantization scale overflows float32", i);
  }
  nd->act_min = -128, nd->act_max = 127;
  return QNPU_OK;
}

/* A quantized conv: x (quantization xq), constant weights [O][C/g][KH][KW]
 * with scales ws and zero points wz, int32 bias b or NULL, output y_name
 * quantized as yq. a is the node whose attributes give the geometry. */
typedef struct {
  value_t *x;
  qp_t xq, yq;
  const tproto_t *w, *ws, *wz, *b;
  const char *y_name;
} qlin_t;

static qnpu_status_t emit_qconv(ctx_t *c, const node_t *a, const qlin_t *q) {
  static const char *const ok[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
  qnpu_status_t st = only_attrs(c, a, ok);
  if (st) return st;
  if (q->x->flat) return fail(c, QNPU_ERR_UNSUPPORTED, a, "reads a flattened tensor");
  const qnpu_net_tensor_t in = c->net->tensors[q->x->tensor];
  const tproto_t *wt = q->w;
  const int64_t groups = attr_int(a, "group", 1);
  if (!wt || wt->n_dims != 4 || groups < 1 || in.c % groups || wt->dims[1] != in.c / groups || wt->dims[0] < 1 ||
      wt->dims[0] % groups || wt->dims[0] > (1 << 16) || wt->dims[2] < 1 || wt->dims[2] > 255 || wt->dims[3] < 1 ||
      wt->dims[3] > 255)
    return fail(c, QNPU_ERR_FORMAT, a, "weights of shape [%lld, %lld, ...] do not fit %d input channels in %lld groups",
                wt && wt->n_dims > 0 ? (long long)wt->dims[0] : 0, wt && wt->n_dims > 1 ? (long long)wt->dims[1] : 0,
                in.c, (long long)groups);
  qnpu_net_node_t *nd = new_node(c, a, QNPU_NODE_CONV);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, a, "too many nodes");
  if ((st = geometry(c, a, nd, q->x, 1))) return st;
  if (nd->kh == 0) nd->kh = (int32_t)wt->dims[2], nd->kw = (int32_t)wt->dims[3];
  if (wt->dims[2] != nd->kh || wt->dims[3] != nd->kw)
    return fail(c, QNPU_ERR_FORMAT, a, "kernel_shape %dx%d but weights %lldx%lld", nd->kh, nd->kw,
                (long long)wt->dims[2], (long long)wt->dims[3]);
  nd->groups = (int32_t)groups;
  nd->in[0] = q->x->tensor;
  const int32_t o = (int32_t)wt->dims[0], cpg = in.c / nd->groups, kk = nd->kh * nd->kw;
  const size_t nw = (size_t)o * (size_t)kk * (size_t)cpg;
  int32_t *w = malloc(nw * sizeof *w);
  nd->wq = malloc(nw);
  if (!w || !nd->wq) return free(w), fail(c, QNPU_ERR_NOMEM, a, "out of memory");
  if ((st = qweights(c, a, nd, wt, q->ws, q->wz, o, nw, w))) return free(w), st;
  for (int32_t oc = 0; oc < o; oc++) /* OIHW -> OHWI */
    for (int32_t ic = 0; ic < cpg; ic++)
      for (int32_t k = 0; k < kk; k++)
        nd->wq[((size_t)oc * kk + (size_t)k) * cpg + (size_t)ic] =
            (int8_t)w[((size_t)oc * cpg + (size_t)ic) * kk + (size_t)k];
  free(w);
  if ((st = qbias(c, a, nd, q->b, o)) || (st = qrequant(c, a, nd, q->xq.scale, q->yq.scale, o))) return st;
  int32_t oh, ow;
  value_t *y;
  if ((st = out_dims(c, a, nd, &in, &oh, &ow)) || (st = new_qtensor(c, a, q->y_name, oh, ow, o, &q->yq, &y))) return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* A quantized fully-connected layer: weights w as [K][O] (MatMul's B, or
 * Gemm's without transB) or [O][K] (trans). */
static qnpu_status_t emit_qfc(ctx_t *c, const node_t *a, const qlin_t *q, int trans) {
  const qnpu_net_tensor_t in = c->net->tensors[q->x->tensor];
  if (!q->x->flat && in.h * in.w != 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, a, "reads a %dx%dx%d tensor that is not flattened", in.h, in.w, in.c);
  const tproto_t *wt = q->w;
  const int64_t k = (int64_t)in.h * in.w * in.c;
  if (!wt || wt->n_dims != 2 || wt->dims[trans ? 1 : 0] != k || wt->dims[trans ? 0 : 1] < 1 ||
      wt->dims[trans ? 0 : 1] > (1 << 16))
    return fail(c, QNPU_ERR_FORMAT, a, "the weights are not a matrix with %lld %s", (long long)k,
                trans ? "columns" : "rows");
  const int32_t o = (int32_t)wt->dims[trans ? 0 : 1];
  qnpu_net_node_t *nd = new_node(c, a, QNPU_NODE_FC);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, a, "too many nodes");
  nd->in[0] = q->x->tensor;
  const size_t nw = (size_t)o * (size_t)k;
  int32_t *w = malloc(nw * sizeof *w);
  nd->wq = malloc(nw);
  qnpu_status_t st;
  if (!w || !nd->wq) return free(w), fail(c, QNPU_ERR_NOMEM, a, "out of memory");
  if ((st = qweights(c, a, nd, wt, q->ws, q->wz, o, nw, w))) return free(w), st;
  const int32_t hw = in.h * in.w;
  for (int32_t j = 0; j < o; j++) /* -> [O][K], K in NHWC order (ONNX flattens NCHW) */
    for (int32_t ch = 0; ch < in.c; ch++)
      for (int32_t p = 0; p < hw; p++) {
        const size_t kk = (size_t)ch * hw + (size_t)p; /* ONNX's index */
        nd->wq[(size_t)j * k + (size_t)p * in.c + (size_t)ch] =
            (int8_t)w[trans ? (size_t)j * k + kk : kk * (size_t)o + (size_t)j];
      }
  free(w);
  if ((st = qbias(c, a, nd, q->b, o)) || (st = qrequant(c, a, nd, q->xq.scale, q->yq.scale, o))) return st;
  value_t *y;
  if ((st = new_qtensor(c, a, q->y_name, 1, 1, o, &q->yq, &y))) return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

static qnpu_status_t emit_qadd(ctx_t *c, const node_t *a, value_t *x0, value_t *x1, const qp_t *yq,
                               const char *y_name) {
  const qnpu_net_tensor_t ta = c->net->tensors[x0->tensor], tb = c->net->tensors[x1->tensor];
  if (ta.h != tb.h || ta.w != tb.w || ta.c != tb.c || x0->flat != x1->flat)
    return fail(c, QNPU_ERR_UNSUPPORTED, a, "adds %dx%dx%d to %dx%dx%d (broadcasting is not supported)", ta.h, ta.w,
                ta.c, tb.h, tb.w, tb.c);
  qnpu_net_node_t *nd = new_node(c, a, QNPU_NODE_ADD);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, a, "too many nodes");
  nd->n_in = 2, nd->in[0] = x0->tensor, nd->in[1] = x1->tensor;
  nd->act_min = -128, nd->act_max = 127;
  value_t *y;
  const qnpu_status_t st = new_qtensor(c, a, y_name, ta.h, ta.w, ta.c, yq, &y);
  if (st) return st;
  y->flat = x0->flat;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* Max pool (on int8 values: the output keeps the input's quantization),
 * average pool and global average pool (requantizing to yq). */
static qnpu_status_t emit_qpool(ctx_t *c, const node_t *a, value_t *x, qnpu_node_kind_t kind, const qp_t *yq,
                                const char *y_name) {
  static const char *const ok_max[] = {"auto_pad", "ceil_mode",     "dilations", "kernel_shape",
                                       "pads",     "storage_order", "strides",   NULL};
  static const char *const ok_avg[] = {"auto_pad",     "ceil_mode", "channels_last", "count_include_pad",
                                       "kernel_shape", "pads",      "strides",       NULL};
  static const char *const ok_g[] = {"channels_last", NULL};
  qnpu_status_t st = only_attrs(c, a, kind == QNPU_NODE_MAXPOOL ? ok_max : kind == QNPU_NODE_AVGPOOL ? ok_avg : ok_g);
  if (st) return st;
  if (x->flat) return fail(c, QNPU_ERR_UNSUPPORTED, a, "reads a flattened tensor");
  if (a->n_output > 1) return fail(c, QNPU_ERR_UNSUPPORTED, a, "the Indices output is not supported");
  if (attr_int(a, "ceil_mode", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, a, "ceil_mode=1 is not supported");
  if (attr_int(a, "storage_order", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, a, "storage_order=1 is not supported");
  if (attr_int(a, "channels_last", 0)) return fail(c, QNPU_ERR_UNSUPPORTED, a, "channels_last=1 is not supported");
  const qnpu_net_tensor_t in = c->net->tensors[x->tensor];
  qnpu_net_node_t *nd = new_node(c, a, kind);
  if (!nd) return fail(c, QNPU_ERR_FORMAT, a, "too many nodes");
  if (kind == QNPU_NODE_GAVGPOOL) {
    nd->kh = in.h, nd->kw = in.w;
  } else {
    if ((st = geometry(c, a, nd, x, 0))) return st;
    if (nd->kh < 1 || nd->kw < 1) return fail(c, QNPU_ERR_FORMAT, a, "kernel_shape is missing");
    nd->count_include_pad = kind == QNPU_NODE_AVGPOOL && attr_int(a, "count_include_pad", 0) != 0;
  }
  nd->in[0] = x->tensor;
  nd->act_min = -128, nd->act_max = 127;
  int32_t oh = 1, ow = 1;
  value_t *y;
  if ((kind != QNPU_NODE_GAVGPOOL && (st = out_dims(c, a, nd, &in, &oh, &ow))) ||
      (st = new_qtensor(c, a, y_name, oh, ow, in.c, yq, &y)))
    return st;
  nd->out = y->tensor;
  return QNPU_OK;
}

/* ---- QOperator ops ---- */

/* QLinearConv(x, xs, xz, w, ws, wz, ys, yz, B) */
static qnpu_status_t op_qlinearconv(ctx_t *c, const node_t *n) {
  qlin_t q = {.w = const_in(c, n, 3),
              .ws = const_in(c, n, 4),
              .wz = const_in(c, n, 5),
              .b = const_in(c, n, 8),
              .y_name = n->output[0]};
  qnpu_status_t st = qinput(c, n, 0, 1, 2, &q.x, &q.xq);
  if (st || (st = get_qp(c, n, 6, 7, &q.yq))) return st;
  if (n->n_input > 8 && *n->input[8] && !q.b) return fail(c, QNPU_ERR_UNSUPPORTED, n, "the bias must be a constant");
  return emit_qconv(c, n, &q);
}

/* QLinearMatMul(a, as, az, b, bs, bz, ys, yz): b constant [K][N]. */
static qnpu_status_t op_qlinearmatmul(ctx_t *c, const node_t *n) {
  static const char *const none[] = {NULL};
  qlin_t q = {.w = const_in(c, n, 3), .ws = const_in(c, n, 4), .wz = const_in(c, n, 5), .y_name = n->output[0]};
  qnpu_status_t st = only_attrs(c, n, none);
  if (st || (st = qinput(c, n, 0, 1, 2, &q.x, &q.xq)) || (st = get_qp(c, n, 6, 7, &q.yq))) return st;
  if (!q.w) return fail(c, QNPU_ERR_UNSUPPORTED, n, "B must be a constant");
  return emit_qfc(c, n, &q, 0);
}

/* QGemm (com.microsoft)(A, as, az, B, bs, bz, C, ys, yz): alpha 1, transA 0. */
static qnpu_status_t op_qgemm(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"alpha", "transA", "transB", NULL};
  qlin_t q = {.w = const_in(c, n, 3),
              .ws = const_in(c, n, 4),
              .wz = const_in(c, n, 5),
              .b = const_in(c, n, 6),
              .y_name = n->output[0]};
  qnpu_status_t st = only_attrs(c, n, ok);
  if (st || (st = qinput(c, n, 0, 1, 2, &q.x, &q.xq))) return st;
  if (n->n_input < 8 || !*n->input[7])
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "a float output (no y_scale) is not supported");
  if ((st = get_qp(c, n, 7, 8, &q.yq))) return st;
  if (attr_int(n, "transA", 0) || attr_float(n, "alpha", 1.0f) != 1.0f)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "only transA=0 and alpha=1 are supported");
  if (!q.w) return fail(c, QNPU_ERR_UNSUPPORTED, n, "B must be a constant");
  if (n->n_input > 6 && *n->input[6] && !q.b) return fail(c, QNPU_ERR_UNSUPPORTED, n, "C must be a constant");
  return emit_qfc(c, n, &q, attr_int(n, "transB", 0) != 0);
}

/* QLinearAdd (com.microsoft)(a, as, az, b, bs, bz, cs, cz) */
static qnpu_status_t op_qlinearadd(ctx_t *c, const node_t *n) {
  static const char *const none[] = {NULL};
  value_t *a, *b;
  qp_t qa, qb, qc;
  qnpu_status_t st = only_attrs(c, n, none);
  if (st || (st = qinput(c, n, 0, 1, 2, &a, &qa)) || (st = qinput(c, n, 3, 4, 5, &b, &qb)) ||
      (st = get_qp(c, n, 6, 7, &qc)))
    return st;
  return emit_qadd(c, n, a, b, &qc, n->output[0]);
}

/* QLinearAveragePool / QLinearGlobalAveragePool (com.microsoft)(x, xs, xz, ys, yz) */
static qnpu_status_t op_qlinearpool(ctx_t *c, const node_t *n, qnpu_node_kind_t kind) {
  value_t *x;
  qp_t qx, qy;
  qnpu_status_t st = qinput(c, n, 0, 1, 2, &x, &qx);
  if (st || (st = get_qp(c, n, 3, 4, &qy))) return st;
  return emit_qpool(c, n, x, kind, &qy, n->output[0]);
}

/* MaxPool on a quantized tensor (QOperator models; ONNX Runtime's int8
 * MaxPool): the output keeps the input's quantization. */
static qnpu_status_t op_qmaxpool(ctx_t *c, const node_t *n, value_t *x) {
  qp_t q;
  if (qtensor_of(c, x, &q) < 0) return fail(c, QNPU_ERR_UNSUPPORTED, n, "reads a tensor without a quantization");
  return emit_qpool(c, n, x, QNPU_NODE_MAXPOOL, &q, n->output[0]);
}

/* ---- QDQ ---- */

/* DequantizeLinear(x, s, z, axis): of a quantized tensor, a float view of
 * it; of a constant (weights, bias), remembered for the op that reads it. */
static qnpu_status_t op_dequantize(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"axis", NULL};
  qnpu_status_t st = only_attrs(c, n, ok);
  if (st) return st;
  const tproto_t *k = const_in(c, n, 0);
  if (k) {
    if (!k->has_data_type || !is_int_type(k->data_type))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "dequantizes a constant that is not int8, uint8, int4 or int32");
    value_t *v = add_value(c, n->output[0]);
    if (!v) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
    v->qk = k, v->qs = const_in(c, n, 1), v->qz = const_in(c, n, 2);
    if (!v->qs || (n->n_input > 2 && *n->input[2] && !v->qz))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "the scale and zero point must be constants");
    return QNPU_OK;
  }
  value_t *x;
  qp_t q;
  if ((st = qinput(c, n, 0, 1, 2, &x, &q))) return st;
  if ((st = alias(c, n, x))) return st;
  c->vals[c->n_vals - 1].dq = 1;
  return QNPU_OK;
}

/* The tensor behind a dequantized input i of the float op n (its
 * quantization in *q). */
static qnpu_status_t dq_in(ctx_t *c, const node_t *n, size_t i, value_t **out, qp_t *q) {
  qnpu_status_t st = tensor_in(c, n, i, out);
  if (st) return st;
  if (!(*out)->dq || qtensor_of(c, *out, q) < 0)
    return fail(c, QNPU_ERR_UNSUPPORTED, n,
                "input %zu '%s' is not a DequantizeLinear output (a float op needs quantized inputs around it, "
                "QDQ)",
                i, (*out)->name);
  return QNPU_OK;
}

/* A dequantized constant input i of n (weights, bias), or NULL. */
static const value_t *dq_const(ctx_t *c, const node_t *n, size_t i) {
  if (i >= n->n_input || !*n->input[i]) return NULL;
  const value_t *v = find(c, n->input[i]);
  return v && v->qk ? v : NULL;
}

/* A float op whose inputs are dequantized (Conv, Gemm, MatMul, Add,
 * pools): nothing yet; the QuantizeLinear that reads its output fuses it,
 * as ONNX Runtime's QDQ transformer does. */
static qnpu_status_t op_pending(ctx_t *c, const node_t *n) {
  for (size_t i = 0; i < n->n_input; i++) {
    const value_t *v = *n->input[i] ? find(c, n->input[i]) : NULL;
    if (v && v->konst && !v->qk)
      return fail(c, QNPU_ERR_UNSUPPORTED, n,
                  "input %zu '%s' is a float constant; a quantized model needs it "
                  "quantized (a DequantizeLinear of an integer constant)",
                  i, v->name);
  }
  value_t *y = add_value(c, n->output[0]);
  if (!y) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
  y->pend = n;
  return QNPU_OK;
}

/* Relu or Clip after a pending op: kept for the QuantizeLinear to check. */
static qnpu_status_t op_pending_act(ctx_t *c, const node_t *n, value_t *x) {
  if (x->pend_act || uses(c, x->name) != 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "an activation must be the only reader of its input");
  const qnpu_status_t st = alias(c, n, x);
  if (!st) c->vals[c->n_vals - 1].pend_act = n;
  return st;
}

/* Whether ONNX Runtime drops activation act in front of a QuantizeLinear
 * with quantization q (ReluQuantFusion, ClipQuantFusion): Relu when the
 * zero point is the type's minimum, Clip(lo, hi) when [lo, hi] covers the
 * quantized range. Otherwise it would run the op in float. */
static qnpu_status_t act_dropped(ctx_t *c, const node_t *act, const qp_t *q) {
  const float lower = q->scale * (float)(-128 - q->zp), upper = q->scale * (float)(127 - q->zp);
  if (!strcmp(act->op_type, "Relu")) {
    if (q->zp == -128) return QNPU_OK;
  } else {
    float lo = attr_float(act, "min", -INFINITY), hi = attr_float(act, "max", INFINITY);
    const tproto_t *tl = const_in(c, act, 1), *th = const_in(c, act, 2);
    if ((act->n_input > 1 && *act->input[1] && (!tl || tproto_scalar(tl, &lo))) ||
        (act->n_input > 2 && *act->input[2] && (!th || tproto_scalar(th, &hi))))
      return fail(c, QNPU_ERR_UNSUPPORTED, act, "min and max must be float32 scalar constants");
    if (lo <= lower && hi >= upper) return QNPU_OK;
  }
  return fail(c, QNPU_ERR_UNSUPPORTED, act,
              "the following QuantizeLinear (scale %g, zero point %d) does not make it redundant; ONNX Runtime "
              "would run the op before it in float",
              (double)q->scale, q->zp);
}

static qnpu_status_t fuse_first(ctx_t *c, const node_t *qn, value_t *pv, const qp_t *yq, const node_t *n, const char *t,
                                const char *y);

/* Whether every reader of value name is a QuantizeLinear (as input 0). */
static int only_quantize_reads(const ctx_t *c, const char *name) {
  for (size_t i = 0; i < c->g->n_node; i++) {
    const node_t *n = c->g->node[i];
    for (size_t j = 0; j < n->n_input; j++)
      if (!strcmp(n->input[j], name) && (j || strcmp(n->op_type ? n->op_type : "", "QuantizeLinear"))) return 0;
  }
  for (size_t i = 0; i < c->g->n_output; i++)
    if (!strcmp(c->g->output[i]->name, name)) return 0;
  return 1;
}

/* QuantizeLinear of a pending op's output: the op, quantized. A second
 * QuantizeLinear of the same output with the same quantization (QDQ's
 * "dedicated pairs") is the same tensor, as ONNX Runtime merges them. */
static qnpu_status_t fuse(ctx_t *c, const node_t *qn, value_t *pv, const qp_t *yq) {
  const node_t *n = pv->pend;
  const char *t = n->op_type, *y = qn->output[0];
  qnpu_status_t st;
  if (!only_quantize_reads(c, pv->name))
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "its output must be read only by QuantizeLinear nodes (QDQ)");
  if (pv->fused) {
    const size_t k = pv->fused - 1;
    qp_t have;
    if (qtensor_of(c, &c->vals[k], &have) < 0 || have.scale != yq->scale || have.zp != yq->zp || have.u8 != yq->u8)
      return fail(c, QNPU_ERR_UNSUPPORTED, qn, "quantizes '%s' a second time, differently", pv->name);
    return alias(c, qn, &c->vals[k]);
  }
  const size_t pi = (size_t)(pv - c->vals);
  st = fuse_first(c, qn, pv, yq, n, t, y);
  if (!st) c->vals[pi].fused = c->n_vals; /* the value just made (vals may have moved) */
  return st;
}

static qnpu_status_t fuse_first(ctx_t *c, const node_t *qn, value_t *pv, const qp_t *yq, const node_t *n, const char *t,
                                const char *y) {
  (void)qn;
  qnpu_status_t st;
  if (pv->pend_act && (st = act_dropped(c, pv->pend_act, yq))) return st;
  qlin_t q = {.yq = *yq, .y_name = y};
  if (!strcmp(t, "Conv") || !strcmp(t, "Gemm") || !strcmp(t, "MatMul")) {
    const int conv = !strcmp(t, "Conv"), gemm = !strcmp(t, "Gemm");
    static const char *const ok_g[] = {"alpha", "beta", "transA", "transB", NULL};
    static const char *const none[] = {NULL};
    if (!conv && (st = only_attrs(c, n, gemm ? ok_g : none))) return st;
    if ((st = dq_in(c, n, 0, &q.x, &q.xq))) return st;
    const value_t *w = dq_const(c, n, 1), *b = dq_const(c, n, 2);
    if (!w) return fail(c, QNPU_ERR_UNSUPPORTED, n, "the weights must be a DequantizeLinear of a constant");
    if (n->n_input > 2 && *n->input[2] && (!b || conv + gemm == 0))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "the bias must be a DequantizeLinear of an int32 constant");
    q.w = w->qk, q.ws = w->qs, q.wz = w->qz, q.b = b ? b->qk : NULL;
    if (gemm &&
        (attr_int(n, "transA", 0) || attr_float(n, "alpha", 1.0f) != 1.0f || attr_float(n, "beta", 1.0f) != 1.0f))
      return fail(c, QNPU_ERR_UNSUPPORTED, n, "only transA=0, alpha=1 and beta=1 are supported");
    return conv ? emit_qconv(c, n, &q) : emit_qfc(c, n, &q, gemm && attr_int(n, "transB", 0));
  }
  if (!strcmp(t, "Add")) {
    static const char *const none[] = {NULL};
    value_t *a, *b;
    qp_t qa, qb;
    if ((st = only_attrs(c, n, none)) || (st = dq_in(c, n, 0, &a, &qa)) || (st = dq_in(c, n, 1, &b, &qb))) return st;
    return emit_qadd(c, n, a, b, yq, y);
  }
  value_t *x;
  qp_t qx;
  if ((st = dq_in(c, n, 0, &x, &qx))) return st;
  if (!strcmp(t, "MaxPool") || !strcmp(t, "Relu") || !strcmp(t, "Clip")) {
    if (qx.scale != yq->scale || qx.zp != yq->zp || qx.u8 != yq->u8)
      return fail(c, QNPU_ERR_UNSUPPORTED, n,
                  "its input and output quantizations differ; ONNX Runtime would run it in float and requantize");
    if (!strcmp(t, "MaxPool")) return emit_qpool(c, n, x, QNPU_NODE_MAXPOOL, yq, y);
    if ((st = act_dropped(c, n, yq))) return st;
    const value_t copy = *x; /* an activation the quantization already applies: nothing */
    value_t *a = add_value(c, y);
    if (!a) return fail(c, QNPU_ERR_NOMEM, n, "out of memory");
    *a = copy, a->name = y, a->dq = 0;
    return QNPU_OK;
  }
  if (!strcmp(t, "AveragePool")) return emit_qpool(c, n, x, QNPU_NODE_AVGPOOL, yq, y);
  if (!strcmp(t, "GlobalAveragePool")) return emit_qpool(c, n, x, QNPU_NODE_GAVGPOOL, yq, y);
  return fail(c, QNPU_ERR_UNSUPPORTED, n, "op type '%s' between DequantizeLinear and QuantizeLinear is not supported",
              t);
}

/* QuantizeLinear(x, s, z): of the float graph input, the network's input
 * quantization; of a pending op, that op quantized; of a dequantized tensor
 * with the same quantization, nothing. */
static qnpu_status_t op_quantize(ctx_t *c, const node_t *n) {
  static const char *const ok[] = {"axis", "saturate", NULL};
  value_t *x;
  qp_t q;
  qnpu_status_t st = only_attrs(c, n, ok);
  if (st || (st = get_qp(c, n, 1, 2, &q))) return st;
  value_t *pv = n->n_input ? find(c, n->input[0]) : NULL;
  if (pv && pv->pend) return fuse(c, n, pv, &q);
  if ((st = tensor_in(c, n, 0, &x))) return st;
  if (x->fin) {
    qnpu_net_tensor_t *t = &c->net->tensors[x->tensor];
    if (t->scale > 0) return fail(c, QNPU_ERR_UNSUPPORTED, n, "the graph input is quantized twice");
    t->bits = 8, t->scale = q.scale, t->zero_point = q.zp, t->uint8 = q.u8;
    if ((st = alias(c, n, x))) return st;
    value_t *v = &c->vals[c->n_vals - 1];
    v->fin = 0, v->u8 = q.u8;
    return QNPU_OK;
  }
  qp_t have;
  if (x->dq && qtensor_of(c, x, &have) >= 0 && have.scale == q.scale && have.zp == q.zp && have.u8 == q.u8) {
    if ((st = alias(c, n, x))) return st;
    c->vals[c->n_vals - 1].dq = 0;
    return QNPU_OK;
  }
  return fail(c, QNPU_ERR_UNSUPPORTED, n,
              "quantizes '%s', which is not the graph input, a supported op's output or the same quantization "
              "again",
              x->name);
}

static const char kSupportedQ[] =
    "QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearAveragePool, "
    "QLinearGlobalAveragePool, and between DequantizeLinear and QuantizeLinear: Conv, Gemm, MatMul, Add, MaxPool, "
    "AveragePool, GlobalAveragePool, Relu, Clip; MaxPool, Flatten, Reshape, Pad (zeros, into a Conv), Identity, "
    "Dropout, Constant";

/* One node of a quantized model. */
static qnpu_status_t op_q(ctx_t *c, const node_t *n) {
  const char *t = n->op_type ? n->op_type : "";
  const int ms = n->domain && !strcmp(n->domain, "com.microsoft");
  if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") && !ms)
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "domain '%s' is not supported", n->domain);
  if (n->n_output < 1) return fail(c, QNPU_ERR_FORMAT, n, "has no output");
  if (ms) {
    if (!strcmp(t, "QGemm")) return op_qgemm(c, n);
    if (!strcmp(t, "QLinearAdd")) return op_qlinearadd(c, n);
    if (!strcmp(t, "QLinearAveragePool")) return op_qlinearpool(c, n, QNPU_NODE_AVGPOOL);
    if (!strcmp(t, "QLinearGlobalAveragePool")) return op_qlinearpool(c, n, QNPU_NODE_GAVGPOOL);
    if (!strcmp(t, "QLinearConv")) return op_qlinearconv(c, n);
    return fail(c, QNPU_ERR_UNSUPPORTED, n, "op type 'com.microsoft.%s' is not supported (supported: %s)", t,
                kSupportedQ);
  }
  if (!strcmp(t, "QuantizeLinear")) return op_quantize(c, n);
  if (!strcmp(t, "DequantizeLinear")) return op_dequantize(c, n);
  if (!strcmp(t, "QLinearConv")) return op_qlinearconv(c, n);
  if (!strcmp(t, "QLinearMatMul")) return op_qlinearmatmul(c, n);
  if (!strcmp(t, "Constant")) return op_constant(c, n);
  value_t *x = n->n_input ? find(c, n->input[0]) : NULL;
  if (!strcmp(t, "Relu") || !strcmp(t, "Clip")) {
    if (x && x->pend) return op_pending_act(c, n, x);
    if (x && x->dq) return op_pending(c, n);
    return fail(c, QNPU_ERR_UNSUPPORTED, n,
                "%s of a quantized tensor: only between DequantizeLinear and "
                "QuantizeLinear (ONNX Runtime has no int8 %s)",
                t, t);
  }
  if (!strcmp(t, "Flatten") || !strcmp(t, "Reshape") || !strcmp(t, "Identity") || !strcmp(t, "Dropout") ||
      !strcmp(t, "Pad")) {
    if (!strcmp(t, "Pad") && x && !x->pend && !x->fin) return op_pad(c, n); /* zero padding: the zero point */
    if (x && (x->pend || x->fin))
      return fail(c, QNPU_ERR_UNSUPPORTED, n,
                  "reads a float tensor; put it between DequantizeLinear and "
                  "QuantizeLinear");
    return !strcmp(t, "Flatten")   ? op_flatten(c, n, 0)
           : !strcmp(t, "Reshape") ? op_flatten(c, n, 1)
                                   : op_identity(c, n);
  }
  if (!strcmp(t, "MaxPool") && x && !x->dq && !x->pend && !x->fin && x->tensor >= 0) return op_qmaxpool(c, n, x);
  if (!strcmp(t, "Conv") || !strcmp(t, "Gemm") || !strcmp(t, "MatMul") || !strcmp(t, "Add") || !strcmp(t, "MaxPool") ||
      !strcmp(t, "AveragePool") || !strcmp(t, "GlobalAveragePool"))
    return op_pending(c, n);
  return fail(c, QNPU_ERR_UNSUPPORTED, n, "op type '%s' is not supported in a quantized model (supported: %s)", t,
              kSupportedQ);
}

/* Whether the model is quantized: any Q/DQ or QLinear op. */
static int is_quantized(const Onnx__GraphProto *g) {
  for (size_t i = 0; i < g->n_node; i++) {
    const char *t = g->node[i]->op_type ? g->node[i]->op_type : "";
    if (!strcmp(t, "QuantizeLinear") || !strcmp(t, "DequantizeLinear") || !strncmp(t, "QLinear", 7) ||
        !strcmp(t, "QGemm"))
      return 1;
  }
  return 0;
}

/* ---- the model ---------------------------------------------------------------------- */

static const char *meta(const Onnx__ModelProto *m, const char *key) {
  for (size_t i = 0; i < m->n_metadata_props; i++)
    if (m->metadata_props[i]->key && !strcmp(m->metadata_props[i]->key, key)) return m->metadata_props[i]->value;
  return NULL;
}

static int64_t dim(const Onnx__TensorShapeProto *s, size_t i) {
  return s->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? s->dim[i]->dim_value : -1;
}

/* The graph's one float input [N, C, H, W] as tensor 0. */
static qnpu_status_t graph_input(ctx_t *c) {
  const Onnx__ValueInfoProto *in = NULL;
  for (size_t i = 0; i < c->g->n_input; i++) {
    const value_t *v = find(c, c->g->input[i]->name);
    if (v && v->konst) continue; /* an initializer listed as an input (IR < 4) */
    if (in)
      return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "the model has more than one input ('%s', '%s')", in->name,
                  c->g->input[i]->name);
    in = c->g->input[i];
  }
  if (!in) return fail(c, QNPU_ERR_FORMAT, NULL, "the graph has no input");
  const Onnx__TypeProto *tp = in->type;
  const Onnx__TypeProto__Tensor *tt =
      tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? tp->tensor_type : NULL;
  const int32_t et = tt && tt->has_elem_type ? tt->elem_type : -1;
  const int fl = et == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  const int ints =
      c->quant && (et == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 || et == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8);
  const size_t rank = tt && tt->shape ? tt->shape->n_dim : 0;
  if (!(fl || ints) || (rank != 4 && !(c->quant && rank == 2)))
    return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "input '%s' must be a %s tensor [N, C, H, W]%s", in->name,
                c->quant ? "float32, int8 or uint8" : "float32", c->quant ? " or [N, K]" : "");
  const int64_t ch = dim(tt->shape, 1), h = rank == 4 ? dim(tt->shape, 2) : 1, w = rank == 4 ? dim(tt->shape, 3) : 1;
  if (ch < 1 || h < 1 || w < 1 || ch > (1 << 24) || h > (1 << 24) || w > (1 << 24) || ch * h * w > (1 << 24))
    return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "input '%s' needs fixed C, H, W (has %lld, %lld, %lld)", in->name,
                (long long)ch, (long long)h, (long long)w);
  value_t *v = add_value(c, in->name);
  if (!v) return fail(c, QNPU_ERR_NOMEM, NULL, "out of memory");
  qnpu_net_tensor_t *t = &c->net->tensors[0];
  set_name(t->name, in->name);
  t->h = (int32_t)h, t->w = (int32_t)w, t->c = (int32_t)ch;
  v->tensor = 0;
  v->flat = rank == 2;
  v->fin = c->quant && fl; /* the first reader, a QuantizeLinear, quantizes it */
  c->net->in_type = fl ? QNPU_IN_FLOAT : et == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ? QNPU_IN_UINT8 : QNPU_IN_INT8;
  c->net->n_tensors = 1;
  c->net->input = 0;
  return QNPU_OK;
}

/* The output of a quantized model: a quantized tensor, or its dequantized
 * float view. Every tensor must have been given a quantization. */
static qnpu_status_t quant_output(ctx_t *c, const value_t *y) {
  qp_t q;
  if (qtensor_of(c, y, &q) < 0)
    return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "output '%s' is not a quantized tensor or its DequantizeLinear",
                y->name);
  c->net->out_type = y->dq ? QNPU_OUT_FLOAT : q.u8 ? QNPU_OUT_UINT8 : QNPU_OUT_INT8;
  for (int t = 0; t < c->net->n_tensors; t++)
    if (!(c->net->tensors[t].scale > 0))
      return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "tensor '%s' is never quantized", c->net->tensors[t].name);
  return QNPU_OK;
}

/* A name the file left out is "" from here on (protobuf-c leaves it NULL;
 * the "" is malloc'd, as free_unpacked frees it). 0, or -1 out of memory. */
static int name_everything(Onnx__GraphProto *g) {
  for (size_t i = 0; i < g->n_input; i++)
    if (!g->input[i]->name && !(g->input[i]->name = strdup(""))) return -1;
  for (size_t i = 0; i < g->n_output; i++)
    if (!g->output[i]->name && !(g->output[i]->name = strdup(""))) return -1;
  for (size_t i = 0; i < g->n_initializer; i++)
    if (!g->initializer[i]->name && !(g->initializer[i]->name = strdup(""))) return -1;
  return 0;
}

static qnpu_status_t convert(ctx_t *c, const Onnx__ModelProto *m) {
  c->g = m->graph;
  if (!c->g) return fail(c, QNPU_ERR_FORMAT, NULL, "no graph");
  if (name_everything(c->g)) return fail(c, QNPU_ERR_NOMEM, NULL, "out of memory");
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version && o->version < 7)
      return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "opset %lld (qnpu imports opset 7 and later)", (long long)o->version);
  }
  qnpu_status_t st = qnpu_net_alloc(c->net, (int)c->g->n_node + 2, (int)c->g->n_node);
  if (st) return fail(c, st, NULL, c->g->n_node > QNPU_NET_MAX_NODES ? "more than 4096 nodes" : "out of memory");
  c->cap_tensors = c->net->n_tensors, c->cap_nodes = c->net->n_nodes;
  c->net->n_tensors = c->net->n_nodes = 0;
  for (size_t i = 0; i < c->g->n_initializer; i++) {
    value_t *v = add_value(c, c->g->initializer[i]->name ? c->g->initializer[i]->name : "");
    if (!v) return fail(c, QNPU_ERR_NOMEM, NULL, "out of memory");
    v->konst = c->g->initializer[i];
  }
  c->quant = is_quantized(c->g);
  c->net->quantized = c->quant;
  c->net->semantics = c->quant ? QNPU_SEM_ORT : QNPU_SEM_TFLITE;
  if ((st = graph_input(c))) return st;
  for (size_t i = 0; i < c->g->n_node; i++)
    if ((st = c->quant ? op_q(c, c->g->node[i]) : op(c, c->g->node[i]))) return st;
  if (c->g->n_output != 1)
    return fail(c, QNPU_ERR_UNSUPPORTED, NULL, "the model must have one output, not %zu", c->g->n_output);
  const value_t *y = find(c, c->g->output[0]->name);
  if (!y || (y->tensor < 0 && !y->pend))
    return fail(c, QNPU_ERR_FORMAT, NULL, "output '%s' is not computed", c->g->output[0]->name);
  if (c->quant && (st = quant_output(c, y))) return st;
  c->net->output = y->tensor;
  c->net->out_rank = y->flat || (y->producer >= 0 && c->net->nodes[y->producer].kind == QNPU_NODE_FC) ? 2 : 4;
  c->net->classes = (int)qnpu_net_tensor_size(c->net, y->tensor);
  const char *s = meta(m, "qnpu.input_scale"), *o = meta(m, "qnpu.input_offset"), *ti = meta(m, "qnpu.train_images");
  c->net->train_images = ti ? (int32_t)strtol(ti, NULL, 10) : 0;
  if (c->net->train_images < 0) return fail(c, QNPU_ERR_FORMAT, NULL, "bad qnpu.train_images metadata");
  c->net->in_scale = s ? strtof(s, NULL) : 1.0f / 255.0f;
  c->net->in_offset = o ? strtof(o, NULL) : 0.0f;
  if (!isfinite(c->net->in_scale) || !isfinite(c->net->in_offset) || c->net->in_scale <= 0)
    return fail(c, QNPU_ERR_FORMAT, NULL, "bad qnpu.input_scale or qnpu.input_offset metadata");
  if (c->quant) qnpu_net_make_lut(c->net);
  const char *base = strrchr(c->path, '/');
  snprintf(c->net->meta, sizeof c->net->meta, "source=%s producer=%s %s%s", base ? base + 1 : c->path,
           m->producer_name ? m->producer_name : "?", m->producer_version ? m->producer_version : "",
           c->quant ? " semantics=onnxruntime" : "");
  char why[256];
  if ((st = qnpu_net_check(c->net, why, sizeof why))) return fail(c, st, NULL, "%s", why);
  return QNPU_OK;
}

qnpu_status_t qnpu_onnx_load(const char *path, qnpu_net_t *net, char *err, size_t errlen) {
  if (!path || !net) return QNPU_ERR_ARG;
  memset(net, 0, sizeof *net);
  uint8_t *buf;
  size_t len;
  qnpu_status_t st = qnpu_file_read(path, MAX_FILE_BYTES, &buf, &len, err, errlen);
  if (st) return st;
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  free(buf);
  if (!m) return qnpu_path_error(QNPU_ERR_FORMAT, err, errlen, path, "not an ONNX model (protobuf parse failed)");
  ctx_t c = {.path = path, .err = err, .errlen = errlen, .net = net};
  st = convert(&c, m);
  free(c.vals);
  onnx__model_proto__free_unpacked(m, NULL);
  if (st) qnpu_net_free(net);
  return st;
}
