/* qnpu_layer.c - the layer type (qnpu_layer.h). */
#include "qnpu_layer.h"

#include "qnpu_errmsg.h"

static const char *const kOpNames[] = {"conv2d", "depthwise_conv2d", "fully_connected"};

const char *qnpu_op_name(qnpu_op_t op) { return (unsigned)op < 3 ? kOpNames[op] : "?"; }

qnpu_layer_t qnpu_layer_fully_connected(qnpu_prec_t prec, int32_t n, int32_t k, int32_t o, const int8_t *input,
                                        const int8_t *weights, const int32_t *bias) {
  const qnpu_layer_t l = {
      .op = QNPU_OP_FULLY_CONNECTED,
      .prec = prec,
      .p = {.n = n, .h = 1, .w = 1, .c = k, .out_c = o, .kh = 1, .kw = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1,
            .dil_w = 1, .groups = 1, .depth_multiplier = 1},
      .rq = {.mode = QNPU_REQUANT_NONE},
      .input = input,
      .filter = weights,
      .bias = bias,
  };
  return l;
}

int32_t qnpu_layer_out_h(const qnpu_layer_t *l) {
  const qnpu_conv_params_t *p = &l->p;
  return qnpu_golden_conv_out_dim(p->h, p->kh, p->stride_h, p->dil_h, p->pad_top, p->pad_bottom);
}

int32_t qnpu_layer_out_w(const qnpu_layer_t *l) {
  const qnpu_conv_params_t *p = &l->p;
  return qnpu_golden_conv_out_dim(p->w, p->kw, p->stride_w, p->dil_w, p->pad_left, p->pad_right);
}

size_t qnpu_layer_out_count(const qnpu_layer_t *l) {
  return (size_t)l->p.n * (size_t)qnpu_layer_out_h(l) * (size_t)qnpu_layer_out_w(l) * (size_t)l->p.out_c;
}

size_t qnpu_layer_in_count(const qnpu_layer_t *l) {
  return (size_t)l->p.n * (size_t)l->p.h * (size_t)l->p.w * (size_t)l->p.c;
}

/* Input channels each output channel reads. */
static int32_t taps_c(const qnpu_layer_t *l) {
  if (l->op == QNPU_OP_DEPTHWISE_CONV2D) return 1;
  if (l->op == QNPU_OP_CONV2D) return l->p.groups > 0 ? l->p.c / l->p.groups : 0;
  return l->p.c;
}

size_t qnpu_layer_filter_count(const qnpu_layer_t *l) {
  return (size_t)l->p.out_c * (size_t)l->p.kh * (size_t)l->p.kw * (size_t)taps_c(l);
}

uint64_t qnpu_layer_macs(const qnpu_layer_t *l) {
  return (uint64_t)qnpu_layer_out_count(l) * (uint64_t)l->p.kh * (uint64_t)l->p.kw * (uint64_t)taps_c(l);
}

uint64_t qnpu_layer_min_bytes(const qnpu_layer_t *l) {
  const qnpu_prec_info_t *pi = qnpu_prec_info(l->prec);
  const int ib = pi ? pi->input_bits : 8, wb = pi ? pi->weight_bits : 8;
  const int ob = l->rq.mode == QNPU_REQUANT_NONE ? 32 : pi ? pi->output_bits : 8;
  return ((uint64_t)qnpu_layer_in_count(l) * (uint64_t)ib + 7) / 8 +
         ((uint64_t)qnpu_layer_filter_count(l) * (uint64_t)wb + 7) / 8 + (l->bias ? 4u * (uint64_t)l->p.out_c : 0) +
         ((uint64_t)qnpu_layer_out_count(l) * (uint64_t)ob + 7) / 8;
}

/* Whether every one of n values lies in the signed range of `bits`. */
static int in_range(const int8_t *v, size_t n, int bits, size_t *bad) {
  if (bits >= 8) return 1; /* every int8 is */
  const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  for (size_t i = 0; i < n; i++)
    if (v[i] < lo || v[i] > hi) {
      *bad = i;
      return 0;
    }
  return 1;
}

qnpu_status_t qnpu_layer_check(const qnpu_layer_t *l, char *err, size_t errlen) {
  if (!l) return qnpu_error(QNPU_ERR_ARG, err, errlen, "no layer");
  const qnpu_conv_params_t *p = &l->p;
  const qnpu_prec_info_t *pi = qnpu_prec_info(l->prec);
  if ((unsigned)l->op > QNPU_OP_FULLY_CONNECTED)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "unknown layer op %d", (int)l->op);
  if (!pi) return qnpu_error(QNPU_ERR_ARG, err, errlen, "unknown precision %d", (int)l->prec);
  if (p->n < 1 || p->h < 1 || p->w < 1 || p->c < 1 || p->out_c < 1 || p->kh < 1 || p->kw < 1)
    return qnpu_error(QNPU_ERR_ARG, err, errlen,
                      "%s: shapes must be positive (n %d, h %d, w %d, c %d, out %d, kernel %dx%d)", qnpu_op_name(l->op),
                      p->n, p->h, p->w, p->c, p->out_c, p->kh, p->kw);
  if (p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 || p->dil_w < 1)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "%s: strides and dilations must be >= 1", qnpu_op_name(l->op));
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "%s: padding must be >= 0", qnpu_op_name(l->op));
  if (l->op == QNPU_OP_FULLY_CONNECTED && (p->h != 1 || p->w != 1 || p->kh != 1 || p->kw != 1))
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "fully_connected: h, w and the kernel must be 1");
  if (l->op == QNPU_OP_CONV2D && (p->groups < 1 || p->c % p->groups || p->out_c % p->groups))
    return qnpu_error(QNPU_ERR_ARG, err, errlen,
                      "conv2d: groups %d must divide the input channels %d and the output channels %d", p->groups, p->c,
                      p->out_c);
  if (l->op == QNPU_OP_DEPTHWISE_CONV2D && (p->depth_multiplier < 1 || p->out_c != p->c * p->depth_multiplier))
    return qnpu_error(QNPU_ERR_ARG, err, errlen,
                      "depthwise_conv2d: output channels %d must be input channels %d x depth multiplier %d", p->out_c,
                      p->c, p->depth_multiplier);
  if (qnpu_layer_out_h(l) < 1 || qnpu_layer_out_w(l) < 1)
    return qnpu_error(QNPU_ERR_ARG, err, errlen,
                      "%s: the %dx%d kernel (dilation %dx%d) does not fit the padded %dx%d input", qnpu_op_name(l->op),
                      p->kh, p->kw, p->dil_h, p->dil_w, p->h + p->pad_top + p->pad_bottom,
                      p->w + p->pad_left + p->pad_right);
  const int32_t zmax = (1 << (pi->input_bits - 1)) - 1, wmax = (1 << (pi->weight_bits - 1)) - 1;
  if (p->input_zero_point < -zmax - 1 || p->input_zero_point > zmax)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "input zero point %d is outside the %d-bit range", p->input_zero_point,
                      pi->input_bits);
  if (p->filter_zero_point < -wmax - 1 || p->filter_zero_point > wmax)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "filter zero point %d is outside the %d-bit range",
                      p->filter_zero_point, pi->weight_bits);
  if (!l->input || !l->filter)
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "%s: no input or filter data", qnpu_op_name(l->op));
  size_t bad = 0;
  if (!in_range(l->input, qnpu_layer_in_count(l), pi->input_bits, &bad))
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "input element %zu is %d, outside the %d-bit range", bad,
                      l->input[bad], pi->input_bits);
  if (!in_range(l->filter, qnpu_layer_filter_count(l), pi->weight_bits, &bad))
    return qnpu_error(QNPU_ERR_ARG, err, errlen, "filter element %zu is %d, outside the %d-bit range", bad,
                      l->filter[bad], pi->weight_bits);
  if (l->rq.mode != QNPU_REQUANT_NONE && qnpu_golden_requant_check(&l->rq, (size_t)p->out_c) != QNPU_OK)
    return qnpu_error(QNPU_ERR_ARG, err, errlen,
                      "bad requantization (shift outside [-31, 30], negative multiplier or scale, "
                      "or act_min > act_max)");
  return QNPU_OK;
}

qnpu_status_t qnpu_layer_golden(const qnpu_layer_t *l, int32_t *out) {
  if (!l || !out) return QNPU_ERR_ARG;
  const qnpu_conv_params_t *p = &l->p;
  switch (l->op) {
    case QNPU_OP_FULLY_CONNECTED:
      return qnpu_golden_fully_connected(p->n, p->c, p->out_c, p->input_zero_point, p->filter_zero_point, &l->rq,
                                         l->input, l->filter, l->bias, out);
    case QNPU_OP_CONV2D:
      return qnpu_golden_conv2d(p, &l->rq, l->input, l->filter, l->bias, out);
    case QNPU_OP_DEPTHWISE_CONV2D:
      return qnpu_golden_depthwise_conv2d(p, &l->rq, l->input, l->filter, l->bias, out);
  }
  return QNPU_ERR_ARG;
}
