/* qnpu_net.h - the one network type: a graph of layers over NHWC tensors,
 * either float (as imported from ONNX, run by the float reference path) or
 * quantized (as written by the quantizer, stored in a .qnpu model file and
 * run by the network runtime on any backend).
 *
 *   qnpu_onnx.h     ONNX file       -> float network
 *   qnpu_ptq.h      float network   -> quantized network (post-training quantization)
 *   qnpu_netfile.h  quantized network <-> .qnpu file (docs/model-format.md)
 *   qnpu_net_float  float network   -> float logits (the C float reference)
 *   qnpu_net_run.h  quantized network -> int8 logits on a backend session
 *
 * Nodes are in execution order; each reads one or two tensors and writes
 * one. Tensor 0..n_tensors-1 hold one image each (h x w x c, NHWC); a batch
 * of n images is n of them back to back. Convolutions and fully-connected
 * layers run on the accelerator (through the runtime, qnpu_rt.h); max pool,
 * average pool, elementwise add and a ReLU that could not be fused run on
 * the host in the golden model's semantics (qnpu_golden.h).
 *
 * A quantized network computes in one of two numeric contracts (its
 * `semantics`): TFLite's (Q31 multipliers, integer host operations; what
 * qnpu quantize writes) or ONNX Runtime's (float32 requantization ort_f32
 * with per-channel float32 scales, and ONNX Runtime's float32 host
 * kernels; what a quantized ONNX model imports as, docs/onnx.md). */
#ifndef QNPU_NET_H
#define QNPU_NET_H

#include <stddef.h>
#include <stdint.h>

#include "qnpu_golden.h"
#include "qnpu_layer.h"
#include "qnpu_prec.h"
#include "qnpu_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QNPU_NET_NAME_MAX 64
#define QNPU_NET_META_MAX 512
#define QNPU_NET_MAX_TENSORS 4096
#define QNPU_NET_MAX_NODES 4096

typedef enum {
  QNPU_NODE_CONV,    /* conv2d (groups), accelerator                       */
  QNPU_NODE_FC,      /* fully-connected over the flattened NHWC input      */
  QNPU_NODE_MAXPOOL, /* host                                                */
  QNPU_NODE_AVGPOOL, /* host (the count is the taps inside the input)      */
  QNPU_NODE_ADD,     /* host: elementwise, two inputs of the same shape    */
  QNPU_NODE_RELU,    /* host: a ReLU/ReLU6 not fused into its producer     */
  QNPU_NODE_GAVGPOOL /* host: global average pool, output 1 x 1 x c        */
} qnpu_node_kind_t;
#define QNPU_NODE_KINDS 7

/* The numeric contract of a quantized network (see above). */
typedef enum { QNPU_SEM_TFLITE, QNPU_SEM_ORT } qnpu_net_sem_t;

/* What the network's input is (tensor `input`): float values that the
 * network quantizes (ONNX: a QuantizeLinear of the graph input; qnpu
 * quantize), or int8 / uint8 values fed as they are (a quantized ONNX
 * graph input; uint8 u is held as the int8 u - 128, its zero point too). */
typedef enum { QNPU_IN_FLOAT, QNPU_IN_INT8, QNPU_IN_UINT8 } qnpu_in_type_t;
/* What the ONNX model returns: the output tensor dequantized to float32,
 * or its int8 / uint8 values. */
typedef enum { QNPU_OUT_FLOAT, QNPU_OUT_INT8, QNPU_OUT_UINT8 } qnpu_out_type_t;

typedef enum { QNPU_ACT_NONE, QNPU_ACT_RELU, QNPU_ACT_RELU6 } qnpu_act_t;

typedef struct {
  char name[QNPU_NET_NAME_MAX];
  int32_t h, w, c; /* one image, NHWC                                  */
  /* quantized networks: r = scale * (q - zero_point), q in `bits` signed   */
  int bits; /* 8 or 4                                           */
  float scale;
  int32_t zero_point;
  int uint8; /* imported from ONNX as uint8: u held as u - 128 (the
                zero point too); ONNX Runtime's float32 host kernels
                compute with u itself                               */
} qnpu_net_tensor_t;

typedef struct {
  qnpu_node_kind_t kind;
  char name[QNPU_NET_NAME_MAX];
  int n_in, in[2], out; /* tensor indices                                   */
  qnpu_act_t act;       /* fused activation (conv, fc, add)                 */
  /* conv and pool geometry (fc: all 1, no padding)                          */
  int32_t kh, kw, stride_h, stride_w, dil_h, dil_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right, groups;
  /* float networks. conv weights [O][KH][KW][C/groups], fc [O][K] with K in
   * the NHWC order of the input tensor; bias [O] or NULL.                   */
  float *wf, *bf;
  /* quantized networks. conv/fc: weights as above (int4 values in [-8, 7]),
   * symmetric per output channel (zero point 0), bias int32 (NULL: none),
   * the per-channel weight scales and the requantization M0/shift.         */
  qnpu_prec_t prec;
  int8_t *wq;
  int32_t *bq, *m0, *shift; /* m0, shift: TFLite semantics                 */
  float *wscale;
  float *rscale;            /* ONNX Runtime semantics: the per-channel ort_f32
                               scale (x_scale * w_scale) / y_scale          */
  int32_t wzp;              /* weight zero point (ONNX; 0 from qnpu quantize) */
  int32_t act_min, act_max; /* output clamp (conv, fc, pools, add, relu)     */
  qnpu_add_params_t add;    /* add: TFLite's integer parameters            */
  int count_include_pad;    /* avgpool, ONNX Runtime semantics               */
} qnpu_net_node_t;

typedef struct {
  int quantized;
  qnpu_net_sem_t semantics; /* quantized networks                           */
  qnpu_in_type_t in_type;
  qnpu_out_type_t out_type;
  int out_rank; /* the ONNX output's rank: 2 ([N, C]) or 4 ([N, C, H, W]) */
  int n_tensors, n_nodes;
  qnpu_net_tensor_t *tensors;
  qnpu_net_node_t *nodes;
  int input, output; /* tensor indices                                */
  int classes;       /* output elements per image                     */
  /* The input is raw 8-bit pixels p: the float network sees
   * p * in_scale + in_offset (float32, rounded after each step), the
   * quantized one in_lut[p] (for an int8 input: none, in_lut unused).      */
  float in_scale, in_offset;
  int8_t in_lut[256];
  int32_t train_images;         /* float networks: the model was trained on the
                                   first train_images of its training set (0 =
                                   unknown); calibration takes images after them */
  char meta[QNPU_NET_META_MAX]; /* provenance, one line of text            */
} qnpu_net_t;

const char *qnpu_node_kind_name(qnpu_node_kind_t k);
const char *qnpu_act_name(qnpu_act_t a);

/* Output channels of a conv/fc node (its output tensor's c). */
int32_t qnpu_net_out_c(const qnpu_net_t *net, const qnpu_net_node_t *nd);
/* Weight elements of a conv/fc node. */
size_t qnpu_net_weight_count(const qnpu_net_t *net, const qnpu_net_node_t *nd);
/* Elements of tensor t for one image. */
size_t qnpu_net_tensor_size(const qnpu_net_t *net, int t);
/* Whether the node runs on the accelerator (conv, fc) or on the host. */
int qnpu_node_on_array(const qnpu_net_node_t *nd);

/* Checks the graph: tensor indices, execution order (every input produced
 * before it is read, each tensor produced once), shapes (a node's output is
 * what its inputs and geometry give), groups, and for a quantized network
 * the bit widths, zero points, clamps and requantization parameters and
 * the ranges of the weights. QNPU_ERR_FORMAT with a one-line reason that
 * names the node. */
qnpu_status_t qnpu_net_check(const qnpu_net_t *net, char *err, size_t errlen) QNPU_MUST_CHECK;

/* The runtime's layer for conv/fc node nd of a quantized network, over a
 * batch of n images of `input` (int8 values of the input tensor). */
qnpu_layer_t qnpu_net_layer(const qnpu_net_t *net, const qnpu_net_node_t *nd, int32_t n, const int8_t *input);

/* The quantized input value of float x (QNPU_IN_FLOAT): TFLite's or ONNX
 * Runtime's quantization with the input tensor's scale and zero point. */
int8_t qnpu_net_quantize_input(const qnpu_net_t *net, float x);
/* Fills in_lut from in_scale, in_offset and the input quantization. */
void qnpu_net_make_lut(qnpu_net_t *net);

/* An empty network with room for the given tensors and nodes (zeroed). */
qnpu_status_t qnpu_net_alloc(qnpu_net_t *net, int n_tensors, int n_nodes) QNPU_MUST_CHECK;
/* Frees every array of the network and zeroes it; safe on a zeroed one. */
void qnpu_net_free(qnpu_net_t *net);

/* ---- the float reference path ----------------------------------------------------- */

/* Called with every tensor a float run produces (the input too), for the
 * whole batch: n images x qnpu_net_tensor_size(t) floats. */
typedef qnpu_status_t (*qnpu_net_tap_fn)(void *ctx, int tensor, const float *x, size_t count);

/* Runs a float network on n images of raw pixels ([n][h][w][c] of the input
 * tensor) and writes n x classes logits. tap (may be NULL) sees every
 * tensor. Plain float32 loops, the same for every build; accumulation order
 * differs from PyTorch's, so logits agree to about 1e-5, not bit for bit. */
qnpu_status_t qnpu_net_float_run(const qnpu_net_t *net, const uint8_t *pixels, int32_t n, float *logits,
                                 qnpu_net_tap_fn tap, void *ctx, char *err, size_t errlen) QNPU_MUST_CHECK;

/* Index of the largest of n values (the first on a tie). */
int qnpu_argmax_f32(const float *v, int n);
int qnpu_argmax_i8(const int8_t *v, int n);

#ifdef __cplusplus
}
#endif

#endif /* QNPU_NET_H */
