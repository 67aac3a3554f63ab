#!/usr/bin/env python3
"""conformance_ort.py - the ONNX conformance cases (../shared/conformance/onnx)
in ONNX Runtime's float32 requantization as well (docs/onnx.md).

Each case that defines float32 scales (QLinearConv, QLinearMatMul with
float32 x/w/y scales; the ONNX backend tests' values, tests/data/
onnx_conformance_scales.json) is rebuilt as a one-node ONNX model from the
case's own tensors and run by ONNX Runtime; the result is written as a
layer case with "requant": "ort_f32" (float32 requant_scale.npy = (x_scale *
w_scale) / y_scale, expected.npy = ONNX Runtime's output) under OUT, which
`qnpu layer` then checks on every backend. Prints, per case, how the two
roundings compare with the ONNX reference's expected output. Cases with
float16 scales or int32 outputs (ConvInteger, MatMulInteger) are listed as
skipped."""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

f32 = np.float32


def f32_of(hexbits):
    return np.array(int(hexbits, 16), np.uint32).view(np.float32)[()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--shared', default='../shared')
    ap.add_argument('--scales', default=os.path.join(os.path.dirname(__file__), '..', 'tests/data/onnx_conformance_scales.json'))
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    root = os.path.join(a.shared, 'conformance', 'onnx')
    scales = json.load(open(a.scales))['cases']
    rows, made = [], 0
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        lj = json.load(open(os.path.join(d, 'layer.json')))
        if name not in scales:
            why = 'int32 output' if lj['requant'] == 'none' else 'float16 scales' if 'float16' in name else 'no float32 scales'
            rows.append((name, None, why))
            continue
        sc = scales[name]
        xs, ws, ys = f32_of(sc['x_scale']), f32_of(sc['w_scale']), f32_of(sc['y_scale'])
        rs = np.load(os.path.join(d, 'requant_scale.npy'))
        want = float(xs) * float(ws) / float(ys)
        if not np.allclose(rs, want, rtol=1e-6, atol=0):
            print('%s: the table\'s scales give %.9g, the case says %s' % (name, want, rs), file=sys.stderr)
            return 2
        x, w = np.load(os.path.join(d, 'input.npy')), np.load(os.path.join(d, 'filter.npy'))
        exp = np.load(os.path.join(d, 'expected.npy'))
        xz, wz, yz = lj['input_zero_point'], lj['filter_zero_point'], lj['output_zero_point']
        inits = [nh.from_array(np.array(xs), 'xs'), nh.from_array(np.array(xz, np.int8), 'xz'),
                 nh.from_array(np.array(ws), 'ws'), nh.from_array(np.array(wz, np.int8), 'wz'),
                 nh.from_array(np.array(ys), 'ys'), nh.from_array(np.array(yz, np.int8), 'yz')]
        if lj['op'] == 'conv2d':  # NHWC / OHWI -> NCHW / OIHW
            xo, wo = x.transpose(0, 3, 1, 2), w.transpose(0, 3, 1, 2)
            p = lj['padding']  # top, left, bottom, right
            node = h.make_node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'],
                               kernel_shape=list(wo.shape[2:]), strides=lj['stride'], dilations=lj['dilation'],
                               pads=[p[0], p[1], p[2], p[3]], group=lj['groups'])
        else:  # fully_connected: w [O][K] -> B [K][O]
            xo, wo = x, w.T.copy()
            node = h.make_node('QLinearMatMul', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'])
        inits.append(nh.from_array(wo.astype(np.int8), 'w'))
        g = h.make_graph([node], 'g', [h.make_tensor_value_info('x', T.INT8, list(xo.shape))],
                         [h.make_tensor_value_info('y', T.INT8, None)], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
        so = ort.SessionOptions()
        so.log_severity_level = 3
        y = ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider']).run(None, {'x': xo.astype(np.int8)})[0]
        if lj['op'] == 'conv2d':
            y = y.transpose(0, 2, 3, 1)
        y = y.reshape(exp.shape).astype(exp.dtype)
        o = os.path.join(a.out, name + '_ort_f32')
        if os.path.exists(o):
            shutil.rmtree(o)
        shutil.copytree(d, o)
        lj['name'] = name + '_ort_f32'
        lj['requant'] = 'ort_f32'
        lj['source'] = lj['source'] + '; requantized as ONNX Runtime %s does (ort_f32), expected.npy from ONNX Runtime' % ort.__version__
        json.dump(lj, open(os.path.join(o, 'layer.json'), 'w'), indent=2)
        oc = int(lj['output_shape'][-1])
        s = (f32(xs * ws) / ys).astype(f32)
        np.save(os.path.join(o, 'requant_scale.npy'), np.full(oc, s, f32))
        np.save(os.path.join(o, 'expected.npy'), y)
        for extra in ('multiplier.npy', 'shift.npy'):
            if os.path.exists(os.path.join(o, extra)):
                os.remove(os.path.join(o, extra))
        rows.append((name, (int(exp.size), int((y != exp).sum())), ''))
        made += 1
    print('%-44s %8s  %-28s %s' % ('ONNX conformance case', 'outputs', 'float_rne vs ONNX reference',
                                   'ort_f32 (ONNX Runtime) vs ONNX reference'))
    for name, r, why in rows:
        if r is None:
            print('%-44s %8s  %-28s %s' % (name, '-', 'bit-exact (make test)', 'skipped: ' + why))
        else:
            print('%-44s %8d  %-28s %s' % (name, r[0], 'bit-exact (make test)',
                                           'same' if r[1] == 0 else '%d of %d differ by one' % (r[1], r[0])))
    print('wrote %d ort_f32 cases to %s' % (made, a.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
