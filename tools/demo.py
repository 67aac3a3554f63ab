#!/usr/bin/env python3
"""demo.py - make demo: a real quantized CNN on Fashion-MNIST, end to end.

    tools/demo.py --bin build/bin/qnpu [--model models/fmnist_cnn.onnx] [--out build/demo]
                  [--sim-images 200] [--jobs 2] [--data DIR]

1. the float model's accuracy on the 10,000 test images, by qnpu's float
   reference path in C (qnpu net MODEL.onnx);
2. post-training quantization in every precision (W8A8, W4A8, W4A4, and the
   4-bit ones with W8A8 first and last layers) with every calibrator (max,
   percentile 99.9/99.99/99.999, entropy), calibrated on held-out training
   images (qnpu quantize);
3. the int8 model on the cycle-accurate Verilated RTL over a sample of test
   images, every tensor of every image checked bit for bit against the golden
   model, with a progress bar (qnpu net --backend sim --check);
4. every variant over the full test set on the fast functional model
   (qnpu net --backend model);
5. the accuracy table and the per-layer cycle and utilization table, written
   with the figures as OUT/report.md, OUT/summary.json and OUT/demo.png.

Exit status 0 when every run succeeded and the sim sample was bit-exact.
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import threading
import time

# rows of the accuracy table: (name, --precision, extra qnpu quantize options)
PRECISIONS = [("W8A8", "w8a8", []), ("W4A8", "w4a8", []), ("W4A8 int8 ends", "w4a8", ["--int8-ends"]),
              ("W4A4", "w4a4", []), ("W4A4 int8 ends", "w4a4", ["--int8-ends"])]
CALIBS = ["max", "percentile:99.9", "percentile:99.99", "percentile:99.999", "entropy"]
HEADLINE = ("W8A8", "entropy")   # the int8 model the sim runs


def tag(name, calib):
    return f"{name.lower().replace(' ', '_')}_{calib.replace('percentile:', 'p')}"


def quantize_cmd(q, model, name, calib, out):
    _, prec, extra = next(p for p in PRECISIONS if p[0] == name)
    return [q, "quantize", model, "--calib", calib, "--precision", prec, "-o", out] + extra


def run_json(cmd, log):
    """Runs a qnpu command that prints one JSON object; its stderr goes to log."""
    with open(log, "w") as err:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        j = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        j = {"error": f"no JSON from {' '.join(cmd)} (exit {out.returncode}); see {log}"}
    j["exit"] = out.returncode
    return j


def fmt_pct(x):
    return "-" if x is None else f"{100 * x:.2f} %"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bin/qnpu")
    ap.add_argument("--model", default="models/fmnist_cnn.onnx")
    ap.add_argument("--out", default="build/demo")
    ap.add_argument("--sim-images", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--data", default=None, help="dataset directory (default: qnpu's)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()
    data = ["--data", args.data] if args.data else []
    q = args.bin

    print(f"qnpu demo: {args.model} on Fashion-MNIST, quantized {len(PRECISIONS) * len(CALIBS)} ways, "
          f"{args.sim_images} test images on the cycle-accurate RTL, all 10,000 on the fast model\n", flush=True)

    # the slots: the sim run holds one while it runs, the pool the others
    pool = cf.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    slots = threading.Semaphore(max(1, args.jobs))
    lock = threading.Lock()
    deferred, sim_running = [], [True]

    def say(line):
        with lock:
            if sim_running[0]:
                deferred.append(line)
            else:
                print(line, flush=True)

    def slot(fn, *a):
        with slots:
            return fn(*a)

    def variant(name, calib):
        t = tag(name, calib)
        path = f"{args.out}/{t}.qnpu"
        qj = run_json(quantize_cmd(q, args.model, name, calib, path) + ["--json"] + data, f"{args.out}/{t}.quantize.log")
        if qj["exit"]:
            say(f"  {t}: quantize FAILED: {qj.get('error')}")
            return t, qj, None
        nj = run_json([q, "net", path, "--backend", "model", "--json"] + data, f"{args.out}/{t}.model.log")
        if nj["exit"]:
            say(f"  {t}: FAILED on the fast model: {nj.get('error')}")
        else:
            say(f"  {name:15s} {calib:18s} {fmt_pct(nj['accuracy'])} on {nj['images']} images "
                f"({nj['seconds']:.1f} s on the fast model)")
        return t, qj, nj

    # 1, 2: the float accuracy and the quantized variants, in the background
    float_job = pool.submit(slot, run_json, [q, "net", args.model, "--json"] + data, f"{args.out}/float.log")
    head = tag(*HEADLINE)
    head_path = f"{args.out}/{head}.qnpu"
    cmd = quantize_cmd(q, args.model, *HEADLINE, head_path) + data
    print("$ qnpu " + " ".join(cmd[1:]), flush=True)
    r = subprocess.run(cmd)
    if r.returncode:
        sys.exit(f"demo: qnpu quantize failed (exit {r.returncode})")
    jobs = [pool.submit(slot, variant, p[0], c) for p in PRECISIONS for c in CALIBS]

    # 3: the sim sample, in the foreground with its progress bar
    print(f"\n$ qnpu net {head_path} --backend sim --images {args.sim_images} --check --progress", flush=True)
    with slots:
        with open(f"{args.out}/sim.json", "w") as out:
            r = subprocess.run([q, "net", head_path, "--backend", "sim", "--images", str(args.sim_images), "--check",
                                "--progress", "--json"] + data, stdout=out)
    with open(f"{args.out}/sim.json") as f:
        try:
            sim = json.load(f)
        except ValueError:
            sim = {"error": "no JSON"}
    sim["exit"] = r.returncode
    with lock:
        sim_running[0] = False
        if sim.get("exit") == 0:
            print(f"sim: {sim['images']} images, every tensor bit-exact against the golden model; "
                  f"{sim['cycles_per_image']:.0f} cycles per image, accuracy {fmt_pct(sim['accuracy'])} "
                  f"({sim['images_per_second']:.1f} images/s)")
        else:
            print(f"sim: FAILED (exit {r.returncode}): {sim.get('error') or sim.get('mismatch')}")
        print("\nthe full test set on the fast model, every variant:", flush=True)
        for line in deferred:
            print(line, flush=True)

    # 4: the rest of the variants
    results = {t: (qj, nj) for t, qj, nj in (j.result() for j in jobs)}
    fl = float_job.result()
    pool.shutdown()
    failed = [t for t, (qj, nj) in results.items() if qj["exit"] or not nj or nj["exit"]]
    if fl["exit"]:
        failed.append("float")
    if sim.get("exit") != 0:
        failed.append("sim")
    report(args, fl, results, sim, time.time() - t_start, failed)
    if failed:
        sys.exit(f"demo: FAILED: {', '.join(failed)}")


def report(args, fl, results, sim, wall, failed):
    f_acc = fl.get("accuracy")
    acc = {t: (nj or {}).get("accuracy") for t, (_, nj) in results.items()}
    lines = []
    lines.append(f"## Accuracy on the {fl.get('images', '?')} Fashion-MNIST test images\n")
    lines.append(f"float32 (qnpu's C float reference): **{fmt_pct(f_acc)}**\n")
    hdr = "| precision | " + " | ".join(c.replace("percentile:", "pct ") for c in CALIBS) + " |"
    lines.append(hdr)
    lines.append("|" + "---|" * (len(CALIBS) + 1))
    for name, _, _ in PRECISIONS:
        cells = []
        for c in CALIBS:
            a = acc.get(tag(name, c))
            cells.append("-" if a is None or f_acc is None else f"{100 * a:.2f} % ({100 * (a - f_acc):+.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("\n(test accuracy, and in brackets its difference from float in points. Weights per-channel "
                 "symmetric (max) with bias correction, activations per-tensor asymmetric, calibrated on 1,000 "
                 "held-out training images; \"int8 ends\": the first and the last layer W8A8, with an 8-bit "
                 "image and 8-bit logits)\n")
    targets = []
    if f_acc is not None:
        for name, lim, goal in (("W8A8", 1.0, 0.5), ("W4A8", 1.5, None)):
            diffs = [(100 * ((acc.get(tag(name, c)) or 0) - f_acc), c) for c in CALIBS]
            met = [c for d, c in diffs if d >= -lim]
            targets.append({"precision": name, "target_points": lim, "goal_points": goal,
                            "diff_points": {c: d for d, c in diffs}, "calibrators_within": met})
            lo, hi = min(diffs), max(diffs)
            verdict = "met" if len(met) == len(CALIBS) else f"met by {', '.join(met)} only" if met else "MISSED"
            lines.append(f"- {name}, target within {lim} points of float{f' (aim {goal})' if goal else ''}: "
                         f"{len(met)} of {len(CALIBS)} calibrators within it (from {lo[0]:+.2f} with {lo[1]} to "
                         f"{hi[0]:+.2f} with {hi[1]}): **{verdict}**")
        for name in ("W4A8 int8 ends", "W4A4", "W4A4 int8 ends"):
            diffs = [100 * ((acc.get(tag(name, c)) or 0) - f_acc) for c in CALIBS]
            lines.append(f"- {name} (no target): {min(diffs):+.2f} to {max(diffs):+.2f} points from float")
    lines.append("")
    if sim.get("layers"):
        lines.append(f"## {sim['precision']} on the cycle-accurate RTL ({sim['config']['rows']}x{sim['config']['cols']} "
                     f"array), {sim['images']} test images\n")
        lines.append(f"bit-exact against the golden model in every tensor of every image: "
                     f"**{'yes' if sim.get('bit_exact') else 'NO'}**; accuracy on the sample {fmt_pct(sim['accuracy'])}; "
                     f"{sim['cycles_per_image']:.0f} cycles per image, array utilization "
                     f"{fmt_pct(sim['utilization'])} over the array layers; "
                     f"{sim['dram_bytes_per_image']:.0f} DRAM bytes per image\n")
        lines.append("| layer | op | where | MACs/image | cycles/image | utilization | DRAM bytes/image |")
        lines.append("|---|---|---|---:|---:|---:|---:|")
        for l in sim["layers"]:
            op = l["op"] + ("+" + l["act"] if l["act"] != "none" and l["op"] != "relu" else "")
            cyc = "-" if l["cycles_per_image"] is None else f"{l['cycles_per_image']:.0f}"
            ut = "-" if l["utilization"] is None else fmt_pct(l["utilization"])
            arr = l["where"] == "array"
            macs = f"{l['macs_per_image']:.0f}" if arr else "-"
            dram = f"{l['dram_bytes_per_image']:.0f}" if arr else "-"
            lines.append(f"| {l['name']} | {op} | {l['where']} | {macs} | {cyc} | {ut} | {dram} |")
        lines.append("")
    lines.append(f"demo wall time: {wall:.0f} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    text = "\n".join(lines)
    print("\n" + text)
    with open(f"{args.out}/report.md", "w") as f:
        f.write(text + "\n")
    summary = {"model": args.model, "float": fl, "variants": {t: {"quantize": qj, "model": nj} for t, (qj, nj)
                                                              in results.items()},
               "sim": sim, "targets": targets,
               "wall_seconds": wall, "failed": failed}
    with open(f"{args.out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    plot(args, f_acc, acc, sim)
    print(f"\ndemo: wrote {args.out}/report.md, summary.json and demo.png")


def plot(args, f_acc, acc, sim):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("demo: matplotlib missing, no plot", file=sys.stderr)
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 5))
    layers = sim.get("layers") or []
    names = [l["name"].strip("/").replace("/", " ") for l in layers]
    util = [100 * (l["utilization"] or 0) for l in layers]
    colors = ["tab:blue" if l["where"] == "array" else "tab:gray" for l in layers]
    a1.bar(range(len(layers)), util, color=colors)
    for i, l in enumerate(layers):
        if l["where"] != "array":
            a1.text(i, 1, "host", ha="center", va="bottom", rotation=90, fontsize=8)
    a1.set_xticks(range(len(layers)))
    a1.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    a1.set_ylabel("array utilization (%)")
    a1.set_ylim(0, 100)
    a1.set_title(f"per-layer utilization on the RTL ({sim.get('precision', '')}, batch 1)")
    width = 0.8 / len(PRECISIONS)
    for k, (name, _, _) in enumerate(PRECISIONS):
        ys = [100 * (acc.get(tag(name, c)) or 0) for c in CALIBS]
        a2.bar([i + k * width for i in range(len(CALIBS))], ys, width, label=name)
    if f_acc is not None:
        a2.axhline(100 * f_acc, color="black", linestyle="--", label=f"float {100 * f_acc:.2f} %")
    vals = [100 * v for v in acc.values() if v] + ([100 * f_acc] if f_acc else [])
    a2.set_ylim(max(0, min(vals) - 3), min(100, max(vals) + 3))
    a2.set_xticks([i + 2 * width for i in range(len(CALIBS))])
    a2.set_xticklabels([c.replace("percentile:", "p") for c in CALIBS])
    a2.set_ylabel("test accuracy (%)")
    a2.set_title("accuracy per variant (10,000 test images)")
    a2.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(f"{args.out}/demo.png", dpi=110)


if __name__ == "__main__":
    main()
