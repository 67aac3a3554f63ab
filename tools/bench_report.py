#!/usr/bin/env python3
"""bench_report.py - make bench: runs the runtime benchmark (tests/bench/bench_rt.c)
between runs of the bare-array speed reference, and writes

  OUT/report.md    the tables and the targets of the runtime issue, met or missed
  OUT/report.json  every figure (bench_rt's JSON plus the reference and the targets)
  OUT/layers.csv   one row per layer run
  OUT/gemm_utilization.png, OUT/resnet18_layers.png, OUT/mobilenet_v1_layers.png

  tools/bench_report.py --bench build/bench/bench_rt --bare ../shared/bench/bare-array/run.sh \\
                        --out build/bench [--jobs 2] [--quick]

The analytical GEMM bound is the weight-stationary formula of
../shared/reference/performance.md with folds overlapped:
F * max(T, R) + R + C - 2 cycles, F = ceil(K / K_fold) * ceil(N / C), T = M.
"""
import argparse
import csv
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys


def bare(script):
    out = subprocess.run([script], capture_output=True, text=True)
    m = re.search(r"= ([0-9.]+) M cycles/s", out.stdout)
    if out.returncode or not m:
        raise SystemExit(f"bench: the bare-array reference failed:\n{out.stdout}{out.stderr}")
    print(f"bench: {out.stdout.strip()}", flush=True)
    return float(m.group(1)) * 1e6


def gemm_bound(m, k, n, rows, cols, int4):
    kf = 2 * rows if int4 else rows
    folds = math.ceil(k / kf) * math.ceil(n / cols)
    cycles = folds * max(m, rows) + rows + cols - 2
    peak = rows * cols * (2 if int4 else 1)
    return m * k * n / (peak * cycles)


def pct(x):
    return f"{100 * x:.1f} %"


def mark(ok):
    return "met" if ok else "MISSED"


def plots(d, out, rows, cols):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plots", file=sys.stderr)
        return []
    made = []
    g = [x for x in d["layers"] if x["net"] == "gemm"]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for prec, color in (("W8A8", "tab:blue"), ("W4A4", "tab:orange")):
        pts = sorted((x["h"], x["utilization"], x["bound"]) for x in g if x["precision"] == prec)
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], "o-", color=color, label=f"{prec} measured")
        ax.plot([p[0] for p in pts], [100 * p[2] for p in pts], "--", color=color, alpha=0.6,
                label=f"{prec} analytical bound")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("M = K = N")
    ax.set_ylabel("utilization of the peak (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"GEMM on the {rows}x{cols} array (cycle-accurate)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = os.path.join(out, "gemm_utilization.png")
    fig.savefig(p, dpi=120)
    plt.close(fig)
    made.append(p)
    for net in ("resnet18", "mobilenet_v1"):
        ls = [x for x in d["layers"] if x["net"] == net]
        if not ls:
            continue
        fig, ax = plt.subplots(figsize=(max(6.4, 0.32 * len(ls)), 4))
        xs = range(len(ls))
        ax.bar(xs, [100 * x["utilization"] for x in ls], color="tab:blue", label="measured utilization")
        ax.plot(xs, [100 * x["roofline_bound"] for x in ls], "_", color="tab:red", markersize=14, mew=2,
                label="roofline bound")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([x["name"] for x in ls], rotation=75, fontsize=7)
        ax.set_ylabel("% of peak")
        ax.set_ylim(0, 105)
        ax.set_title(f"{net}: per-layer utilization and roofline ({rows}x{cols}, 16 B/cycle)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(out, f"{net}_layers.png")
        fig.savefig(p, dpi=120)
        plt.close(fig)
        made.append(p)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--bare", required=True)
    ap.add_argument("--perf", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    have_bare = os.path.exists(a.bare)
    ref = []
    if have_bare:
        ref.append(bare(a.bare))
    else:
        print(f"bench: no bare-array reference at {a.bare}: the speed ratio is left out", file=sys.stderr)
    raw = os.path.join(a.out, "bench_rt.json")
    cmd = [a.bench, "--json", raw, "--jobs", str(a.jobs)] + (["--quick"] if a.quick else [])
    print("bench: " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd)
    if r.returncode not in (0, 1) or not os.path.exists(raw):
        raise SystemExit(f"bench: {a.bench} failed (exit {r.returncode})")
    if have_bare:
        ref.append(bare(a.bare))
    with open(raw) as f:
        d = json.load(f)
    cf = d["config"]
    R, C = cf["rows"], cf["cols"]
    for x in d["layers"]:
        x["bound"] = gemm_bound(x["h"], x["c"], x["o"], R, C, x["precision"] == "W4A4") if x["net"] == "gemm" else None
        x["macs_per_cycle"] = x["macs"] / x["cycles"] if x["cycles"] else 0.0

    g = {(x["precision"], x["h"]): x for x in d["layers"] if x["net"] == "gemm"}
    rn = [x for x in d["layers"] if x["net"] == "resnet18"]
    mb = [x for x in d["layers"] if x["net"] == "mobilenet_v1"]
    r3 = [x for x in rn if x["k"] == 3]
    stack = d["resnet18_stack"]
    fm = d["fast_model"]
    sim_speed = stack["sim_cycles_per_s"]
    bare_med = statistics.median(ref) if ref else None
    g512, g512_4 = g.get(("W8A8", 512)), g.get(("W4A4", 512))
    targets = []
    if g512:
        targets.append(("512^3 W8A8 GEMM utilization", pct(g512["utilization"]), ">= 97 %", g512["utilization"] >= 0.97))
    if g512 and g512_4:
        ratio = g512_4["macs_per_cycle"] / g512["macs_per_cycle"]
        targets.append(("512^3 W4A4 / W8A8 MACs per cycle", f"{ratio:.3f}x", ">= 1.95x", ratio >= 1.95))
    if r3:
        mean3 = statistics.mean(x["utilization"] for x in r3)
        worst = min(r3, key=lambda x: x["utilization"] / x["roofline_bound"])
        targets.append(("ResNet-18 3x3 convs, mean utilization", pct(mean3), ">= 90 %", mean3 >= 0.90))
        targets.append((f"every 3x3 conv within 5 % of its roofline (worst: {worst['name']})",
                        f"{100 * worst['utilization'] / worst['roofline_bound']:.1f} % of its bound",
                        ">= 95 % of the bound", worst["utilization"] >= 0.95 * worst["roofline_bound"]))
    targets.append(("ResNet-18 conv stack, cycle-accurate, wall time", f"{stack['wall_s']:.1f} s", "<= 30 s",
                    stack["wall_s"] <= 30))
    targets.append(("fast model speed / simulator speed", f"{fm['speedup_vs_sim']:.1f}x", ">= 200x",
                    fm["speedup_vs_sim"] >= 200))

    report = dict(d)
    report["bare_array"] = {"script": a.bare, "cycles_per_s": ref, "median_cycles_per_s": bare_med} if ref else None
    report["sim_speed_ratio_to_bare"] = sim_speed / bare_med if bare_med else None
    report["targets"] = [{"what": t[0], "reached": t[1], "target": t[2], "met": t[3]} for t in targets]
    report["date"] = datetime.datetime.now().isoformat(timespec="seconds")
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    keys = ["net", "name", "op", "precision", "h", "w", "c", "o", "k", "stride", "pad", "macs", "issued_macs",
            "cycles", "est_cycles", "utilization", "roofline_bound", "bound", "dram_bytes", "min_dram_bytes",
            "dram_bytes_per_mac", "wall_s", "bit_exact"]
    with open(os.path.join(a.out, "layers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for x in d["layers"]:
            w.writerow([x[k] for k in keys])
    pngs = plots(d, a.out, R, C)

    L = []
    L.append(f"# qnpu runtime benchmark ({R}x{C}, DRAM {cf['dram_bytes_per_cycle']} B/cycle, "
             f"{cf['dram_latency']}-cycle latency)\n")
    L.append(f"{report['date']}; `make bench`. Cycles from the accelerator's own counters on the cycle-accurate "
             f"Verilated model (the fast build); every result below was checked bit for bit against the golden "
             f"model: **{'all bit-exact' if d['all_bit_exact'] else 'SOME RESULTS DIFFER'}**.\n")
    L.append("Utilization = the layer's true MACs / (peak MACs per cycle x cycles), int4 counting 2x. "
             "Roofline bound = min(peak, 16 B/cycle x MACs / least DRAM bytes) as a utilization, the least "
             "bytes being input, weights, bias and output once each.\n")
    L.append("## Targets\n")
    L.append("| what | reached | target | |\n|---|---|---|---|")
    for t in targets:
        L.append(f"| {t[0]} | {t[1]} | {t[2]} | {mark(t[3])} |")
    L.append("")
    L.append("## GEMM (M = K = N)\n")
    L.append("| size | precision | cycles | MACs/cycle | utilization | analytical bound | DRAM bytes/MAC | tile | wall s |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for x in [x for x in d["layers"] if x["net"] == "gemm"]:
        p = x["plan"]
        L.append(f"| {x['h']} | {x['precision']} | {x['cycles']:,} | {x['macs_per_cycle']:.1f} | "
                 f"{pct(x['utilization'])} | {pct(x['bound'])} | {x['dram_bytes_per_mac']:.4f} | "
                 f"{p['tile_oh']} rows x {p['channel_tiles']} ch tiles | {x['wall_s']:.2f} |")
    L.append("")
    for net, ls in (("ResNet-18", rn), ("MobileNet-v1", mb)):
        if not ls:
            continue
        L.append(f"## {net} conv layers (224x224, batch 1, W8A8, random weights)\n")
        L.append("| layer | op | in HxWxC | out C | k/s | MACs | cycles | utilization | roofline | "
                 "DRAM B/MAC | pieces | resident |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for x in ls:
            p = x["plan"]
            L.append(f"| {x['name']} | {x['op'].replace('_conv2d', '')} | {x['h']}x{x['w']}x{x['c']} | {x['o']} | "
                     f"{x['k']}/{x['stride']} | {x['macs']:,} | {x['cycles']:,} | {pct(x['utilization'])} | "
                     f"{pct(x['roofline_bound'])} | {x['dram_bytes_per_mac']:.4f} | {p['pieces']} | "
                     f"{'yes' if p['weights_resident'] else 'no'} |")
        tot_m = sum(x["macs"] for x in ls)
        tot_c = sum(x["cycles"] for x in ls)
        L.append(f"\nTotal: {tot_m:,} MACs in {tot_c:,} cycles: {pct(tot_m / (R * C * tot_c))} of the peak.\n")
    L.append("## The ResNet-18 conv stack, cycle-accurate\n")
    L.append(f"- {stack['layers']} conv layers, **{stack['cycles']:,} cycles**, **{stack['wall_s']:.1f} s wall** "
             f"on {stack['instances']} simulator instances in parallel (forked processes; each layer's input is "
             f"the golden model's output of the layer before it, computed up front in {d['golden_s']:.1f} s "
             f"together with every other benchmark's reference output, and not counted in the wall time).")
    if rn and all("energy_pj" in x for x in rn):
        L.append(f"- Energy per inference of the stack (estimate from the counters, docs/energy.md): "
                 f"**{sum(x['energy_pj'] for x in rn) / 1e6:,.0f} µJ**; MobileNet-v1's conv layers: "
                 f"{sum(x['energy_pj'] for x in mb) / 1e6:,.0f} µJ.")
    L.append(f"- Simulation speed: {sim_speed / 1e6:.3f} M simulated cycles per host second per instance "
             f"({stack['sim_cpu_s']:.1f} s of simulator time, runtime packing and readback included)"
             + (f"; the bare 16x16 array of ../shared/bench/bare-array in the same job: "
                f"{bare_med / 1e6:.3f} M cycles/s (runs {', '.join(f'{x / 1e6:.2f}' for x in ref)}): "
                f"**{100 * sim_speed / bare_med:.0f} %** of it." if bare_med else "."))
    L.append(f"- Fast functional model, the same 20 layers (median of {fm['runs']} runs): {fm['run_s']:.2f} s "
             f"({fm['equiv_cycles_per_s'] / 1e6:.1f} M equivalent cycles/s): **{fm['speedup_vs_sim']:.1f}x** the "
             f"simulator, end to end (the runtime's planning and packing included, the same host code on both). "
             f"The device part alone (submit, run, read back): {fm['device_s']:.3f} s against "
             f"{fm['sim_device_s']:.1f} s, {fm['device_speedup_vs_sim']:.0f}x.\n")
    if pngs:
        L.append("## Plots\n")
        for p in pngs:
            L.append(f"![{os.path.basename(p)}]({os.path.basename(p)})")
        L.append("")
    L.append(f"Raw figures: report.json, layers.csv (bench_rt.json is the benchmark's own output).")
    text = "\n".join(L) + "\n"
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    print(f"bench: wrote {a.out}/report.md, report.json, layers.csv" + (", " + ", ".join(os.path.basename(p) for p in pngs) if pngs else ""))
    return 0 if d["all_bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
