#!/usr/bin/env python3
"""ort_quantize.py - quantizes a float ONNX model with ONNX Runtime's own
post-training quantizer (onnxruntime.quantization.quantize_static) into a QDQ
model that `qnpu net` / `qnpu import` run bit-exactly with ONNX Runtime
(docs/onnx.md). Run it with build/venv-onnx/bin/python (tools/onnx_venv.sh).

  ort_quantize.py MODEL.onnx -o OUT.onnx --calib X.npy   calibration inputs, float32 [N, C, H, W]
  ort_quantize.py MODEL.onnx -o OUT.onnx --fmnist 1000   Fashion-MNIST training images after the ones
                                                         that trained the model (metadata qnpu.train_images)

Defaults: QDQ format, int8 activations and weights, weights per output
channel, MinMax calibration (--calibrate entropy or percentile for the
others), as in ONNX Runtime's documentation."""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
import onnx

f32 = np.float32


def fmnist_inputs(model_path, data, count):
    """count held-out Fashion-MNIST training images as the model's float input (p * s + o, float32)."""
    meta = {p.key: p.value for p in onnx.load(model_path).metadata_props}
    s, o = f32(float(meta.get('qnpu.input_scale', 1 / 255))), f32(float(meta.get('qnpu.input_offset', 0)))
    first = int(meta.get('qnpu.train_images', 55000))
    path = os.path.join(data, 'train-images-idx3-ubyte.gz')
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    px = np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)[first:first + count]
    return (px.astype(f32) * s + o).astype(f32)[:, None], first


def quantize(model_path, out_path, calib, calibrate='minmax', per_channel=True, uint8=False):
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static
    name = onnx.load(model_path).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(calib):
                return None
            self.i += 1
            return {name: calib[self.i - 1:self.i]}

    method = {'minmax': CalibrationMethod.MinMax, 'entropy': CalibrationMethod.Entropy,
              'percentile': CalibrationMethod.Percentile}[calibrate]
    qt = QuantType.QUInt8 if uint8 else QuantType.QInt8
    quantize_static(model_path, out_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=qt, weight_type=QuantType.QInt8, calibrate_method=method,
                    reduce_range=uint8)  # uint8 activations: 7-bit weights, see docs/onnx.md


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split('\n\n', 1)[1])
    ap.add_argument('model')
    ap.add_argument('-o', '--out', required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--calib', help='calibration inputs: a float32 .npy [N, C, H, W]')
    src.add_argument('--fmnist', type=int, metavar='N', help='N held-out Fashion-MNIST training images')
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--calibrate', choices=['minmax', 'entropy', 'percentile'], default='minmax')
    ap.add_argument('--per-tensor', action='store_true', help='one weight scale per tensor, not per channel')
    ap.add_argument('--uint8', action='store_true', help='uint8 activations (with 7-bit weights, reduce_range)')
    a = ap.parse_args()
    if a.calib:
        calib = np.load(a.calib)
        if calib.dtype != np.float32:
            print('ort_quantize: %s is %s, not float32' % (a.calib, calib.dtype), file=sys.stderr)
            return 2
        what = '%d inputs of %s' % (len(calib), a.calib)
    else:
        calib, first = fmnist_inputs(a.model, a.data, a.fmnist)
        what = 'Fashion-MNIST training images %d..%d' % (first, first + len(calib) - 1)
    quantize(a.model, a.out, calib, a.calibrate, not a.per_tensor, a.uint8)
    print('wrote %s: QDQ, %s activations, int8 weights per %s, %s calibration over %s' %
          (a.out, 'uint8' if a.uint8 else 'int8', 'tensor' if a.per_tensor else 'channel', a.calibrate, what))
    return 0


if __name__ == '__main__':
    sys.exit(main())
