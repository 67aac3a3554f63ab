#!/usr/bin/env python3
"""sweep.py - make sweep: area, speed and energy of qnpu configurations side by side.

  tools/sweep.py --out build/sweep [--jobs 2] [--configs 4x4,16x16:1024,...] [--quick]

For every configuration (array size, and scratchpad rows where given as
RxC:ROWS; the activation and weight scratchpads get ROWS rows each):

  area    Yosys (tools/syn.sh, syn/generic.ys) of the whole accelerator with
          the int8/int4 PE and with the int8-only PE, weighted into NAND2
          gate equivalents by tools/synreport.py's rules; memories in bits
          with the SRAM estimate of syn/ge_weights.json;
  speed   the ResNet-18 conv stack (the 20 conv layers of make bench,
          224x224, batch 1) on the cycle-accurate simulator - a fast
          Verilated build of that configuration (tools/fastmodel.sh) linked
          with tests/bench/bench_rt.c --stack - in W8A8, and in W4A4 on the
          int8/int4 build; every layer checked bit for bit against the golden
          model;
  energy  the estimate of sw/runtime/qnpu_energy.c from those runs'
          counters (docs/energy.md), and the DRAM bytes.

The int8-only PE changes no timing (Int4 is a parameter of the PE datapath
only), so its W8A8 cycles are the int8/int4 build's; the sweep checks that
claim by also simulating 16x16 with the int8-only PE (SIM_INT8_CHECK) and
reports both. Cycles always come from the simulator: the fast functional
model has no time.

Writes OUT/report.md, report.json, report.csv, pareto_cycles.png and
pareto_energy.png. Work runs on --jobs workers (builds, syntheses and
simulations); every step's log is under OUT/work/. A rerun redoes only
what the RTL or the flow changed since: syntheses, Verilated builds and
the runs of a rebuilt binary.
"""
import argparse
import concurrent.futures as cf
import csv
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synreport  # noqa: E402  (analyse, block: the area rules of make syn)

DEFAULT_CONFIGS = "4x4,8x8,16x16,32x32,8x16,16x32,16x16:1024,16x16:16384,16x16p1,16x16p4,16x16p16"
SIM_INT8_CHECK = (16, 16, (None, None))


def parse_configs(s):
    """RxC[pP][:ROWS] items: P columns per requantization unit (default: the
    build default), ROWS activation and weight scratchpad rows."""
    out = []
    for item in s.split(","):
        size, _, rows = item.partition(":")
        size, _, share = size.partition("p")
        r, _, c = size.partition("x")
        out.append((int(r), int(c), (int(rows) if rows else None, int(share) if share else None)))
    return out


def cfg_name(r, c, v):
    spad, share = v
    return f"{r}x{c}" + (f"p{share}" if share else "") + (f":{spad}" if spad else "")


def tag(r, c, v, i4=None):
    spad, share = v
    t = f"{r}x{c}" + (f"_p{share}" if share else "") + (f"_s{spad}" if spad else "")
    return t + (f"_i4{i4}" if i4 is not None else "")


def run(cmd, log, env=None):
    with open(log, "w") as f:
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if p.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed (exit {p.returncode}, log {log}):\n{tail}")


def synth(a, r, c, v, i4):
    """Area of one configuration: the report row of tools/synreport.py's rules."""
    work = os.path.join(a.out, "work")
    env = dict(os.environ)
    spad, share = v
    params = (f" -set ActRows {spad} -set WgtRows {spad}" if spad else "") + (f" -set ReqShare {share}" if share else "")
    sfx = (f"_p{share}" if share else "") + (f"_s{spad}" if spad else "")
    if params:
        env["SYN_PARAMS"] = params
        env["SYN_TAG"] = sfx
    t = f"top_{r}x{c}_i4{i4}" + sfx
    runf = os.path.join(a.syndir, t + ".run.json")
    if not (os.path.exists(runf) and os.path.getmtime(runf) > a.rtl_mtime):
        run(["tools/syn.sh", str(r), str(c), str(i4), a.syndir] + a.top_src, os.path.join(work, t + ".syn.log"), env)
    with open(runf) as f:
        meta = json.load(f)
    own, total, by_base = synreport.analyse(meta["netlist"], a.weights)
    top = total("qnpu_top")
    blk = {k: synreport.block(total, by_base, k) for k in ("qnpu_pe", "qnpu_array", "qnpu_requant", "qnpu_ctrl")}
    units = len([1 for n, m in own.items() for k in m["kids"] if synreport.base(k) == "qnpu_requant"])
    return {"logic_ge": top["ge"], "mem_bits": top["mem_bits"], "sram_ge": top["mem_bits"] * a.sram,
            "total_ge": top["ge"] + top["mem_bits"] * a.sram, "ff": top["ff"], "pe_ge": blk["qnpu_pe"]["ge"],
            "array_ge": blk["qnpu_array"]["ge"], "requant_ge": blk["qnpu_requant"]["ge"] * max(units, 1),
            "requant_units": units, "ctrl_ge": blk["qnpu_ctrl"]["ge"], "syn_s": meta["seconds"]}


def simulate(a, r, c, v, i4, precs):
    """Builds the configuration's fast model and runs the ResNet-18 stack in each precision."""
    work = os.path.join(a.out, "work")
    spad, share = v
    t = tag(r, c, v, i4)
    d = os.path.join(work, "sim_" + t)
    os.makedirs(d, exist_ok=True)
    lib = os.path.join(d, "libqnpu_vtop.a")
    env = dict(os.environ)
    env["QNPU_INCLUDES"] = a.includes
    env["VL_PARAMS"] = f"-GInt4={i4}" + (f" -GActRows={spad} -GWgtRows={spad}" if spad else "") + \
        (f" -GReqShare={share}" if share else "")
    if not (os.path.exists(lib) and os.path.getmtime(lib) > a.rtl_mtime):
        t0 = time.time()
        run(["tools/fastmodel.sh", d, str(r), str(c), a.fast_opt, "0", a.train_obj, a.lib] + a.top_src,
            os.path.join(work, t + ".build.log"), env)
        print(f"sweep: built the {t} model in {time.time() - t0:.0f} s", flush=True)
    exe = os.path.join(d, "bench_rt")
    objs = [a.bench_obj, a.backend_obj, os.path.join(d, "qnpu_sim.o"), lib, a.lib]
    if not (os.path.exists(exe) and all(os.path.getmtime(exe) > os.path.getmtime(o) for o in objs)):
        run([os.environ.get("CXX", "g++"), "-o", exe] + objs + a.libs.split() + ["-lz", "-lpthread"],
            os.path.join(work, t + ".link.log"))
    res = {}
    for p in precs:
        js = os.path.join(d, f"stack_{p}.json")
        t0 = time.time()
        if not (os.path.exists(js) and os.path.getmtime(js) > os.path.getmtime(exe)):  # else: this binary's run
            run([exe, "--json", js, "--stack", p, "--jobs", "1"], os.path.join(work, f"{t}_{p}.log"))
        with open(js) as f:
            res[p] = json.load(f)
        s = res[p]["stack"]
        print(f"sweep: {t} {p}: {s['cycles']:,} cycles, {s['energy_pj']['total'] / 1e6:.1f} uJ, "
              f"{'bit-exact' if s['bit_exact'] else 'MISMATCH'} ({time.time() - t0:.0f} s)", flush=True)
    return res


def pareto(points):
    """Indices of the points no other point beats on both coordinates (lower is better)."""
    keep = []
    for i, (x, y) in enumerate(points):
        if not any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for x2, y2 in points):
            keep.append(i)
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help="comma-separated RxC or RxC:SCRATCHPAD_ROWS (default: %(default)s)")
    ap.add_argument("--syndir", default="build/syn", help="where synthesis runs are kept (shared with make syn)")
    a = ap.parse_args()
    need = ["QNPU_TOP_SRC", "QNPU_INCLUDES", "QNPU_LIB", "QNPU_LIBS", "QNPU_BENCH_OBJ", "QNPU_BACKEND_OBJ",
            "QNPU_TRAIN_OBJ"]
    miss = [k for k in need if k not in os.environ]
    if miss:
        sys.exit("sweep: run it through `make sweep` (missing " + ", ".join(miss) + ")")
    a.top_src = os.environ["QNPU_TOP_SRC"].split()
    a.includes, a.lib, a.libs = os.environ["QNPU_INCLUDES"], os.environ["QNPU_LIB"], os.environ["QNPU_LIBS"]
    a.bench_obj, a.backend_obj = os.environ["QNPU_BENCH_OBJ"], os.environ["QNPU_BACKEND_OBJ"]
    a.train_obj = os.environ["QNPU_TRAIN_OBJ"]
    a.fast_opt = os.environ.get("QNPU_FAST_OPT", "-O3 -march=native")
    a.rtl_mtime = max(os.path.getmtime(f) for f in a.top_src + ["tools/fastmodel.sh", "tools/syn.sh",
                                                                  "syn/generic.ys"])
    with open("syn/ge_weights.json") as f:
        w = json.load(f)
    a.weights, a.sram = w["cells"], w["sram_ge_per_bit"]
    try:
        configs = parse_configs(a.configs)
    except ValueError:
        sys.exit(f"sweep: --configs '{a.configs}': expected RxC or RxC:ROWS items, comma-separated")
    for r, c, s in configs:
        if r < 2 or c < 2 or r % 2 or c % 2 or (s[0] is not None and s[0] < 64) or \
                (s[1] is not None and (s[1] < 1 or s[1] & (s[1] - 1))):
            sys.exit(f"sweep: configuration {cfg_name(r, c, s)}: sizes must be even and >= 2, scratchpads >= 64 "
                     "rows, requantization sharing a power of two")
    os.makedirs(os.path.join(a.out, "work"), exist_ok=True)
    os.makedirs(a.syndir, exist_ok=True)

    t0 = time.time()
    futs = {}
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for r, c, s in configs:  # simulations first: they take longest
            futs[("sim", r, c, s, 1)] = ex.submit(simulate, a, r, c, s, 1, ["w8a8", "w4a4"])
        if SIM_INT8_CHECK in [(r, c, s) for r, c, s in configs]:
            r, c, s = SIM_INT8_CHECK
            futs[("sim", r, c, s, 0)] = ex.submit(simulate, a, r, c, s, 0, ["w8a8"])
        for r, c, s in configs:
            for i4 in (1, 0):
                futs[("syn", r, c, s, i4)] = ex.submit(synth, a, r, c, s, i4)
        res, failed = {}, []
        for k, f in futs.items():
            try:
                res[k] = f.result()
            except Exception as e:  # report every failure, then fail
                failed.append(f"{k}: {e}")
    if failed:
        sys.exit("sweep: " + "\n".join(failed))

    rows = []
    for r, c, s in configs:
        sim = res[("sim", r, c, s, 1)]
        for i4 in (1, 0):
            ar = res[("syn", r, c, s, i4)]
            for p in (["w8a8", "w4a4"] if i4 else ["w8a8"]):
                st = sim[p]["stack"]
                cfgj = sim[p]["config"]
                own8 = ("sim", r, c, s, 0) in res and not i4
                if own8:  # the int8-only build's own simulation
                    st = res[("sim", r, c, s, 0)]["w8a8"]["stack"]
                rows.append({
                    "config": cfg_name(r, c, s), "rows": r, "cols": c, "pe": "int8/int4" if i4 else "int8 only",
                    "precision": p.upper(), "req_units": ar["requant_units"],
                    "cols_per_req_unit": c // max(ar["requant_units"], 1),
                    "act_rows": cfgj["act_rows"], "wgt_rows": cfgj["wgt_rows"],
                    "spad_kib": (cfgj["act_rows"] * r + cfgj["wgt_rows"] * c) / 1024,
                    "logic_ge": ar["logic_ge"], "sram_ge": ar["sram_ge"], "total_ge": ar["total_ge"],
                    "ge_per_mac": ar["logic_ge"] / (r * c), "pe_ge": ar["pe_ge"], "array_ge": ar["array_ge"],
                    "requant_ge": ar["requant_ge"], "ctrl_ge": ar["ctrl_ge"],
                    "cycles": st["cycles"], "utilization": st["utilization"], "dram_bytes": st["dram_bytes"],
                    "energy_uj": st["energy_pj"]["total"] / 1e6,
                    "energy_split": {k: v / 1e6 for k, v in st["energy_pj"].items()},
                    "bit_exact": st["bit_exact"], "cycles_source": "simulated" if (i4 or own8) else
                    "simulated with the int8/int4 build (same timing)"})
    chk = None
    if ("sim", *SIM_INT8_CHECK, 0) in res:
        r, c, s = SIM_INT8_CHECK
        c8 = res[("sim", r, c, s, 0)]["w8a8"]["stack"]["cycles"]
        c48 = res[("sim", r, c, s, 1)]["w8a8"]["stack"]["cycles"]
        chk = {"config": f"{r}x{c}", "int8_only_cycles": c8, "int8_int4_cycles": c48, "equal": c8 == c48}
    all_ok = all(x["bit_exact"] for x in rows)

    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"configs": a.configs, "rows": rows, "int8_timing_check": chk, "all_bit_exact": all_ok,
                   "seconds": time.time() - t0}, f, indent=1)
    keys = ["config", "rows", "cols", "cols_per_req_unit", "pe", "precision", "act_rows", "wgt_rows", "spad_kib", "logic_ge", "sram_ge",
            "total_ge", "ge_per_mac", "pe_ge", "requant_ge", "ctrl_ge", "cycles", "utilization", "dram_bytes",
            "energy_uj", "bit_exact", "cycles_source"]
    with open(os.path.join(a.out, "report.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        wr.writeheader()
        wr.writerows(rows)

    pts = [(x["total_ge"], x["cycles"]) for x in rows]
    front_c = set(pareto(pts))
    front_e = set(pareto([(x["total_ge"], x["energy_uj"]) for x in rows]))
    L = ["# qnpu design-space sweep", "",
         "Area: Yosys 0.23 of the whole accelerator (`qnpu_top`), NAND2 gate equivalents (docs/area.md); "
         f"memories at {a.sram} GE/bit. Speed: the ResNet-18 conv stack (20 layers, 224×224, batch 1, as in "
         "`make bench`) on the cycle-accurate simulator of each configuration, every layer bit-exact against the "
         "golden model. Energy: the counters' estimate (docs/energy.md, Horowitz 45 nm). ★ = on the Pareto front "
         "(area vs cycles / area vs energy).", "",
         "| array | cols per requant unit | PE | prec | scratchpads (act/wgt rows, KiB) | logic GE | GE/MAC "
         "| SRAM est. GE | total GE | cycles | utilization | energy µJ | DRAM MB | ★ cyc | ★ energy |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, x in enumerate(rows):
        L.append(f"| {x['rows']}×{x['cols']} | {x['cols_per_req_unit']} | {x['pe']} | {x['precision']} | "
                 f"{x['act_rows']}/{x['wgt_rows']}, "
                 f"{x['spad_kib']:.0f} | {x['logic_ge']:,.0f} | {x['ge_per_mac']:,.0f} | {x['sram_ge']:,.0f} | "
                 f"{x['total_ge']:,.0f} | {x['cycles']:,} | {100 * x['utilization']:.1f}% | {x['energy_uj']:,.0f} | "
                 f"{x['dram_bytes'] / 1e6:.1f} | {'★' if i in front_c else ''} | {'★' if i in front_e else ''} |")
    L += ["", "Energy split (µJ per inference of the stack): MACs / scratchpads / accumulators / requantization / "
          "DRAM", ""]
    for x in rows:
        e = x["energy_split"]
        L.append(f"- {x['config']} {x['pe']} {x['precision']} ({x['act_rows']} rows): "
                 f"{e['mac']:.0f} / {e['spad']:.0f} / {e['acc']:.0f} / {e['requant']:.0f} / {e['dram']:.0f}")
    if chk:
        L += ["", f"The int8-only PE's timing, checked: {chk['config']} W8A8 stack {chk['int8_only_cycles']:,} cycles "
              f"with the int8-only build, {chk['int8_int4_cycles']:,} with the int8/int4 build: "
              f"{'equal' if chk['equal'] else '**different**'}. Elsewhere the int8-only rows take the int8/int4 "
              "build's W8A8 cycles (Int4 changes only the PE datapath)."]
    L += ["", f"All runs bit-exact: {'yes' if all_ok else '**no**'}. Sweep time {time.time() - t0:.0f} s "
          f"on {a.jobs} workers.", "", "![cycles vs area](pareto_cycles.png)", "",
          "![energy vs area](pareto_energy.png)", ""]
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(L))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        for key, ylab, fname, front in (("cycles", "ResNet-18 conv stack cycles", "pareto_cycles.png", front_c),
                                        ("energy_uj", "energy per inference (µJ, estimate)", "pareto_energy.png",
                                         front_e)):
            fig, ax = plt.subplots(figsize=(7.5, 5))
            for (pe, p), mk in ((("int8/int4", "W8A8"), "o"), (("int8/int4", "W4A4"), "s"),
                                (("int8 only", "W8A8"), "^")):
                xs = [x for x in rows if x["pe"] == pe and x["precision"] == p]
                ax.scatter([x["total_ge"] for x in xs], [x[key] for x in xs], marker=mk, label=f"{pe} PE, {p}")
                for x in xs:
                    ax.annotate(x["config"],
                                (x["total_ge"], x[key]), fontsize=7, xytext=(3, 3), textcoords="offset points")
            fr = sorted((rows[i]["total_ge"], rows[i][key]) for i in front)
            ax.plot([f[0] for f in fr], [f[1] for f in fr], "k--", lw=0.8, label="Pareto front")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("area: logic + SRAM estimate (NAND2 GE)")
            ax.set_ylabel(ylab)
            ax.legend(fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
            fig.tight_layout()
            fig.savefig(os.path.join(a.out, fname), dpi=120)
            plt.close(fig)
    except ImportError:
        print("sweep: matplotlib missing, no plots", file=sys.stderr)
    print(f"sweep: {len(rows)} rows, all bit-exact: {'yes' if all_ok else 'NO'}; wrote {a.out}/report.md, "
          f"report.json, report.csv and the Pareto plots ({time.time() - t0:.0f} s)")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
