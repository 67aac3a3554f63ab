/* qnpu_onnx.h - imports a float ONNX model as a float network (qnpu_net.h).
 *
 * Parsed with protobuf-c from the onnx.proto that Debian's libonnx-dev
 * ships (the C code is generated into build/ at build time). The graph is
 * converted to NHWC on the way in: conv weights OIHW -> OHWI, and the
 * weights of a fully-connected layer that reads a flattened NCHW tensor are
 * reordered to read the NHWC one, so that Flatten costs nothing.
 *
 * Supported (docs/network.md): Conv (groups, strides, pads, dilations;
 * auto_pad NOTSET or VALID), Relu and Clip(0, 6) (fused into a preceding
 * Conv, Gemm or Add when they are its only reader), MaxPool and
 * AveragePool (ceil_mode 0; count_include_pad 0 or no padding),
 * GlobalAveragePool, Add (same shapes), Gemm (transA 0), MatMul (+ Add of a
 * bias), Flatten (axis 1), Reshape to [batch, -1], BatchNormalization after
 * a Conv (folded into it), Pad with zeros (folded into the next Conv, or
 * none), Dropout and Identity (nothing), Constant. The model's input is one
 * float tensor [N, C, H, W] (N may be symbolic). Metadata props
 * "qnpu.input_scale" and "qnpu.input_offset" give the float input of a raw
 * pixel p as p * scale + offset (default 1/255 and 0); "qnpu.train_images"
 * says how many of the training set's first images trained it (the
 * quantizer calibrates on the images after them).
 *
 * Anything else is an error naming the node, its op type and what is not
 * supported. */
#ifndef QNPU_ONNX_H
#define QNPU_ONNX_H

#include <stddef.h>

#include "qnpu_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads path into *net (a float network). Errors, with "PATH: reason" in
 * err: QNPU_ERR_IO (cannot read), QNPU_ERR_FORMAT (not an ONNX model, or an
 * inconsistent one), QNPU_ERR_UNSUPPORTED (an op or attribute qnpu does not
 * import: "node NAME (OpType): what"). *net is zeroed on failure. */
qnpu_status_t qnpu_onnx_load(const char *path, qnpu_net_t *net, char *err, size_t errlen) QNPU_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* QNPU_ONNX_H */
