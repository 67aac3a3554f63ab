#!/usr/bin/env python3
"""Records ONNX Runtime's outputs for the host operations of an imported
quantized network (QuantizeLinear, QLinearAdd, QLinearAveragePool,
QLinearGlobalAveragePool, all int8), for tests/unit/test_ort.c.

The cases are seeded; among them the parameter sets where the candidate
float32 formulas disagree (an FMA-contracted or a plain fixed part in
QLinearAdd, ties in QuantizeLinear), so the recorded outputs pin down
which one ONNX Runtime computes. Run by `make ort-cases` (needs the
virtual environment of `make test-onnx`); the output is committed.

Line format (docs/onnx.md): an op name, then its fields; float32 values as
8 hex digits of their bits, 8-bit tensors as one hex string of their bytes
(2 digits per value, NHWC); a flag 1 marks uint8 tensors (add: all three,
avgpool: x and y), whose zero points and values are then uint8 too."""
import argparse
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

f32 = np.float32


def fbits(x):
    return '%08x' % int(np.array(x, np.float32).view(np.uint32))


def hex8(a):
    return np.asarray(a, np.int8).astype(np.uint8).tobytes().hex()


def session(model):
    so = ort.SessionOptions()
    so.add_session_config_entry('session.qdqisint8allowed', '1')
    return ort.InferenceSession(model.SerializeToString(), so, providers=['CPUExecutionProvider'])


def model(nodes, inputs, outputs, inits):
    g = h.make_graph(nodes, 'g', inputs, outputs, inits)
    return h.make_model(g, opset_imports=[h.make_opsetid('', 13), h.make_opsetid('com.microsoft', 1)])


def scalars(**kw):
    return [nh.from_array(np.array(v), k) for k, v in kw.items()]


def quant_cases(rng, out):
    for t in range(6):
        s = f32(rng.uniform(0.002, 0.2))
        zp = np.int8(rng.integers(-128, 128))
        k = rng.integers(-140, 140, 64).astype(np.float32)
        x = np.concatenate([(k + f32(0.5)) * s,                       # near ties, either side
                            rng.uniform(-40, 40, 64).astype(np.float32) * s,
                            np.array([0, -0.0, 1e30, -1e30, 300 * s, -300 * s], np.float32)]).astype(np.float32)
        m = model([h.make_node('QuantizeLinear', ['x', 's', 'z'], ['y'])],
                  [h.make_tensor_value_info('x', T.FLOAT, [len(x)])], [h.make_tensor_value_info('y', T.INT8, [len(x)])],
                  scalars(s=s, z=zp))
        y = session(m).run(None, {'x': x})[0]
        out.append('quant %s %d %d %s %s' % (fbits(s), zp, len(x), ''.join(fbits(v) for v in x), hex8(y)))


def add_fixed(sa, za, sb, zb, sc, zc, contract):
    ra, rb = f32(sa / sc), f32(sb / sc)
    if contract:
        return f32(f32(zc) - f32(np.longdouble(ra) * np.longdouble(f32(za)) + np.longdouble(f32(rb * f32(zb)))))
    return f32(f32(zc) - f32(f32(ra * f32(za)) + f32(rb * f32(zb))))


def add_outputs(a, b, sa, za, sb, zb, sc, zc, contract):
    ra, rb = f32(sa / sc), f32(sb / sc)
    fixed = add_fixed(sa, za, sb, zb, sc, zc, contract)
    t = (np.longdouble(b.astype(np.float32)) * np.longdouble(rb) + np.longdouble(fixed)).astype(np.float32)
    t = (np.longdouble(a.astype(np.float32)) * np.longdouble(ra) + np.longdouble(t)).astype(np.float32)
    return np.rint(t.astype(np.float64))


def add_cases(rng, out):
    a = np.arange(-128, 128, dtype=np.int8)
    b = np.tile(np.arange(-128, 128, 16, dtype=np.int8), 16)
    add_int8_cases(rng, out, a, b)
    au, bu = (a.astype(np.int16) + 128).astype(np.uint8), (b.astype(np.int16) + 128).astype(np.uint8)
    found = 0
    while found < 8:  # uint8 operands: the kernel computes with the uint8 values, not with u - 128
        sa, sb, sc = [f32(rng.uniform(0.001, 1)) for _ in range(3)]
        za, zb, zc = [np.uint8(rng.integers(0, 256)) for _ in range(3)]
        yu = add_outputs(au.astype(np.int64), bu.astype(np.int64), sa, int(za), sb, int(zb), sc, int(zc), 1)
        ys = add_outputs(au.astype(np.int64) - 128, bu.astype(np.int64) - 128, sa, int(za) - 128, sb, int(zb) - 128,
                         sc, int(zc) - 128, 1)
        if found < 4 and not (np.clip(yu, 0, 255) - 128 != np.clip(ys, -128, 127)).any():
            continue
        found += 1
        m = model([h.make_node('QLinearAdd', ['a', 'sa', 'za', 'b', 'sb', 'zb', 'sc', 'zc'], ['c'], domain='com.microsoft')],
                  [h.make_tensor_value_info('a', T.UINT8, [256]), h.make_tensor_value_info('b', T.UINT8, [256])],
                  [h.make_tensor_value_info('c', T.UINT8, [256])],
                  scalars(sa=sa, za=za, sb=sb, zb=zb, sc=sc, zc=zc))
        y = session(m).run(None, {'a': au, 'b': bu})[0]
        out.append('add %s %s %s %d %d %d 1 256 %s %s %s' % (fbits(sa), fbits(sb), fbits(sc), za, zb, zc, au.tobytes().hex(),
                                                           bu.tobytes().hex(), y.tobytes().hex()))


def add_int8_cases(rng, out, a, b):
    sets = []
    while len(sets) < 8:                       # where the fixed part's two formulas give different outputs
        p = [f32(rng.uniform(0.001, 1)) for _ in range(3)] + [int(rng.integers(-128, 128)) for _ in range(3)]
        sa, sb, sc, za, zb, zc = p
        if add_fixed(sa, za, sb, zb, sc, zc, 0) != add_fixed(sa, za, sb, zb, sc, zc, 1) and \
                (np.clip(add_outputs(a, b, sa, za, sb, zb, sc, zc, 0), -128, 127) !=
                 np.clip(add_outputs(a, b, sa, za, sb, zb, sc, zc, 1), -128, 127)).any():
            sets.append(p)
    for _ in range(8):
        sets.append([f32(rng.uniform(0.001, 1)) for _ in range(3)] + [int(rng.integers(-128, 128)) for _ in range(3)])
    for sa, sb, sc, za, zb, zc in sets:
        m = model([h.make_node('QLinearAdd', ['a', 'sa', 'za', 'b', 'sb', 'zb', 'sc', 'zc'], ['c'], domain='com.microsoft')],
                  [h.make_tensor_value_info('a', T.INT8, [256]), h.make_tensor_value_info('b', T.INT8, [256])],
                  [h.make_tensor_value_info('c', T.INT8, [256])],
                  scalars(sa=sa, za=np.int8(za), sb=sb, zb=np.int8(zb), sc=sc, zc=np.int8(zc)))
        y = session(m).run(None, {'a': a, 'b': b})[0]
        out.append('add %s %s %s %d %d %d 0 256 %s %s %s' % (fbits(sa), fbits(sb), fbits(sc), za, zb, zc, hex8(a), hex8(b),
                                                           hex8(y)))


def pool_cases(rng, out):
    for t in range(24):
        C, H, W = int(rng.integers(1, 6)), int(rng.integers(2, 9)), int(rng.integers(2, 9))
        k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        pad = int(rng.integers(0, k)) if k > 1 else 0
        cip, u8 = int(t % 3 == 2), t % 2
        if min(H, W) + 2 * pad < k:
            continue
        ty, nt = (T.UINT8, np.uint8) if u8 else (T.INT8, np.int8)
        lo = 0 if u8 else -128
        x = rng.integers(lo, lo + 256, (1, C, H, W)).astype(nt)
        sx, sy = f32(rng.uniform(0.001, 1)), f32(rng.uniform(0.001, 1))
        zx, zy = nt(rng.integers(lo, lo + 256)), nt(rng.integers(lo, lo + 256))
        oh, ow = (H + 2 * pad - k) // s + 1, (W + 2 * pad - k) // s + 1
        m = model([h.make_node('QLinearAveragePool', ['x', 'sx', 'zx', 'sy', 'zy'], ['y'], domain='com.microsoft',
                               kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4, count_include_pad=cip)],
                  [h.make_tensor_value_info('x', ty, [1, C, H, W])], [h.make_tensor_value_info('y', ty, [1, C, oh, ow])],
                  scalars(sx=sx, zx=zx, sy=sy, zy=zy))
        y = session(m).run(None, {'x': x})[0]
        out.append('avgpool %d %d %d %d %d %d %d %d %s %d %s %d %s %s' %
                   (C, H, W, k, s, pad, cip, u8, fbits(sx), zx, fbits(sy), zy, x[0].transpose(1, 2, 0).tobytes().hex(),
                    y[0].transpose(1, 2, 0).tobytes().hex()))


def gap_cases(rng, out):
    for t in range(12):
        C, H, W = int(rng.integers(1, 40)), int(rng.integers(1, 12)), int(rng.integers(1, 12))
        x = rng.integers(-128, 128, (1, C, H, W)).astype(np.int8)
        sx = f32(rng.uniform(0.01, 1))
        sy = f32(sx * rng.uniform(0.05, 2))
        zx, zy = np.int8(rng.integers(-128, 128)), np.int8(rng.integers(-128, 128))
        m = model([h.make_node('QLinearGlobalAveragePool', ['x', 'sx', 'zx', 'sy', 'zy'], ['y'], domain='com.microsoft',
                               channels_last=0)],
                  [h.make_tensor_value_info('x', T.INT8, [1, C, H, W])], [h.make_tensor_value_info('y', T.INT8, [1, C, 1, 1])],
                  scalars(sx=sx, zx=zx, sy=sy, zy=zy))
        y = session(m).run(None, {'x': x})[0]
        out.append('gap %d %d %d %s %d %s %d %s %s' % (C, H, W, fbits(sx), zx, fbits(sy), zy,
                                                      hex8(x[0].transpose(1, 2, 0)), hex8(y.reshape(-1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--seed', type=int, default=14)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    out = ['# ONNX Runtime %s, tools/ort_host_cases.py --seed %d; format in docs/onnx.md' % (ort.__version__, a.seed)]
    quant_cases(rng, out)
    add_cases(rng, out)
    pool_cases(rng, out)
    gap_cases(rng, out)
    with open(a.output, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('%s: %d cases' % (a.output, len(out) - 1), file=sys.stderr)


if __name__ == '__main__':
    main()
