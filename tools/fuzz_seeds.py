#!/usr/bin/env python3
"""fuzz_seeds.py - (re)writes the fuzzers' seed corpora under tests/fuzz/corpus/:
small valid inputs of each kind, so that libFuzzer starts from files that
get past the magic numbers. Needs the ONNX virtual environment
(tools/onnx_venv.sh), build/bin/qnpu and ../shared/conformance for the
layer cases; the corpora are committed, this is how they were made."""
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import onnx_check  # noqa: E402

OUT = os.path.join(ROOT, 'tests/fuzz/corpus')
QNPU = os.path.join(ROOT, 'build/bin/qnpu')


def d(t):
    p = os.path.join(OUT, t)
    os.makedirs(p, exist_ok=True)
    return p


def npy_seeds():
    rng = np.random.default_rng(1)
    arrs = {'i8_2x3': rng.integers(-128, 128, (2, 3)).astype(np.int8), 'u8_4': np.arange(4, dtype=np.uint8),
            'i32_2x2': np.array([[1, -2], [3, 2**31 - 1]], np.int32), 'f32_3': np.array([0.5, -1, 3e38], np.float32),
            'f64_0d': np.array(2.5), 'i16_nhwc': np.arange(4, dtype=np.int16).reshape(1, 2, 2, 1),
            'i64_1': np.array([-5], np.int64), 'i8_empty': np.zeros((0, 3), np.int8)}
    for k, a in arrs.items():
        np.save(os.path.join(d('npy'), k + '.npy'), a)


def idx_bytes(a, code):
    hdr = bytes([0, 0, code, a.ndim]) + b''.join(struct.pack('>I', s) for s in a.shape)
    return hdr + a.astype(a.dtype.newbyteorder('>')).tobytes()


def idx_seeds():
    imgs = np.arange(18, dtype=np.uint8).reshape(2, 3, 3)
    open(os.path.join(d('idx'), 'images.idx'), 'wb').write(idx_bytes(imgs, 0x08))
    open(os.path.join(d('idx'), 'images.idx.gz'), 'wb').write(gzip.compress(idx_bytes(imgs, 0x08), mtime=0))
    open(os.path.join(d('idx'), 'labels.idx'), 'wb').write(idx_bytes(np.array([1, 0, 9, 3, 3], np.uint8), 0x08))
    open(os.path.join(d('idx'), 'int32.idx'), 'wb').write(idx_bytes(np.array([[1, -1], [7, 8]], np.int32), 0x0C))


def case_seeds(shared):
    names = ['cmsis-nn/cmsis_conv_basic', 'cmsis-nn/cmsis_conv_basic_int4', 'cmsis-nn/cmsis_depthwise_depthwise_2', 'cmsis-nn/cmsis_fc_fc_per_ch',
             'onnx/onnx112_qlinearconv', 'onnx/onnx112_matmulinteger']
    for n in names:
        src = os.path.join(shared, 'conformance', n)
        if not os.path.isdir(src):
            print('fuzz_seeds: %s missing, skipped' % src, file=sys.stderr)
            continue
        blob = b''
        for f in ['layer.json', 'input.npy', 'filter.npy', 'bias.npy', 'multiplier.npy', 'shift.npy',
                  'requant_scale.npy', 'expected.npy']:
            p = os.path.join(src, f)
            if os.path.exists(p):
                blob += b'--FILE ' + f.encode() + b'--\n' + open(p, 'rb').read()
        open(os.path.join(d('case'), os.path.basename(n) + '.case'), 'wb').write(blob)


def onnx_seeds():
    """Small models of every kind the importer knows: float, QOperator, QDQ, host ops, uint8."""
    out = d('onnx')
    made = []
    for i, (maker, seed) in enumerate([(onnx_check.make_qlinearconv, 3), (onnx_check.make_qlinearmatmul, 4),
                                       (onnx_check.make_qdq_conv, 5), (onnx_check.make_hostop, 0),
                                       (onnx_check.make_hostop, 1), (onnx_check.make_hostop, 2),
                                       (onnx_check.make_hostop, 3)]):
        for k in range(50):  # a small one
            m, x, desc = maker(np.random.default_rng([seed, k]), i + k)
            if len(m.SerializeToString()) < 6000:
                break
        p = os.path.join(out, '%d_%s.onnx' % (i, maker.__name__[5:]))
        open(p, 'wb').write(m.SerializeToString())
        made.append(p)
    # a float model: Conv + Relu + MaxPool + GlobalAveragePool + Flatten + Gemm on 1x28x28
    rng = np.random.default_rng(7)
    inits = [nh.from_array(rng.normal(0, 0.3, (2, 1, 3, 3)).astype(np.float32), 'w'),
             nh.from_array(np.zeros(2, np.float32), 'b'),
             nh.from_array(rng.normal(0, 0.3, (10, 2)).astype(np.float32), 'gw'),
             nh.from_array(np.zeros(10, np.float32), 'gb')]
    nodes = [h.make_node('Conv', ['x', 'w', 'b'], ['c'], kernel_shape=[3, 3], strides=[4, 4], pads=[1, 1, 1, 1]),
             h.make_node('Relu', ['c'], ['r']), h.make_node('MaxPool', ['r'], ['m'], kernel_shape=[2, 2]),
             h.make_node('GlobalAveragePool', ['m'], ['g']), h.make_node('Flatten', ['g'], ['f']),
             h.make_node('Gemm', ['f', 'gw', 'gb'], ['y'], transB=1)]
    g = h.make_graph(nodes, 'tiny', [h.make_tensor_value_info('x', T.FLOAT, ['N', 1, 28, 28])],
                     [h.make_tensor_value_info('y', T.FLOAT, ['N', 10])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
    h.set_model_props(m, {'qnpu.train_images': '55000'})
    fp = os.path.join(out, 'float_tiny.onnx')
    open(fp, 'wb').write(m.SerializeToString())
    return made, fp


def netfile_seeds(qmodels, float_model):
    out = d('netfile')
    for p in qmodels[:4]:
        subprocess.run([QNPU, 'import', p, '-o', os.path.join(out, os.path.basename(p)[:-5] + '.qnpu')], check=True,
                       capture_output=True)
    for prec in ('w8a8', 'w4a4'):
        subprocess.run([QNPU, 'quantize', float_model, '--calib', 'max', '--precision', prec, '--calib-images', '20',
                        '-o', os.path.join(out, 'tiny_%s.qnpu' % prec)], check=True, capture_output=True)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', 'shared')
    npy_seeds()
    idx_seeds()
    case_seeds(shared)
    qmodels, fm = onnx_seeds()
    netfile_seeds(qmodels, fm)
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        print('%-8s %2d files, %6d bytes' % (t, len(files), sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)))


if __name__ == '__main__':
    main()
