/* qnpu_net.c - the network type (qnpu_net.h): names, shapes, the graph
 * check and the layer view of a conv/fc node. */
#include "qnpu_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnpu_errmsg.h"

static const char *const kKindNames[QNPU_NODE_KINDS] = {"conv", "fc", "maxpool", "avgpool", "add", "relu", "gavgpool"};

const char *qnpu_node_kind_name(qnpu_node_kind_t k) { return (unsigned)k < QNPU_NODE_KINDS ? kKindNames[k] : "?"; }

const char *qnpu_act_name(qnpu_act_t a) {
  return a == QNPU_ACT_NONE ? "none" : a == QNPU_ACT_RELU ? "relu" : a == QNPU_ACT_RELU6 ? "relu6" : "?";
}

int qnpu_node_on_array(const qnpu_net_node_t *nd) { return nd->kind == QNPU_NODE_CONV || nd->kind == QNPU_NODE_FC; }

int32_t qnpu_net_out_c(const qnpu_net_t *net, const qnpu_net_node_t *nd) { return net->tensors[nd->out].c; }

size_t qnpu_net_tensor_size(const qnpu_net_t *net, int t) {
  const qnpu_net_tensor_t *x = &net->tensors[t];
  return (size_t)x->h * (size_t)x->w * (size_t)x->c;
}

size_t qnpu_net_weight_count(const qnpu_net_t *net, const qnpu_net_node_t *nd) {
  const size_t o = (size_t)qnpu_net_out_c(net, nd), in = qnpu_net_tensor_size(net, nd->in[0]);
  if (nd->kind == QNPU_NODE_FC) return o * in;
  const int32_t c = net->tensors[nd->in[0]].c;
  return o * (size_t)nd->kh * (size_t)nd->kw * (size_t)(nd->groups > 0 ? c / nd->groups : 0);
}

qnpu_status_t qnpu_net_alloc(qnpu_net_t *net, int n_tensors, int n_nodes) {
  memset(net, 0, sizeof *net);
  if (n_tensors < 1 || n_tensors > QNPU_NET_MAX_TENSORS || n_nodes < 0 || n_nodes > QNPU_NET_MAX_NODES)
    return QNPU_ERR_ARG;
  net->tensors = calloc((size_t)n_tensors, sizeof *net->tensors);
  net->nodes = calloc(n_nodes ? (size_t)n_nodes : 1, sizeof *net->nodes);
  if (!net->tensors || !net->nodes) {
    qnpu_net_free(net);
    return QNPU_ERR_NOMEM;
  }
  net->n_tensors = n_tensors;
  net->n_nodes = n_nodes;
  net->out_rank = 2;
  return QNPU_OK;
}

void qnpu_net_free(qnpu_net_t *net) {
  if (!net) return;
  for (int i = 0; net->nodes && i < net->n_nodes; i++) {
    qnpu_net_node_t *nd = &net->nodes[i];
    free(nd->wf), free(nd->bf), free(nd->wq), free(nd->bq), free(nd->m0), free(nd->shift), free(nd->wscale);
    free(nd->rscale);
  }
  free(net->tensors);
  free(net->nodes);
  memset(net, 0, sizeof *net);
}

/* ---- the graph check ------------------------------------------------------------------ */

#define FAIL(...) return qnpu_error(QNPU_ERR_FORMAT, err, errlen, __VA_ARGS__)

static int fits_bits(int32_t v, int bits) { return v >= -(1 << (bits - 1)) && v < (1 << (bits - 1)); }

/* The quantization fields of a quantized network's node. */
static qnpu_status_t check_quant_node(const qnpu_net_t *net, const qnpu_net_node_t *nd, char *err, size_t errlen) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
  if (!fits_bits(nd->act_min, out->bits) || !fits_bits(nd->act_max, out->bits) || nd->act_min > nd->act_max)
    FAIL("node %s: clamp [%d, %d] is not inside the %d-bit output", nd->name, nd->act_min, nd->act_max, out->bits);
  switch (nd->kind) {
    case QNPU_NODE_CONV:
    case QNPU_NODE_FC: {
      const qnpu_prec_info_t *pi = qnpu_prec_info(nd->prec);
      if (!pi) FAIL("node %s: unknown precision %d", nd->name, (int)nd->prec);
      if (in->bits > pi->input_bits) FAIL("node %s: a %d-bit input does not fit %s", nd->name, in->bits, pi->name);
      if (out->bits > pi->output_bits || !fits_bits(nd->act_max, pi->output_bits))
        FAIL("node %s: a %d-bit output does not fit %s", nd->name, out->bits, pi->name);
      const int ort = net->semantics == QNPU_SEM_ORT;
      if (!nd->wq || !nd->wscale || (ort ? !nd->rscale : !nd->m0 || !nd->shift))
        FAIL("node %s: missing weights or requantization", nd->name);
      const size_t nw = qnpu_net_weight_count(net, nd);
      for (size_t i = 0; i < nw; i++)
        if (!fits_bits(nd->wq[i], pi->weight_bits))
          FAIL("node %s: weight %zu is %d, outside the %d-bit range", nd->name, i, nd->wq[i], pi->weight_bits);
      if (!fits_bits(nd->wzp, pi->weight_bits))
        FAIL("node %s: weight zero point %d is outside the %d-bit range", nd->name, nd->wzp, pi->weight_bits);
      for (int32_t c = 0; c < out->c; c++) {
        if (!(nd->wscale[c] > 0) || !isfinite(nd->wscale[c]))
          FAIL("node %s: channel %d has a bad weight scale %g", nd->name, c, (double)nd->wscale[c]);
        if (ort ? !(nd->rscale[c] >= 0) || !isfinite(nd->rscale[c])
                : nd->m0[c] < 0 || nd->shift[c] < -31 || nd->shift[c] > 30)
          FAIL("node %s: channel %d has a bad requantization (%s)", nd->name, c,
               ort ? "float32 scale" : "multiplier or shift");
      }
      return QNPU_OK;
    }
    case QNPU_NODE_ADD:
    case QNPU_NODE_GAVGPOOL:
    case QNPU_NODE_AVGPOOL:
      if (net->semantics == QNPU_SEM_ORT) { /* float32 kernels: any scales, int8 in and out */
        if (in->bits != 8 || out->bits != 8 || nd->act_min != -128 || nd->act_max != 127)
          FAIL("node %s: ONNX Runtime's %s is int8 in and out, without a clamp", nd->name,
               qnpu_node_kind_name(nd->kind));
        return QNPU_OK;
      }
      if (nd->kind != QNPU_NODE_ADD) goto keep;
      {
        const qnpu_add_params_t *a = &nd->add;
        if (a->left_shift < 0 || a->left_shift > 24 || a->input1_multiplier < 0 || a->input2_multiplier < 0 ||
            a->output_multiplier < 0 || a->input1_shift > 0 || a->input1_shift < -31 || a->input2_shift > 0 ||
            a->input2_shift < -31 || a->output_shift > 0 || a->output_shift < -31)
          FAIL("node %s: bad add parameters", nd->name);
        if (a->input1_offset != -in->zero_point || a->input2_offset != -net->tensors[nd->in[1]].zero_point ||
            a->output_offset != out->zero_point || a->act_min != nd->act_min || a->act_max != nd->act_max)
          FAIL("node %s: add offsets or clamp disagree with its tensors", nd->name);
        return QNPU_OK;
      }
    default: /* max pool, relu and TFLite's average pools keep the quantization of their input */
    keep:
      if (in->bits != out->bits || in->scale != out->scale || in->zero_point != out->zero_point)
        FAIL("node %s: a %s must keep its input's quantization (bits, scale, zero point)", nd->name,
             qnpu_node_kind_name(nd->kind));
      return QNPU_OK;
  }
}

/* The output shape node nd gives from its input (h, w, c); 0 if none. */
static int expected_out(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t *h, int32_t *w, int32_t *c) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
  switch (nd->kind) {
    case QNPU_NODE_CONV:
    case QNPU_NODE_MAXPOOL:
    case QNPU_NODE_AVGPOOL: {
      const int conv = nd->kind == QNPU_NODE_CONV;
      *h = qnpu_golden_conv_out_dim(in->h, nd->kh, nd->stride_h, conv ? nd->dil_h : 1, nd->pad_top, nd->pad_bottom);
      *w = qnpu_golden_conv_out_dim(in->w, nd->kw, nd->stride_w, conv ? nd->dil_w : 1, nd->pad_left, nd->pad_right);
      *c = conv ? out->c : in->c;
      return *h > 0 && *w > 0;
    }
    case QNPU_NODE_FC:
      *h = *w = 1, *c = out->c;
      return 1;
    case QNPU_NODE_GAVGPOOL:
      *h = *w = 1, *c = in->c;
      return 1;
    default:
      *h = in->h, *w = in->w, *c = in->c;
      return 1;
  }
}

qnpu_status_t qnpu_net_check(const qnpu_net_t *net, char *err, size_t errlen) {
  if (!net || !net->tensors || !net->nodes) FAIL("empty network");
  if (net->n_tensors < 1 || net->n_tensors > QNPU_NET_MAX_TENSORS || net->n_nodes < 1 ||
      net->n_nodes > QNPU_NET_MAX_NODES)
    FAIL("%d tensors and %d nodes (1..%d each)", net->n_tensors, net->n_nodes, QNPU_NET_MAX_NODES);
  for (int t = 0; t < net->n_tensors; t++) {
    const qnpu_net_tensor_t *x = &net->tensors[t];
    if (x->h < 1 || x->w < 1 || x->c < 1 || (int64_t)x->h * x->w > (1 << 24) || (int64_t)x->h * x->w * x->c > (1 << 24))
      FAIL("tensor %s: shape %dx%dx%d", x->name, x->h, x->w, x->c);
    if (net->quantized && ((x->bits != 8 && x->bits != 4) || !fits_bits(x->zero_point, x->bits) || !(x->scale > 0) ||
                           !isfinite(x->scale)))
      FAIL("tensor %s: bad quantization (%d bits, scale %g, zero point %d)", x->name, x->bits, (double)x->scale,
           x->zero_point);
  }
  if (net->input < 0 || net->input >= net->n_tensors || net->output < 0 || net->output >= net->n_tensors)
    FAIL("input or output tensor index out of range");
  if (net->classes != (int)qnpu_net_tensor_size(net, net->output))
    FAIL("%d classes, but the output tensor %s has %zu elements", net->classes, net->tensors[net->output].name,
         qnpu_net_tensor_size(net, net->output));
  char *ready = calloc((size_t)net->n_tensors, 1);
  if (!ready) return qnpu_error(QNPU_ERR_NOMEM, err, errlen, "out of memory");
  qnpu_status_t st = QNPU_OK;
  ready[net->input] = 1;
  for (int i = 0; i < net->n_nodes && !st; i++) {
    const qnpu_net_node_t *nd = &net->nodes[i];
    int32_t h, w, c;
    if ((unsigned)nd->kind >= QNPU_NODE_KINDS) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %d: unknown kind %d", i, (int)nd->kind);
      break;
    }
    const int want_in = nd->kind == QNPU_NODE_ADD ? 2 : 1;
    if (nd->n_in != want_in) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: a %s takes %d inputs, not %d", nd->name,
                      qnpu_node_kind_name(nd->kind), want_in, nd->n_in);
      break;
    }
    for (int k = 0; k < nd->n_in && !st; k++)
      if (nd->in[k] < 0 || nd->in[k] >= net->n_tensors || !ready[nd->in[k]])
        st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: input %d is not produced before it is read", nd->name,
                        k);
    if (st) break;
    if (nd->out < 0 || nd->out >= net->n_tensors || ready[nd->out]) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: output tensor %d is out of range or written twice",
                      nd->name, nd->out);
      break;
    }
    if (nd->kh < 1 || nd->kw < 1 || nd->stride_h < 1 || nd->stride_w < 1 || nd->dil_h < 1 || nd->dil_w < 1 ||
        nd->pad_top < 0 || nd->pad_left < 0 || nd->pad_bottom < 0 || nd->pad_right < 0 || nd->kh > 255 ||
        nd->kw > 255 || nd->pad_top > 255 || nd->pad_left > 255 || nd->pad_bottom > 255 || nd->pad_right > 255) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: bad kernel, stride, dilation or padding", nd->name);
      break;
    }
    const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
    if (nd->kind == QNPU_NODE_CONV && (nd->groups < 1 || in->c % nd->groups || out->c % nd->groups)) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: %d groups do not divide %d inputs and %d outputs",
                      nd->name, nd->groups, in->c, out->c);
      break;
    }
    if (nd->kind == QNPU_NODE_ADD) {
      const qnpu_net_tensor_t *b = &net->tensors[nd->in[1]];
      if (b->h != in->h || b->w != in->w || b->c != in->c) {
        st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: adds %dx%dx%d to %dx%dx%d", nd->name, in->h, in->w,
                        in->c, b->h, b->w, b->c);
        break;
      }
    }
    if (!expected_out(net, nd, &h, &w, &c) || h != out->h || w != out->w || c != out->c) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: output %s is %dx%dx%d, its inputs give %dx%dx%d",
                      nd->name, out->name, out->h, out->w, out->c, h, w, c);
      break;
    }
    if (qnpu_node_on_array(nd) && !net->quantized && !nd->wf) {
      st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "node %s: no weights", nd->name);
      break;
    }
    if (net->quantized) st = check_quant_node(net, nd, err, errlen);
    ready[nd->out] = 1;
  }
  if (!st && !ready[net->output])
    st = qnpu_error(QNPU_ERR_FORMAT, err, errlen, "no node produces the output tensor %s",
                    net->tensors[net->output].name);
  free(ready);
  return st;
}

qnpu_layer_t qnpu_net_layer(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t n, const int8_t *input) {
  const qnpu_net_tensor_t *in = &net->tensors[nd->in[0]], *out = &net->tensors[nd->out];
  qnpu_layer_t l;
  if (nd->kind == QNPU_NODE_FC) {
    l = qnpu_layer_fully_connected(nd->prec, n, (int32_t)qnpu_net_tensor_size(net, nd->in[0]), out->c, input, nd->wq,
                                   nd->bq);
  } else {
    l = (qnpu_layer_t){
        .op = QNPU_OP_CONV2D,
        .prec = nd->prec,
        .p = {.n = n,
              .h = in->h,
              .w = in->w,
              .c = in->c,
              .out_c = out->c,
              .kh = nd->kh,
              .kw = nd->kw,
              .stride_h = nd->stride_h,
              .stride_w = nd->stride_w,
              .dil_h = nd->dil_h,
              .dil_w = nd->dil_w,
              .pad_top = nd->pad_top,
              .pad_left = nd->pad_left,
              .pad_bottom = nd->pad_bottom,
              .pad_right = nd->pad_right,
              .groups = nd->groups,
              .depth_multiplier = 1},
        .input = input,
        .filter = nd->wq,
        .bias = nd->bq,
    };
  }
  l.p.input_zero_point = in->zero_point;
  l.p.filter_zero_point = nd->wzp;
  l.rq = (qnpu_requant_t){.mode = net->semantics == QNPU_SEM_ORT ? QNPU_REQUANT_ORT_F32 : QNPU_REQUANT_TFLITE_Q31,
                          .per_channel = 1,
                          .multiplier = nd->m0,
                          .shift = nd->shift,
                          .scale_f32 = nd->rscale,
                          .output_zero_point = out->zero_point,
                          .act_min = nd->act_min,
                          .act_max = nd->act_max};
  return l;
}

int8_t qnpu_net_quantize_input(const qnpu_net_t *net, float x) {
  const qnpu_net_tensor_t *t = &net->tensors[net->input];
  const int32_t lo = -(1 << (t->bits - 1)), hi = (1 << (t->bits - 1)) - 1;
  if (net->semantics == QNPU_SEM_ORT) return (int8_t)qnpu_golden_ort_quantize(x, t->scale, t->zero_point, lo, hi);
  const qnpu_qparams_t q = {t->scale, t->zero_point, t->bits};
  return (int8_t)qnpu_golden_quantize((double)x, &q);
}

void qnpu_net_make_lut(qnpu_net_t *net) {
  for (int p = 0; p < 256; p++)
    net->in_lut[p] = net->in_type == QNPU_IN_UINT8 ? (int8_t)(p - 128)
                     : net->in_type == QNPU_IN_INT8
                         ? 0
                         : qnpu_net_quantize_input(net, (float)p * net->in_scale + net->in_offset);
}

int qnpu_argmax_f32(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

int qnpu_argmax_i8(const int8_t *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}
