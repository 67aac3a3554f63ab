#!/usr/bin/env python3
"""train_fmnist.py - trains qnpu's Fashion-MNIST CNN in float32 and exports it as ONNX.

    tools/train_fmnist.py [--data DIR] [--out models/fmnist_cnn] [--epochs N] [--seed S]

Run by `make train` (which installs Debian's python3-torch and python3-onnx);
`make demo` never retrains: the exported model is committed.

Data split (docs/network.md): the first 55,000 training images train the
model; the last 5,000 are held out for calibration (qnpu quantize), so the
calibration data is neither the test set nor data the model was fitted to.

The network (NCHW here; qnpu runs it NHWC):

    input 1x28x28, pixels / 255
    conv1 3x3 1->32 pad 1, BN, ReLU    28x28x32
    maxpool 2x2                        14x14x32   (pool1)
    conv2 3x3 32->32 pad 1, BN, ReLU   14x14x32
    conv3 3x3 32->32 pad 1, BN         14x14x32
    add(conv3, pool1), ReLU            14x14x32   (a residual block)
    avgpool 2x2                        7x7x32
    flatten, fc1 1568->128, ReLU       (dropout 0.3 in training)
    fc2 128->10                        logits

BatchNorm is folded into the convolutions (by the export, or else by qnpu's
importer); the ONNX graph qnpu reads is conv, relu, pools, add and gemm.

Writes OUT.onnx (the float model), OUT.ref.npy (PyTorch's float32 logits of
the first 64 test images, which the C float reference path is tested
against) and OUT.train.json (the training log and PyTorch's own accuracy).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
N_TRAIN = 55000  # the rest of the 60,000 training images is the calibration set


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        p = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        y = F.relu(self.bn3(self.conv3(F.relu(self.bn2(self.conv2(p))))) + p)
        y = torch.flatten(F.avg_pool2d(y, 2), 1)
        return self.fc2(self.drop(F.relu(self.fc1(y))))


def batches(x, y, size, rng=None):
    idx = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for i in range(0, len(x), size):
        j = idx[i:i + size]
        yield x[j], y[j]


def to_tensor(img):
    return torch.from_numpy(img.astype(np.float32) / 255.0).unsqueeze(1)


def augment(img, rng):
    """Random horizontal flips and shifts of up to 2 pixels (zero fill)."""
    out = img.copy()
    flip = rng.random(len(out)) < 0.5
    out[flip] = out[flip, :, ::-1]
    pad = np.pad(out, ((0, 0), (2, 2), (2, 2)))
    dy, dx = rng.integers(0, 5, size=2)
    return pad[:, dy:dy + 28, dx:dx + 28]


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in batches(x, y, 1000):
            correct += int((model(to_tensor(xb)).argmax(1).numpy() == yb).sum())
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory of the gzipped IDX files (default: %(default)s)")
    ap.add_argument("--out", default="models/fmnist_cnn", help="output path without extension")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(args.seed)
    xtr = read_idx(f"{args.data}/train-images-idx3-ubyte.gz")
    ytr = read_idx(f"{args.data}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xfit, yfit = xtr[:N_TRAIN], ytr[:N_TRAIN]

    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.epochs * ((N_TRAIN + 127) // 128))
    log = []
    for epoch in range(args.epochs):
        model.train()
        t0, total, n = time.time(), 0.0, 0
        for xb, yb in batches(xfit, yfit, 128, rng):
            loss = F.cross_entropy(model(to_tensor(augment(xb, rng))), torch.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(xb)
            n += len(xb)
        acc = accuracy(model, xte, yte)
        log.append({"epoch": epoch + 1, "loss": total / n, "test_accuracy": acc, "seconds": time.time() - t0})
        print(f"epoch {epoch + 1:2d}/{args.epochs}: loss {total / n:.4f}, test accuracy {100 * acc:.2f}% "
              f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    dummy = to_tensor(xte[:1])
    torch.onnx.export(model, dummy, args.out + ".onnx", input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                      do_constant_folding=True)
    import onnx
    m = onnx.load(args.out + ".onnx")
    onnx.checker.check_model(m)
    # the float input of a raw pixel p is p * input_scale + input_offset (qnpu_onnx.h)
    for k, v in {"qnpu.input_scale": repr(1.0 / 255.0), "qnpu.input_offset": "0", "qnpu.dataset": "fashion-mnist",
                 "qnpu.train_images": str(N_TRAIN)}.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.doc_string = "qnpu Fashion-MNIST CNN (tools/train_fmnist.py)"
    onnx.save(m, args.out + ".onnx")
    with torch.no_grad():
        ref = model(to_tensor(xte[:64])).numpy().astype(np.float32)
    np.save(args.out + ".ref.npy", ref)
    summary = {"model": os.path.basename(args.out) + ".onnx", "torch": torch.__version__, "seed": args.seed,
               "epochs": args.epochs, "train_images": N_TRAIN, "pytorch_test_accuracy": log[-1]["test_accuracy"],
               "log": log}
    with open(args.out + ".train.json", "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote {args.out}.onnx ({os.path.getsize(args.out + '.onnx')} bytes), {args.out}.ref.npy, "
          f"{args.out}.train.json; PyTorch float test accuracy {100 * log[-1]['test_accuracy']:.2f}%")


if __name__ == "__main__":
    main()
