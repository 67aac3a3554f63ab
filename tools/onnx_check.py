#!/usr/bin/env python3
"""onnx_check.py - qnpu against ONNX Runtime, bit for bit (docs/onnx.md).

  onnx_check.py fmnist   the project's Fashion-MNIST model quantized by ONNX
                         Runtime's own quantize_static (QDQ, per-channel int8,
                         calibrated on held-out training images), run by ONNX
                         Runtime and by `qnpu net` on test images: every
                         layer's int8 output and the logits must be equal.
  onnx_check.py sweep    random single-node models (QLinearConv, QLinearMatMul,
                         QDQ Conv, and some QGemm, QLinearAdd and pools) with
                         random shapes, strides, pads, dilations, groups, zero
                         points and per-channel scales: ONNX Runtime's output
                         and qnpu's must be equal.

ONNX Runtime runs with session.qdqisint8allowed=1 (so that a QDQ model with
int8 activations is fused into int8 kernels instead of being converted to
uint8, docs/onnx.md) on the CPU execution provider. Every failure prints
the command that reproduces it. Exit status 0: all bit-exact; 1: a
difference; 2: a setup error.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ort_quantize  # noqa: E402
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

f32 = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def session(model, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL, save=None):
    so = ort.SessionOptions()
    so.add_session_config_entry('session.qdqisint8allowed', '1')
    so.graph_optimization_level = level
    so.log_severity_level = 3
    if save:
        so.optimized_model_filepath = save
    src = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(src, so, providers=['CPUExecutionProvider'])


def qnpu_run(qnpu, model, x_path, backend, out_path, dump=None, extra=()):
    cmd = [qnpu, 'net', model, '--input', x_path, '--output', out_path, '--backend', backend, '--json']
    if dump:
        cmd += ['--dump-dir', dump]
    cmd += list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError('%s\n  exit %d: %s%s' % (' '.join(cmd), p.returncode, p.stdout.strip(), p.stderr.strip()))
    return json.loads(p.stdout)


def idx(path):
    raw = gzip.open(path).read() if path.endswith('.gz') else open(path, 'rb').read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def find(data, name):
    for ext in ('.gz', ''):
        p = os.path.join(data, name + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError('%s/%s[.gz]' % (data, name))


def elem_types(m):
    """The element type of every value of a (fused) quantized graph."""
    ty = {i.name: i.type.tensor_type.elem_type for i in m.graph.input}
    ty.update({t.name: t.data_type for t in m.graph.initializer})
    yzp = {'QLinearConv': 7, 'QLinearMatMul': 7, 'QLinearAdd': 7, 'QLinearAveragePool': 4,
           'QLinearGlobalAveragePool': 4, 'QGemm': 8, 'QuantizeLinear': 2}
    for n in m.graph.node:
        if n.op_type == 'DequantizeLinear':
            t = T.FLOAT
        elif n.op_type in yzp:
            k = yzp[n.op_type]
            t = ty.get(n.input[k], T.UINT8) if k < len(n.input) and n.input[k] else \
                (T.UINT8 if n.op_type == 'QuantizeLinear' else T.FLOAT)
        else:
            t = ty.get(n.input[0], T.FLOAT)
        for o in n.output:
            ty[o] = t
    return ty


# ---- the Fashion-MNIST model -------------------------------------------------------------


def fmnist(a):
    os.makedirs(a.work, exist_ok=True)
    src = onnx.load(a.model)
    meta = {p.key: p.value for p in src.metadata_props}
    in_scale, in_offset = f32(float(meta.get('qnpu.input_scale', 1 / 255))), f32(float(meta.get('qnpu.input_offset', 0)))
    first = int(meta.get('qnpu.train_images', 55000))
    test, labels = idx(find(a.data, 't10k-images-idx3-ubyte')), idx(find(a.data, 't10k-labels-idx1-ubyte'))

    def floats(p):  # exactly as qnpu makes the float input of pixel p: float32(p) * s + o, each step rounded
        return (p.astype(f32) * in_scale + in_offset).astype(f32)[:, None]

    qpath = os.path.join(a.work, 'fmnist_cnn.ort.onnx')
    t0 = time.time()
    calib, _ = ort_quantize.fmnist_inputs(a.model, a.data, a.calib_images)
    ort_quantize.quantize(a.model, qpath, calib, uint8=a.uint8)
    name = src.graph.input[0].name
    print('quantize_static: %s (QDQ, per-channel int8 weights, %s activations, MinMax over training images %d..%d), '
          '%.1f s' % (qpath, 'uint8' if a.uint8 else 'int8', first, first + a.calib_images - 1, time.time() - t0))

    # ONNX Runtime: the logits, and every intermediate tensor of the fused graph
    x = floats(test[a.offset:a.offset + a.images])
    xpath = os.path.join(a.work, 'fmnist_x.npy')
    np.save(xpath, x)
    t0 = time.time()
    y_ort = np.concatenate([session(qpath).run(None, {name: x[i:i + 100]})[0] for i in range(0, len(x), 100)])
    ort_s = time.time() - t0
    # the intermediate tensors: the graph as ONNX Runtime fuses it (EXTENDED: the QDQ fusions, without the
    # NHWC layout change of ALL), saved, every node output made a graph output, run as it is
    opt = os.path.join(a.work, 'fmnist_cnn.ort.opt.onnx')
    session(qpath, level=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, save=opt)
    m = onnx.load(opt)
    fused = [n.op_type for n in m.graph.node]
    print('ONNX Runtime %s runs it as: %s' % (ort.__version__, ', '.join(fused)))
    types = elem_types(m)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(h.make_tensor_value_info(o, types[o], None))
                have.add(o)
    s2 = session(m, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    names = [o.name for o in s2.get_outputs()]
    runs = [s2.run(None, {name: x[i:i + 100]}) for i in range(0, len(x), 100)]
    inter = {nm: np.concatenate([r[k] for r in runs]) for k, nm in enumerate(names)}
    if not np.array_equal(inter[names[0]], y_ort):
        print('setup error: the fused graph run node by node gives other logits than the optimized session')
        return 2
    ort_acc = float((y_ort.argmax(1) == labels[a.offset:a.offset + a.images]).mean())
    print('ONNX Runtime: %d test images (%d..%d), accuracy %.2f%%, %.2f s' %
          (len(x), a.offset, a.offset + len(x) - 1, 100 * ort_acc, ort_s))

    report = {'ort_version': ort.__version__, 'model': qpath, 'images': len(x), 'offset': a.offset,
              'ort_accuracy': ort_acc, 'fused_graph': fused, 'backends': {}}
    bad = 0
    for be in a.backends.split(','):
        n_img = len(x) if be != 'sim' else min(a.sim_images, len(x))
        xp = xpath
        if n_img != len(x):
            xp = os.path.join(a.work, 'fmnist_x_%d.npy' % n_img)
            np.save(xp, x[:n_img])
        dump, out = os.path.join(a.work, 'dump_' + be), os.path.join(a.work, 'y_%s.npy' % be)
        t0 = time.time()
        try:
            j = qnpu_run(a.qnpu, qpath, xp, be, out, dump)
        except RuntimeError as e:
            print('FAIL qnpu net:', e)
            return 1
        secs = time.time() - t0
        y = np.load(out)
        idxj = json.load(open(os.path.join(dump, 'tensors.json')))
        layers, cmp_bad, compared = [], 0, 0
        q_in = [n.output[0] for n in m.graph.node if n.op_type == 'QuantizeLinear' and n.input[0] == name]
        for t in idxj['tensors']:
            if t['input'] and q_in:  # the graph input, quantized: the first QuantizeLinear's output
                t['name'] = q_in[0]
            if t['name'] not in inter:
                continue
            mine = np.load(os.path.join(dump, t['file']))  # [N, H, W, C], int8 domain
            ref = inter[t['name']][:n_img]
            if ref.dtype == np.uint8:
                ref = (ref.astype(np.int16) - 128).astype(np.int8)
            ref = ref.reshape(n_img, -1, *ref.shape[2:]) if ref.ndim == 4 else ref.reshape(n_img, -1, 1, 1)
            ref = ref.transpose(0, 2, 3, 1).reshape(mine.shape)
            d = int((ref != mine).sum())
            layers.append({'tensor': t['name'], 'elements': int(mine.size), 'mismatches': d})
            cmp_bad += d
            compared += 1
        logits_d = int((y != y_ort[:n_img]).sum()) if y.shape == y_ort[:n_img].shape else -1
        acc = float((y.argmax(1) == labels[a.offset:a.offset + n_img]).mean())
        ok = cmp_bad == 0 and logits_d == 0 and compared >= 5
        bad += not ok
        report['backends'][be] = {'images': n_img, 'tensors_compared': compared, 'tensor_mismatches': cmp_bad,
                                  'logit_mismatches': logits_d, 'accuracy': acc, 'seconds': secs,
                                  'qnpu': {k: j.get(k) for k in ('cycles_per_image', 'utilization', 'images_per_second')},
                                  'layers': layers, 'bit_exact': ok}
        print('qnpu %-6s %5d images: %d tensors compared (%s), logits %s, accuracy %.2f%%, %.1f s -> %s' %
              (be, n_img, compared, 'all equal' if cmp_bad == 0 else '%d values differ' % cmp_bad,
               'equal' if logits_d == 0 else '%d differ' % logits_d, 100 * acc, secs,
               'BIT-EXACT' if ok else 'MISMATCH'))
        for l in layers:
            if l['mismatches']:
                print('   %s: %d of %d values differ' % (l['tensor'], l['mismatches'], l['elements']))
        if not ok:
            print('   reproduce: %s net %s --input %s --backend %s --dump-dir %s' % (a.qnpu, qpath, xp, be, dump))
    rp = os.path.join(a.work, 'fmnist_report.json')
    json.dump(report, open(rp, 'w'), indent=1)
    print('report: %s' % rp)
    return 1 if bad else 0


# ---- random single-node models ----------------------------------------------------------------


def q_scalar(name, v, dtype):
    return nh.from_array(np.array(v, dtype=dtype), name)


def rand_conv_geometry(rng, small):
    while True:
        g_kind = rng.random()
        c = int(rng.integers(1, 9 if small else 24))
        if g_kind < 0.2:  # depthwise (multiplier 1 or 2)
            groups, cin, cout = c, c, c * int(rng.integers(1, 3))
        elif g_kind < 0.35:
            groups = int(rng.integers(2, 4))
            cin, cout = groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 6))
        else:
            groups, cin, cout = 1, c, int(rng.integers(1, 9 if small else 40))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh, dw = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if rng.random() < 0.3 else (1, 1)
        pads = [int(rng.integers(0, 3)) for _ in range(4)]
        H, W = int(rng.integers(1, 14)), int(rng.integers(1, 14))
        oh = (H + pads[0] + pads[2] - dh * (kh - 1) - 1) // sh + 1
        ow = (W + pads[1] + pads[3] - dw * (kw - 1) - 1) // sw + 1
        if oh >= 1 and ow >= 1 and max(pads[0], pads[2]) < kh and max(pads[1], pads[3]) < kw:
            return dict(groups=groups, cin=cin, cout=cout, k=(kh, kw), s=(sh, sw), d=(dh, dw), pads=pads, H=H, W=W)


def choose_y_scale(rng, acc_absmax, xs, ws, pow2=False):
    """A y_scale that maps the accumulators over roughly the int8 range (sometimes beyond: saturation).
    pow2: a power of two, so that with power-of-two x and w scales the products are exact and ties
    (x.5) are frequent - where half-to-even, half-away and the float32 roundings part."""
    span = max(float(acc_absmax), 1.0) * float(xs) * float(np.max(ws))
    y = span / rng.uniform(40, 400)
    return f32(2.0 ** np.round(np.log2(y))) if pow2 else f32(y)


def pow2_scales(rng, lo, hi, n):
    """n powers of two between about lo and hi."""
    return (2.0 ** rng.integers(int(np.floor(np.log2(lo))), int(np.ceil(np.log2(hi))) + 1, n)).astype(f32)


def act_types(rng):
    """(activation type, weight type): int8/int8, uint8/uint8, or uint8 with 7-bit int8 weights (reduce_range)."""
    r = rng.random()
    return ('s8', 's8', 8) if r < 0.6 else ('u8', 'u8', 8) if r < 0.8 else ('u8', 's8', 7)


NP = {'s8': np.int8, 'u8': np.uint8}
TP = {'s8': T.INT8, 'u8': T.UINT8}


def rand_q(rng, kind, n):
    return rng.integers(-128, 128, n).astype(np.int8) if kind == 's8' else rng.integers(0, 256, n).astype(np.uint8)


def rand_zp(rng, kind):
    return np.int8(rng.integers(-128, 128)) if kind == 's8' else np.uint8(rng.integers(0, 256))


def make_qlinearconv(rng, i):
    g = rand_conv_geometry(rng, small=False)
    at, wt, wbits = act_types(rng)
    N = int(rng.integers(1, 3))
    x = rand_q(rng, at, N * g['cin'] * g['H'] * g['W']).reshape(N, g['cin'], g['H'], g['W'])
    cpg, kh, kw = g['cin'] // g['groups'], g['k'][0], g['k'][1]
    wshape = (g['cout'], cpg, kh, kw)
    if wbits == 7:
        w = rng.integers(-64, 64, wshape).astype(np.int8)
        wz = np.zeros(1 if rng.random() < 0.5 else g['cout'], np.int8)
    else:
        w = rand_q(rng, wt, int(np.prod(wshape))).reshape(wshape)
        z = rand_zp(rng, wt) if rng.random() < 0.5 else (np.int8(0) if wt == 's8' else np.uint8(128))
        wz = np.full(1 if rng.random() < 0.5 else g['cout'], z, NP[wt])
    pow2 = rng.random() < 0.3
    nws = 1 if rng.random() < 0.3 else g['cout']
    xs, xz = f32(rng.uniform(0.001, 0.1)), rand_zp(rng, at)
    ws = rng.uniform(0.0005, 0.05, nws).astype(f32)
    if pow2:
        xs, ws = pow2_scales(rng, 0.001, 0.1, 1)[0], pow2_scales(rng, 0.0005, 0.05, nws)
    yt = at  # ONNX Runtime's QLinearConv kernels have y of x's type
    yz = rand_zp(rng, yt)
    bias = rng.integers(-20000, 20000, g['cout']).astype(np.int32) if rng.random() < 0.8 else None
    # the accumulator magnitude, for a y_scale that uses the output range
    xi = x.astype(np.int64) - int(xz)
    acc_abs = np.abs(xi).mean() * np.abs(w.astype(np.int64) - int(wz[0])).mean() * cpg * kh * kw * 2
    ys = choose_y_scale(rng, acc_abs, xs, ws, pow2)
    inits = [q_scalar('xs', xs, f32), q_scalar('xz', xz, NP[at]), nh.from_array(w, 'w'),
             nh.from_array(ws if len(ws) > 1 else ws.reshape(()), 'ws'),
             nh.from_array(wz if len(wz) > 1 else wz.reshape(()), 'wz'), q_scalar('ys', ys, f32),
             q_scalar('yz', yz, NP[yt])]
    ins = ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz']
    if bias is not None:
        inits.append(nh.from_array(bias, 'b'))
        ins.append('b')
    node = h.make_node('QLinearConv', ins, ['y'], name='qconv', group=g['groups'], kernel_shape=list(g['k']),
                       strides=list(g['s']), dilations=list(g['d']), pads=g['pads'])
    gr = h.make_graph([node], 'g', [h.make_tensor_value_info('x', TP[at], list(x.shape))],
                      [h.make_tensor_value_info('y', TP[yt], None)], inits)
    desc = 'QLinearConv %s x[%d,%d,%d,%d] w %s%s[%d,%d,%d,%d] groups %d stride %s dil %s pads %s%s' % (
        at, N, g['cin'], g['H'], g['W'], wt, '(7-bit)' if wbits == 7 else '', *wshape, g['groups'], g['s'], g['d'],
        g['pads'], ' pow2 scales' if pow2 else '')
    return h.make_model(gr, opset_imports=[h.make_opsetid('', 13)]), x, desc


def make_qlinearmatmul(rng, i):
    at, wt, wbits = act_types(rng)
    big = rng.random() < 0.2  # accumulators beyond 2^24: float32(acc) rounds
    M, K, N = int(rng.integers(1, 9)), int(rng.integers(600, 1500) if big else rng.integers(1, 300)), int(rng.integers(1, 70))
    pow2 = rng.random() < 0.3
    a = rand_q(rng, at, M * K).reshape(M, K)
    b = rng.integers(-64, 64, (K, N)).astype(np.int8) if wbits == 7 else rand_q(rng, wt, K * N).reshape(K, N)
    bz = np.int8(0) if wbits == 7 else rand_zp(rng, wt)
    if big:  # extreme values: |a - az| and |b - bz| near their maxima
        a = (np.where(rng.random((M, K)) < 0.5, 0, 255) if at == 'u8' else np.where(rng.random((M, K)) < 0.5, -128, 127)
             ).astype(NP[at])
        if wbits == 8:
            b = (np.where(rng.random((K, N)) < 0.5, 0, 255) if wt == 'u8' else
                 np.where(rng.random((K, N)) < 0.5, -128, 127)).astype(NP[wt])
    az, as_ = rand_zp(rng, at), f32(rng.uniform(0.001, 0.1))
    nbs = 1 if rng.random() < 0.5 else N
    bs = rng.uniform(0.0005, 0.05, nbs).astype(f32)
    if pow2:
        as_, bs = pow2_scales(rng, 0.001, 0.1, 1)[0], pow2_scales(rng, 0.0005, 0.05, nbs)
    yt = at
    yz = rand_zp(rng, yt)
    acc_abs = np.abs((a.astype(np.int64) - int(az)) @ (b.astype(np.int64) - int(bz))).max()
    ys = choose_y_scale(rng, acc_abs, as_, bs, pow2)
    inits = [q_scalar('as', as_, f32), q_scalar('az', az, NP[at]), nh.from_array(b, 'b'),
             nh.from_array(bs if len(bs) > 1 else bs.reshape(()), 'bs'), q_scalar('bz', bz, b.dtype),
             q_scalar('ys', ys, f32), q_scalar('yz', yz, NP[yt])]
    node = h.make_node('QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'], name='qmatmul')
    gr = h.make_graph([node], 'g', [h.make_tensor_value_info('a', TP[at], [M, K])],
                      [h.make_tensor_value_info('y', TP[yt], None)], inits)
    desc = 'QLinearMatMul %s a[%d,%d] b %s%s[%d,%d] %s scales%s%s' % (
        at, M, K, wt, '(7-bit)' if wbits == 7 else '', K, N, 'per-column' if len(bs) > 1 else 'per-tensor',
        ' pow2' if pow2 else '', ' |acc| up to %d' % acc_abs if big else '')
    return h.make_model(gr, opset_imports=[h.make_opsetid('', 13)]), a, desc


def make_qdq_conv(rng, i):
    """Float input -> QuantizeLinear -> DequantizeLinear -> Conv (DQ weights, DQ int32 bias) -> QuantizeLinear."""
    g = rand_conv_geometry(rng, small=False)
    N = int(rng.integers(1, 3))
    x = rng.normal(0, 1, (N, g['cin'], g['H'], g['W'])).astype(f32) * f32(rng.uniform(0.1, 3))
    xs, xz = f32(float(np.abs(x).max()) / 127.0 * rng.uniform(0.7, 1.3) + 1e-6), np.int8(rng.integers(-20, 21))
    cpg, kh, kw = g['cin'] // g['groups'], g['k'][0], g['k'][1]
    wshape = (g['cout'], cpg, kh, kw)
    w = rng.integers(-127, 128, wshape).astype(np.int8)
    ws = rng.uniform(0.001, 0.02, g['cout']).astype(f32)
    pow2 = rng.random() < 0.3
    if pow2:
        xs, ws = f32(2.0 ** np.round(np.log2(xs))), pow2_scales(rng, 0.001, 0.02, g['cout'])
    bs = (xs * ws).astype(f32)
    b = rng.integers(-5000, 5000, g['cout']).astype(np.int32)
    acc_abs = 64 * np.abs(w.astype(np.int64)).mean() * cpg * kh * kw
    ys, yz = choose_y_scale(rng, acc_abs, xs, ws, pow2), np.int8(rng.integers(-128, 128))
    inits = [q_scalar('xs', xs, f32), q_scalar('xz', xz, np.int8), nh.from_array(w, 'wq'), nh.from_array(ws, 'ws'),
             nh.from_array(np.zeros(g['cout'], np.int8), 'wz'), nh.from_array(b, 'bq'), nh.from_array(bs, 'bs'),
             nh.from_array(np.zeros(g['cout'], np.int32), 'bz'), q_scalar('ys', ys, f32), q_scalar('yz', yz, np.int8)]
    nodes = [h.make_node('QuantizeLinear', ['x', 'xs', 'xz'], ['xq'], name='qx'),
             h.make_node('DequantizeLinear', ['xq', 'xs', 'xz'], ['xd'], name='dqx'),
             h.make_node('DequantizeLinear', ['wq', 'ws', 'wz'], ['wd'], name='dqw', axis=0),
             h.make_node('DequantizeLinear', ['bq', 'bs', 'bz'], ['bd'], name='dqb', axis=0),
             h.make_node('Conv', ['xd', 'wd', 'bd'], ['c'], name='conv', group=g['groups'], kernel_shape=list(g['k']),
                         strides=list(g['s']), dilations=list(g['d']), pads=g['pads']),
             h.make_node('QuantizeLinear', ['c', 'ys', 'yz'], ['y'], name='qy')]
    gr = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, list(x.shape))],
                      [h.make_tensor_value_info('y', T.INT8, None)], inits)
    desc = 'QDQ Conv float x[%d,%d,%d,%d] w[%d,%d,%d,%d] groups %d stride %s dil %s pads %s' % (
        N, g['cin'], g['H'], g['W'], *wshape, g['groups'], g['s'], g['d'], g['pads'])
    return h.make_model(gr, opset_imports=[h.make_opsetid('', 13)]), x, desc


def make_hostop(rng, i):
    """QLinearAdd, QLinearAveragePool, QLinearGlobalAveragePool or QGemm (com.microsoft), int8."""
    kind = ['add', 'avgpool', 'gap', 'qgemm'][i % 4]
    C, H, W, N = int(rng.integers(1, 20)), int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 3))
    u8 = kind != 'qgemm' and rng.random() < 0.4  # uint8: ORT's float32 kernels compute with the uint8 values
    nt, tt, lo = (np.uint8, T.UINT8, 0) if u8 else (np.int8, T.INT8, -128)
    s = lambda: f32(rng.uniform(0.005, 0.5))
    z = lambda: nt(rng.integers(lo, lo + 256))
    ms = [h.make_opsetid('', 13), h.make_opsetid('com.microsoft', 1)]
    x = rng.integers(lo, lo + 256, (N, C, H, W)).astype(nt)
    if kind == 'add':  # x + (x requantized by a 1x1 QLinearAveragePool): two different operands
        inits = [q_scalar('sa', s(), f32), q_scalar('za', z(), nt), q_scalar('sb', s(), f32),
                 q_scalar('zb', z(), nt), q_scalar('sc', s(), f32), q_scalar('zc', z(), nt)]
        nodes = [h.make_node('QLinearAveragePool', ['x', 'sa', 'za', 'sb', 'zb'], ['x2'], name='requant',
                             domain='com.microsoft', kernel_shape=[1, 1]),
                 h.make_node('QLinearAdd', ['x', 'sa', 'za', 'x2', 'sb', 'zb', 'sc', 'zc'], ['y'], name='qadd',
                             domain='com.microsoft')]
        desc = 'QLinearAdd x + requant(x) [%d,%d,%d,%d]' % x.shape
    elif kind == 'avgpool':
        k = int(rng.integers(1, min(H, W) + 1))
        st = int(rng.integers(1, 3))
        pad = int(rng.integers(0, k)) if k > 1 else 0
        cip = int(rng.integers(0, 2))
        inits = [q_scalar('sx', s(), f32), q_scalar('zx', z(), nt), q_scalar('sy', s(), f32),
                 q_scalar('zy', z(), nt)]
        nodes = [h.make_node('QLinearAveragePool', ['x', 'sx', 'zx', 'sy', 'zy'], ['y'], name='qavg',
                             domain='com.microsoft', kernel_shape=[k, k], strides=[st, st], pads=[pad] * 4,
                             count_include_pad=cip)]
        desc = 'QLinearAveragePool x[%d,%d,%d,%d] k %d stride %d pad %d count_include_pad %d' % (*x.shape, k, st, pad,
                                                                                               cip)
    elif kind == 'gap':
        sx = s()
        inits = [q_scalar('sx', sx, f32), q_scalar('zx', z(), nt), q_scalar('sy', f32(sx * rng.uniform(0.1, 2)), f32),
                 q_scalar('zy', z(), nt)]
        nodes = [h.make_node('QLinearGlobalAveragePool', ['x', 'sx', 'zx', 'sy', 'zy'], ['y'], name='qgap',
                             domain='com.microsoft', channels_last=0)]
        desc = 'QLinearGlobalAveragePool x[%d,%d,%d,%d]' % x.shape
    else:
        K, O = C * H * W, int(rng.integers(1, 50))
        x = rng.integers(-128, 128, (N * 2, K)).astype(np.int8)
        b = rng.integers(-128, 128, (O, K)).astype(np.int8)
        bs = rng.uniform(0.0005, 0.05, O).astype(f32)
        sa = s()
        inits = [q_scalar('sa', sa, f32), q_scalar('za', z(), np.int8), nh.from_array(b, 'b'), nh.from_array(bs, 'bs'),
                 nh.from_array(np.zeros(O, np.int8), 'bz'),
                 nh.from_array(rng.integers(-20000, 20000, O).astype(np.int32), 'c'),
                 q_scalar('sy', choose_y_scale(rng, 64 * 64 * K, sa, bs), f32), q_scalar('zy', z(), np.int8)]
        nodes = [h.make_node('QGemm', ['x', 'sa', 'za', 'b', 'bs', 'bz', 'c', 'sy', 'zy'], ['y'], name='qgemm',
                             domain='com.microsoft', transB=1)]
        desc = 'QGemm x[%d,%d] B^T[%d,%d] per-channel' % (N * 2, K, O, K)
    gr = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', tt, list(x.shape))],
                      [h.make_tensor_value_info('y', tt, None)], inits)
    return h.make_model(gr, opset_imports=ms), x, desc + (' uint8' if u8 else '')


def make_constructed(rng, i):
    """QLinearMatMul whose accumulators acc = (n + 1/2) 2^e + d (d odd, |acc| in [2^24, 2^26)) sit next to a tie
    that float32(acc) lands on exactly: ONNX Runtime's two float32 roundings and an exact product part here."""
    e = int(rng.integers(17, 19))  # s = 2^-e; acc in [2^(e+7), 2^(e+8)): float32 keeps multiples of 2^(e-16)
    M = 16
    n = rng.integers(128, 256, M)
    d = rng.choice([-3, -1, 1, 3], M) * (1 << (e - 17))
    acc = ((2 * n + 1) * (1 << (e - 1)) + d).astype(np.int64)
    s1, r = acc // 127, acc % 127  # acc = 127 * s1 + r: a's first K1 entries meet b = 127, entry K1 meets b = 1
    K1 = int(s1.max() // 127 + 2)
    a = np.zeros((M, K1 + 1), np.int8)
    for i_ in range(M):
        full, part = divmod(int(s1[i_]), 127)
        a[i_, :full] = 127
        a[i_, full] = part
        a[i_, K1] = r[i_]
    b = np.full((K1 + 1, 1), 127, np.int8)
    b[K1, 0] = 1
    assert np.array_equal(a.astype(np.int64) @ b.astype(np.int64), acc[:, None])
    inits = [q_scalar('as', f32(2.0 ** -7), f32), q_scalar('az', np.int8(0), np.int8), nh.from_array(b, 'b'),
             q_scalar('bs', f32(2.0 ** -5), f32), q_scalar('bz', np.int8(0), np.int8),
             q_scalar('ys', f32(2.0 ** (e - 12)), f32), q_scalar('yz', np.int8(-128), np.int8)]
    node = h.make_node('QLinearMatMul', ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'], name='qmatmul')
    gr = h.make_graph([node], 'g', [h.make_tensor_value_info('a', T.INT8, [M, K1 + 1])],
                      [h.make_tensor_value_info('y', T.INT8, None)], inits)
    return h.make_model(gr, opset_imports=[h.make_opsetid('', 13)]), a, \
        'QLinearMatMul constructed a[%d,%d]: accumulators next to float32 ties, s = 2^-%d' % (M, K1 + 1, e)


MAKERS = [('qlinearconv', make_qlinearconv, 4), ('qlinearmatmul', make_qlinearmatmul, 2), ('qdq_conv', make_qdq_conv, 3),
          ('hostop', make_hostop, 1), ('constructed', make_constructed, 0.5)]


def sweep(a):
    os.makedirs(a.work, exist_ok=True)
    weights = np.array([w for _, _, w in MAKERS], float)
    counts = {k: [0, 0, 0] for k, _, _ in MAKERS}  # models, outputs, mismatching models
    fails, backends, t0 = [], a.backends.split(','), time.time()
    ids = [a.only] if a.only is not None else range(a.n)
    for i in ids:
        rng = np.random.default_rng([a.seed, i])
        k = int(rng.choice(len(MAKERS), p=weights / weights.sum()))
        name, make, _ = MAKERS[k]
        model, x, desc = make(rng, i)
        mp, xp, yp = (os.path.join(a.work, 'm%d%s' % (i % 4, e)) for e in ('.onnx', '_x.npy', '_y.npy'))
        onnx.save(model, mp)
        np.save(xp, x)
        try:
            y_ort = session(model).run(None, {model.graph.input[0].name: x})[0]
        except Exception as e:  # an ORT refusal is a bad generated model, not a qnpu result
            print('setup error: ONNX Runtime refused model %d (%s): %s' % (i, desc, e))
            return 2
        bes = [b for b in backends if b != 'sim'] + (['sim'] if 'sim' in backends and i % a.sim_every == 0 else [])
        bad = False
        for be in bes:
            try:
                qnpu_run(a.qnpu, mp, xp, be, yp)
                y = np.load(yp)
                d = int((y.reshape(-1) != y_ort.reshape(-1)).sum()) if y.size == y_ort.size else -1
            except RuntimeError as e:
                d, err = -2, str(e)
            if d:
                bad = True
                why = ('%d of %d outputs differ' % (d, y_ort.size) if d > 0 else 'shape %s vs %s' % (y.shape, y_ort.shape)
                       if d == -1 else 'qnpu failed: ' + err)
                fails.append('model %d (%s) on %s: %s\n   reproduce: tools/onnx_check.py sweep --seed %d --only %d '
                             '--backends %s' % (i, desc, be, why, a.seed, i, be))
        counts[name][0] += 1
        counts[name][1] += int(y_ort.size)
        counts[name][2] += bad
        if a.progress and (i + 1) % 50 == 0:
            print('  %d/%d models, %d failing, %.0f s' % (i + 1, a.n, len(fails), time.time() - t0), file=sys.stderr)
    for f in fails[:20]:
        print('FAIL', f)
    total = sum(c[0] for c in counts.values())
    print('sweep seed %d: %d models on %s (sim every %d-th), %.0f s' % (a.seed, total, '+'.join(backends), a.sim_every,
                                                                       time.time() - t0))
    for k, (m, o, b) in counts.items():
        print('  %-14s %4d models %8d outputs  %s' % (k, m, o, 'bit-exact' if b == 0 else '%d MISMATCHING' % b))
    json.dump({'seed': a.seed, 'models': total, 'failures': fails, 'kinds': counts},
              open(os.path.join(a.work, 'sweep_report.json'), 'w'), indent=1)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split('\n\n', 1)[1])
    ap.add_argument('what', choices=['fmnist', 'sweep'])
    ap.add_argument('--qnpu', default=os.path.join(ROOT, 'build/bin/qnpu'))
    ap.add_argument('--work', default=os.path.join(ROOT, 'build/onnx'))
    ap.add_argument('--backends', default='golden,model,sim', help='qnpu backends (default golden,model,sim)')
    ap.add_argument('--model', default=os.path.join(ROOT, 'models/fmnist_cnn.onnx'))
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    ap.add_argument('--images', type=int, default=1000, help='fmnist: test images (default 1000)')
    ap.add_argument('--offset', type=int, default=0, help='fmnist: first test image')
    ap.add_argument('--calib-images', type=int, default=1000, help='fmnist: calibration images (default 1000)')
    ap.add_argument('--sim-images', type=int, default=50, help='fmnist: images on sim (default 50)')
    ap.add_argument('--uint8', action='store_true', help='fmnist: uint8 activations (7-bit weights, reduce_range)')
    ap.add_argument('-n', type=int, default=600, help='sweep: models (default 600)')
    ap.add_argument('--seed', type=int, default=1, help='sweep: seed (default 1)')
    ap.add_argument('--only', type=int, help='sweep: just model ONLY of the seed (to reproduce a failure)')
    ap.add_argument('--sim-every', type=int, default=20, help='sweep: every k-th model also on sim (default 20)')
    ap.add_argument('--progress', action='store_true')
    a = ap.parse_args()
    if not os.access(a.qnpu, os.X_OK):
        print('onnx_check: %s not found (make first)' % a.qnpu, file=sys.stderr)
        return 2
    return fmnist(a) if a.what == 'fmnist' else sweep(a)


if __name__ == '__main__':
    sys.exit(main())
