#!/usr/bin/env python3
"""bench_hw.py - make bench-hw: the accelerator's micro-benchmarks and the
simulator's speed beside the bare-array reference, measured in the same job.

  tools/bench_hw.py --bench build/bench/bench_hw --bare ../shared/bench/bare-array/run.sh \\
                    [--runs 5] [--json build/bench/hw.json]

The bare-array reference (a bare 16x16 int8 array in Verilator) runs before,
between and after the model's speed runs; medians of both are compared, since
only ratios measured together are stable on a shared machine. Prints a table
and writes the figures as JSON (the bench's own JSON plus the reference).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys


def bare(script):
    out = subprocess.run([script], capture_output=True, text=True)
    m = re.search(r"= ([0-9.]+) M cycles/s", out.stdout)
    if out.returncode or not m:
        raise SystemExit(f"bench_hw: the bare-array reference failed:\n{out.stdout}{out.stderr}")
    return float(m.group(1))


def bench(binary, runs, json_path):
    out = subprocess.run([binary, "--runs", str(runs), "--json", json_path, "--quiet"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"bench_hw: {binary} failed:\n{out.stdout}{out.stderr}")
    with open(json_path) as f:
        return json.load(f)


def mark(ok):
    return "met" if ok else "MISSED"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--bare", required=True, help="the bare-array run.sh")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", default="build/bench/hw.json")
    a = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    have_bare = os.path.exists(a.bare)
    if not have_bare:
        print(f"bench-hw: no bare-array reference at {a.bare}: the speed ratio is left out", file=sys.stderr)
    print("bench-hw: micro-benchmarks and simulation speed (16x16 fast model; the reference runs in between)")
    ref = []
    if have_bare:
        ref.append(bare(a.bare))
    first = bench(a.bench, (a.runs + 1) // 2, a.json)
    if have_bare:
        ref.append(bare(a.bare))
    second = bench(a.bench, a.runs // 2 or 1, a.json)
    if have_bare:
        ref.append(bare(a.bare))
    d = second
    runs = first["sim_speed"]["mcycles_per_s"] + second["sim_speed"]["mcycles_per_s"]
    ours = statistics.median(runs)
    d["sim_speed"]["mcycles_per_s"] = runs
    d["sim_speed"]["median_mcycles_per_s"] = round(ours, 4)
    if have_bare:
        d["bare_array"] = {"script": a.bare, "mcycles_per_s": ref, "median_mcycles_per_s": statistics.median(ref)}
        d["sim_speed"]["ratio_to_bare_array"] = round(ours / statistics.median(ref), 4)
        d["sim_speed"]["target_ratio"] = 0.75
    with open(a.json, "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")

    ls, tb, m16, cv, sp = d["load_stream"], d["tiles_back_to_back"], d["m16_folds"], d["conv_tile"], d["sim_speed"]
    rows = [
        ("64 LOADs x 16 rows: port bytes per cycle", f"{100 * ls['port_utilization']:.1f} %", ">= 90 %",
         mark(ls["port_utilization"] >= 0.90)),
        ("  of which data (each LOAD also fetches its command)", f"{100 * ls['data_utilization']:.1f} %", "", ""),
        ("32 tiles x 8 folds, M=64: cycles issuing MACs", f"{100 * tb['busy']:.2f} %", ">= 99 %", mark(tb["busy"] >= 0.99)),
        ("M=16 folds: cycles per fold (one COMPUTE)", f"{m16['one_command_cycles_per_fold']:.2f}", "16",
         mark(m16["one_command_cycles_per_fold"] <= 16.0)),
        ("M=16 folds: cycles per fold (a COMPUTE each)", f"{m16['one_fold_commands_cycles_per_fold']:.2f}", "16",
         mark(m16["one_fold_commands_cycles_per_fold"] <= 16.0)),
        ("3x3 pad-1 conv tile: bytes read / minimum", f"{cv['ratio']:.3f}", "<= 1.2", mark(cv["ratio"] <= 1.2)),
        ("simulation speed, GEMM streaming (median)", f"{sp['median_mcycles_per_s']:.3f} M cycles/s", ">= 0.8",
         mark(sp["median_mcycles_per_s"] >= 0.8)),
    ]
    if have_bare:
        rows.append(("bare-array reference, same job (median)", f"{d['bare_array']['median_mcycles_per_s']:.3f} M cycles/s",
                     "", ""))
        rows.append(("simulation speed / bare array", f"{100 * sp['ratio_to_bare_array']:.0f} %", ">= 75 %",
                     mark(sp["ratio_to_bare_array"] >= 0.75)))
    w = max(len(r[0]) for r in rows)
    print(f"  {'benchmark':<{w}}  {'figure':>18}  {'target':>8}")
    for r in rows:
        print(f"  {r[0]:<{w}}  {r[1]:>18}  {r[2]:>8}  {r[3]}")
    print(f"  speed runs: {', '.join(f'{x:.3f}' for x in runs)} M cycles/s"
          + (f"; reference runs: {', '.join(f'{x:.2f}' for x in ref)}" if have_bare else ""))
    print(f"bench-hw: wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
