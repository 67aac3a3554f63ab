#!/usr/bin/env python3
"""coverage.py - the coverage report of `make coverage`.

  coverage.py --data DIR --gcov-dir OBJDIR --out OUT

RTL: merges the Verilator coverage files the test runs wrote (DIR/*.dat)
with verilator_coverage, counts line points (Verilator's block and branch
points) and toggle points per source file - a point counts as covered when
any instance of its module hit it - and writes OUT/rtl/ (genhtml of the
merged lcov data) and OUT/rtl-annotated/ (verilator_coverage --annotate).
C: captures gcov data under OBJDIR with lcov, keeps the project's own
sources (sw/, driver/, sim/; not the protobuf code generated from
onnx.proto), writes OUT/c/ (genhtml). Then OUT/summary.md, OUT/summary.json
and OUT/uncovered.txt (every uncovered RTL line point and C line), and
prints the summary table.
"""
import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys

PROJECT_C = ("sw/", "driver/", "sim/")


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode:
        sys.exit(f"coverage: {' '.join(cmd[:3])}... failed:\n{p.stdout[-2000:]}")
    return p.stdout


def rel(path):
    path = os.path.normpath(path)
    root = os.getcwd() + os.sep
    return path[len(root):] if path.startswith(root) else path


def parse_dat(path):
    """Verilator's coverage file: C '<key\\x02value\\x01...>' count."""
    pts = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"C '(.*)' (\d+)$", line.rstrip("\n"))
            if not m:
                continue
            kv = dict(x.split("\x02", 1) for x in m.group(1).split("\x01") if "\x02" in x)
            pts.append((kv, int(m.group(2))))
    return pts


def rtl_coverage(data, out):
    dats = sorted(glob.glob(os.path.join(data, "*.dat")))
    if not dats:
        sys.exit(f"coverage: no Verilator coverage files in {data} (did the coverage build run?)")
    merged = os.path.join(out, "rtl-merged.dat")
    run(["verilator_coverage", "--write", merged, *dats])
    info = os.path.join(out, "rtl.info")
    run(["verilator_coverage", "--write-info", info, merged])
    run(["verilator_coverage", "--annotate", os.path.join(out, "rtl-annotated"), merged])
    # A point per (type, file, line, column, comment), covered if any instance hit it.
    agg = collections.defaultdict(int)
    for kv, n in parse_dat(merged):
        kind = kv.get("page", "").split("/")[0].replace("v_", "")  # line, branch, toggle
        kind = "line" if kind in ("line", "branch", "block") else kind
        key = (kind, rel(kv.get("f", "?")), int(kv.get("l", 0)), kv.get("n", ""), kv.get("o", ""))
        agg[key] += n
    per = collections.defaultdict(lambda: {"line": [0, 0], "toggle": [0, 0]})
    uncovered = []
    for (kind, f, line, col, comment), n in sorted(agg.items()):
        if kind not in ("line", "toggle"):
            continue
        per[f][kind][0] += 1
        per[f][kind][1] += n > 0
        if n == 0:
            uncovered.append(f"rtl {kind:6s} {f}:{line} {comment}")
    return per, uncovered, len(dats)


def c_coverage(objdir, out):
    info = os.path.join(out, "c-all.info")
    run(["lcov", "--quiet", "--capture", "--directory", objdir, "--output-file", info])
    keep = os.path.join(out, "c.info")
    run(["lcov", "--quiet", "--extract", info, *[os.path.join(os.getcwd(), p, "*") for p in PROJECT_C],
         "--output-file", keep])
    per = {}
    uncovered = []
    f = None
    with open(keep) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("SF:"):
                f = rel(line[3:])
                per[f] = [0, 0]
            elif line.startswith("DA:") and f:
                ln, n = line[3:].split(",")[:2]
                per[f][0] += 1
                per[f][1] += int(n) > 0
                if int(n) == 0:
                    uncovered.append(f"c      {f}:{ln}")
    return per, uncovered, keep


def pct(h, n):
    return 100.0 * h / n if n else 100.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--gcov-dir", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rtl, unc_rtl, nfiles = rtl_coverage(a.data, a.out)
    c, unc_c, cinfo = c_coverage(a.gcov_dir, a.out)
    run(["genhtml", "--quiet", "--title", "qnpu RTL (Verilator line and toggle points)", "--output-directory",
         os.path.join(a.out, "rtl"), os.path.join(a.out, "rtl.info")])
    run(["genhtml", "--quiet", "--title", "qnpu C (gcov)", "--output-directory", os.path.join(a.out, "c"), cinfo])

    rows = []
    md = ["# Coverage", "", f"RTL: {nfiles} Verilator coverage files merged (every test run's models).", "",
          "| RTL file | line points | covered | toggle points | covered |", "|---|---:|---:|---:|---:|"]
    tl = [0, 0]
    tt = [0, 0]
    for f in sorted(rtl):
        l, t = rtl[f]["line"], rtl[f]["toggle"]
        tl = [tl[0] + l[0], tl[1] + l[1]]
        tt = [tt[0] + t[0], tt[1] + t[1]]
        md.append(f"| {f} | {l[0]} | {pct(l[1], l[0]):.1f}% | {t[0]} | {pct(t[1], t[0]):.1f}% |")
        rows.append({"file": f, "kind": "rtl", "line_points": l[0], "line_hit": l[1], "toggle_points": t[0],
                     "toggle_hit": t[1]})
    md.append(f"| **all RTL** | {tl[0]} | **{pct(tl[1], tl[0]):.1f}%** | {tt[0]} | **{pct(tt[1], tt[0]):.1f}%** |")
    md += ["", "| C file | lines | covered |", "|---|---:|---:|"]
    tc = [0, 0]
    for f in sorted(c):
        n, h = c[f]
        tc = [tc[0] + n, tc[1] + h]
        md.append(f"| {f} | {n} | {pct(h, n):.1f}% |")
        rows.append({"file": f, "kind": "c", "lines": n, "hit": h})
    md.append(f"| **all C** | {tc[0]} | **{pct(tc[1], tc[0]):.1f}%** |")
    md += ["", f"HTML: {a.out}/rtl/index.html, {a.out}/c/index.html; annotated RTL: {a.out}/rtl-annotated/; "
           f"every uncovered point: {a.out}/uncovered.txt"]
    summary = {"rtl_line_pct": round(pct(tl[1], tl[0]), 2), "rtl_line_points": tl[0],
               "rtl_toggle_pct": round(pct(tt[1], tt[0]), 2), "rtl_toggle_points": tt[0],
               "c_line_pct": round(pct(tc[1], tc[0]), 2), "c_lines": tc[0], "files": rows}
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(a.out, "uncovered.txt"), "w") as f:
        f.write("\n".join(unc_rtl + unc_c) + "\n")
    print("\n".join(md))
    print(f"\ncoverage: RTL lines {summary['rtl_line_pct']:.1f}% of {tl[0]} points, RTL toggles "
          f"{summary['rtl_toggle_pct']:.1f}% of {tt[0]}, C lines {summary['c_line_pct']:.1f}% of {tc[0]}")


if __name__ == "__main__":
    main()
