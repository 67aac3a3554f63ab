#!/usr/bin/env python3
"""synreport.py - turn Yosys netlists into qnpu's area report.

  tools/synreport.py --weights syn/ge_weights.json --out build/syn \
      [--ice40 build/syn/ice40.json] [--requant REQ.json...] RUN.json...

Each RUN.json is written by tools/syn.sh: {"rows", "cols", "int4",
"netlist": path to Yosys write_json output, "seconds": synthesis time}.
Areas are NAND2 gate equivalents (docs/area.md): every gate-level cell
weighted by syn/ge_weights.json, summed over the instance hierarchy;
memories ($mem cells) are counted in bits with a separate SRAM estimate.
--requant takes the runs of tools/syn_requant.sh ({"req_f32", "netlist",
"seconds"}): one requantization unit with and without the float32 path.
Writes report.md, report.json and ge_vs_size.png into --out.
"""
import argparse
import json
import os
import sys

ANCHOR_GE_PER_MAC = 700  # Horowitz 45 nm int8 MAC + 32-bit accumulator register


def base(name):
    """The module's own name inside Yosys' $paramod$hash\\name\\P=V decoration."""
    for part in name.split("\\"):
        if part.startswith("qnpu_"):
            return part
    return name


def analyse(netlist, weights):
    with open(netlist) as f:
        mods = json.load(f)["modules"]
    own = {}
    for name, m in mods.items():
        ge = ff = mem_bits = 0.0
        cells = {}
        kids = []
        for c in m["cells"].values():
            t = c["type"]
            if t in mods:
                kids.append(t)
                continue
            if t.startswith("$mem"):
                p = c["parameters"]
                mem_bits += int(p["WIDTH"], 2) * int(p["SIZE"], 2)
                continue
            if t not in weights:
                raise SystemExit(f"synreport: no GE weight for cell type {t} in {name}")
            ge += weights[t]
            cells[t] = cells.get(t, 0) + 1
            if "DFF" in t:
                ff += 1
        own[name] = {"ge": ge, "ff": ff, "mem_bits": mem_bits, "kids": kids, "cells": cells}
    memo = {}

    def total(name):
        if name in memo:
            return memo[name]
        o = own[name]
        t = {"ge": o["ge"], "ff": o["ff"], "mem_bits": o["mem_bits"]}
        for k in o["kids"]:
            kt = total(k)
            for key in t:
                t[key] += kt[key]
        memo[name] = t
        return t

    by_base = {}
    for name in mods:
        by_base.setdefault(base(name), []).append(name)
    return own, total, by_base


def baseline_requant_total(b):
    """A syn/baseline.json row's requantization in the terms of requant_total_ge:
    one unit per column (parameters in flip-flops) and the core's own logic."""
    c = b["cols"]
    return c * b["requant_ge"] + (b["core_ge"] - b["array_ge"] - c * b["requant_ge"] - c * b["accum_ge"])


def block(total, by_base, b, pick=max):
    names = by_base.get(b, [])
    if not names:
        return None
    return pick((total(n) for n in names), key=lambda t: t["ge"])


def main():
    ap = argparse.ArgumentParser(description="qnpu synthesis report")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ice40", help="results of tools/ice40.sh")
    ap.add_argument("--requant", nargs="*", default=[], help="runs of tools/syn_requant.sh")
    ap.add_argument("--baseline", help="an earlier report.json, shown beside this one (syn/baseline.json)")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    with open(a.weights) as f:
        wfile = json.load(f)
    weights, sram = wfile["cells"], wfile["sram_ge_per_bit"]

    rows = []
    for rpath in a.runs:
        with open(rpath) as f:
            run = json.load(f)
        own, total, by_base = analyse(run["netlist"], weights)
        top = total("qnpu_top")
        r, c = run["rows"], run["cols"]
        pe = block(total, by_base, "qnpu_pe")
        arr = block(total, by_base, "qnpu_array")
        rq = block(total, by_base, "qnpu_requant")
        acc = block(total, by_base, "qnpu_accum")
        core = block(total, by_base, "qnpu_core")
        ld, st = block(total, by_base, "qnpu_ld"), block(total, by_base, "qnpu_st")
        ctrl, regs = block(total, by_base, "qnpu_ctrl"), block(total, by_base, "qnpu_regs")
        arb = block(total, by_base, "qnpu_mem_arb")
        # Requantization, all of it: the units (logic and parameter-store
        # bits at the SRAM price), and the core's own logic and drain queue
        # (the row tags and, with shared units, the drain) - so that one
        # unit per column and shared units compare like for like.
        core_name = [n for n in by_base.get("qnpu_core", []) if total(n)["ge"] == core["ge"]][0]
        kids = own[core_name]["kids"]
        units = sum(1 for k in kids if base(k) == "qnpu_requant")
        core_fifo = [total(k) for k in kids if base(k) == "qnpu_fifo"]
        core_own = own[core_name]["ge"]
        req_total = units * (rq["ge"] + rq["mem_bits"] * sram) + core_own + \
            sum(f["ge"] + f["mem_bits"] * sram for f in core_fifo)
        rows.append({
            "rows": r, "cols": c, "int4": bool(run["int4"]), "seconds": run["seconds"],
            "pe_ge": pe["ge"], "array_ge": arr["ge"], "requant_ge": rq["ge"], "requant_units": units,
            "requant_total_ge": req_total, "core_own_ge": core_own,
            "accum_ge": acc["ge"], "accum_mem_bits": acc["mem_bits"], "core_ge": core["ge"],
            "dma_ge": ld["ge"] + st["ge"], "ctrl_ge": ctrl["ge"], "regfile_ge": regs["ge"],
            "arbiter_ge": arb["ge"], "total_ge": top["ge"], "ff": top["ff"],
            "mem_bits": top["mem_bits"], "sram_ge": top["mem_bits"] * sram,
            "ge_per_mac_array": arr["ge"] / (r * c), "ge_per_mac_total": top["ge"] / (r * c),
        })
    rows.sort(key=lambda x: (x["rows"] * x["cols"], x["int4"]))
    # int4 overhead: the same size without int4
    for x in rows:
        ref = [y for y in rows if y["rows"] == x["rows"] and y["cols"] == x["cols"] and not y["int4"]]
        if x["int4"] and ref:
            x["int4_overhead_pe_pct"] = 100.0 * (x["pe_ge"] / ref[0]["pe_ge"] - 1)
            x["int4_overhead_total_pct"] = 100.0 * (x["total_ge"] / ref[0]["total_ge"] - 1)

    # The targets, reported and never asserted: a miss is a finding, not a failure.
    # Each is judged on the worst of the runs it applies to.
    targets = []

    def target(name, limit, runs, key, fmt, detail):
        if not runs:
            return
        worst = max(runs, key=lambda x: x[key])
        targets.append({"target": name, "limit": limit, "value": worst[key], "shown": fmt.format(worst[key]),
                        "met": worst[key] <= limit, "detail": detail(worst)})

    target("PE with int4 mode <= 1000 GE (goal 900)", 1000, [x for x in rows if x["int4"]], "pe_ge", "{:.0f} GE",
           lambda w: f"largest int8/int4 PE, {w['rows']}x{w['cols']}")
    ovh = [x for x in rows if "int4_overhead_pe_pct" in x]
    target("int4-mode overhead (PE) <= 15%", 15.0, ovh, "int4_overhead_pe_pct", "{:+.1f}%",
           lambda w: f"worst size, {w['rows']}x{w['cols']}; per size: " + ", ".join(
               f"{x['rows']}x{x['cols']} {x['int4_overhead_pe_pct']:+.1f}%" for x in ovh))
    target("controller <= 25k GE", 25000, rows, "ctrl_ge", "{:,.0f} GE",
           lambda w: f"largest, {w['rows']}x{w['cols']}")
    r16 = [x for x in rows if x["rows"] == 16 and x["cols"] == 16 and x["int4"]]
    if r16 and a.baseline:
        with open(a.baseline) as f:
            b16 = [y for y in json.load(f)["generic"] if y["rows"] == 16 and y["cols"] == 16 and y["int4"]]
        if b16:
            x, b = r16[0], b16[0]
            x["requant_total_vs_baseline_pct"] = 100.0 * x["requant_total_ge"] / baseline_requant_total(b)
            target("16x16 requantization area <= 25% of the baseline's", 25.0, r16, "requant_total_vs_baseline_pct",
                   "{:.0f}%", lambda w: f"{w['requant_units']} unit(s), parameter stores, drain and the core's own "
                   f"logic: {w['requant_total_ge']:,.0f} GE against the baseline's 16 units and core logic "
                   f"{baseline_requant_total(b):,.0f} GE")
    target("16x16 synthesis <= 10 minutes", 600.0, [x for x in rows if x["rows"] == 16 and x["cols"] == 16],
           "seconds", "{:.0f} s", lambda w: "slower PE variant, seconds of wall clock for one Yosys run")

    # one requantization unit, Q31 only against Q31 + float32 (ONNX Runtime)
    req = []
    for rpath in a.requant:
        with open(rpath) as f:
            run = json.load(f)
        own, total, by_base = analyse(run["netlist"], weights)
        t = total("qnpu_requant") if "qnpu_requant" in own else block(total, by_base, "qnpu_requant")
        req.append({"req_f32": bool(run["req_f32"]), "ge": t["ge"], "ff": t["ff"], "seconds": run["seconds"]})
    req.sort(key=lambda x: x["req_f32"])
    if len(req) == 2:
        req[1]["overhead_pct"] = 100.0 * (req[1]["ge"] / req[0]["ge"] - 1)

    ice = None
    if a.ice40 and os.path.exists(a.ice40):
        with open(a.ice40) as f:
            ice = json.load(f)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"ge_weights": a.weights, "sram_ge_per_bit": sram, "anchor_ge_per_int8_mac": ANCHOR_GE_PER_MAC,
                   "generic": rows, "targets": targets, "requant_unit": req, "ice40": ice}, f, indent=1)

    L = ["# qnpu synthesis report", "",
         "Yosys 0.23, technology-independent gates weighted in NAND2 gate equivalents "
         "(GE; 1 GE = NanGate45 NAND2_X1 = 0.798 µm²; method: docs/area.md). Whole accelerator "
         "(`qnpu_top`); memories of 32+ entries are counted in bits and estimated separately "
         f"at {sram} GE/bit. Anchor: ≈{ANCHOR_GE_PER_MAC} GE per int8 MAC with a 32-bit accumulator "
         "(Horowitz, ISSCC 2014, 45 nm).", "",
         "| array | PE | PE GE | array GE | GE/MAC (array) | int4 overhead (PE) | total GE | GE/MAC (total) "
         "| int4 overhead (total) | flip-flops | memory bits | SRAM est. GE | synth s |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        L.append("| {r}×{c} | {v} | {pe:.0f} | {arr:,.0f} | {gm:.0f} | {o1} | {tot:,.0f} | {gt:.0f} | {o2} | {ff:,.0f} "
                 "| {mb:,.0f} | {sg:,.0f} | {s:.0f} |".format(
                     r=x["rows"], c=x["cols"], v="int8/int4" if x["int4"] else "int8 only", pe=x["pe_ge"],
                     arr=x["array_ge"], gm=x["ge_per_mac_array"],
                     o1=f"{x['int4_overhead_pe_pct']:+.1f}%" if "int4_overhead_pe_pct" in x else "—",
                     tot=x["total_ge"], gt=x["ge_per_mac_total"],
                     o2=f"{x['int4_overhead_total_pct']:+.1f}%" if "int4_overhead_total_pct" in x else "—",
                     ff=x["ff"], mb=x["mem_bits"], sg=x["sram_ge"], s=x["seconds"]))
    if targets:
        L += ["", "## Targets (reported, not asserted)", "", "| target | measured | met | where |", "|---|---|---|---|"]
        for t in targets:
            L.append(f"| {t['target']} | {t['shown']} | {'yes' if t['met'] else '**no**'} | {t['detail']} |")
    L += ["", "## Per block (GE, logic only)", "",
          "| array | PE | PE | array | requant unit (× units) | accumulator logic (+ bits) | core | DMA (load+store) "
          "| controller | register file | memory arbiter | total |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        L.append("| {r}×{c} | {v} | {pe:.0f} | {arr:,.0f} | {rq:,.0f} (× {nu}) | {ac:,.0f} (+{ab:,.0f} b) | {co:,.0f} | {dma:,.0f} "
                 "| {ct:,.0f} | {rg:,.0f} | {ar:,.0f} | {tot:,.0f} |".format(
                     r=x["rows"], c=x["cols"], v="int8/int4" if x["int4"] else "int8", pe=x["pe_ge"],
                     arr=x["array_ge"], rq=x["requant_ge"], nu=x["requant_units"], ac=x["accum_ge"],
                     ab=x["accum_mem_bits"],
                     co=x["core_ge"], dma=x["dma_ge"], ct=x["ctrl_ge"], rg=x["regfile_ge"], ar=x["arbiter_ge"],
                     tot=x["total_ge"]))
    if a.baseline:
        with open(a.baseline) as f:
            bl = json.load(f)
        L += ["", "## Against the baseline (" + bl.get("measured_at", a.baseline) + ")", "",
              "Same flow and weights; `syn/baseline.json` keeps the earlier `make syn` figures. Requantization: "
              "every unit (with its parameter store's bits at the SRAM price) plus the core's own logic and drain "
              "queue; the baseline had one unit per column and no drain.", "",
              "| array | PE | PE GE before → now | array GE before → now | requantization GE before → now "
              "| controller GE before → now | total GE before → now |", "|---|---|---|---|---|---|---|"]

        def ba(old, new, fmt="{:,.0f}"):
            return f"{fmt.format(old)} → {fmt.format(new)} ({100.0 * (new / old - 1):+.0f}%)" if old else fmt.format(new)
        for x in rows:
            o = [y for y in bl["generic"] if (y["rows"], y["cols"], y["int4"]) == (x["rows"], x["cols"], x["int4"])]
            if not o:
                continue
            o = o[0]
            L.append("| {r}×{c} | {v} | {pe} | {arr} | {rq} | {ct} | {tot} |".format(
                r=x["rows"], c=x["cols"], v="int8/int4" if x["int4"] else "int8", pe=ba(o["pe_ge"], x["pe_ge"]),
                arr=ba(o["array_ge"], x["array_ge"]),
                rq=ba(baseline_requant_total(o), x["requant_total_ge"]),
                ct=ba(o["ctrl_ge"], x["ctrl_ge"]), tot=ba(o["total_ge"], x["total_ge"])))
    if req:
        L += ["", "## One requantization unit: TFLite's Q31 path, and ONNX Runtime's float32 path beside it", "",
              "`qnpu_requant` alone (tools/syn_requant.sh). The float32 path (requant `ort_f32`, "
              "docs/numerics.md) adds a leading-zero count, two 24-bit roundings and an integer rounding; it "
              "shares the Q31 path's 32x32 multiplier, stage registers, zero point and clamp. The accelerator "
              "rows above are built with it (ReqF32 = 1, the default).", "",
              "| requantization unit | GE | flip-flops | vs Q31 only |", "|---|---|---|---|"]
        for x in req:
            L.append("| {v} | {g:,.0f} | {f:.0f} | {o} |".format(
                v="Q31 + float32 (ReqF32 = 1)" if x["req_f32"] else "Q31 only (ReqF32 = 0)", g=x["ge"], f=x["ff"],
                o=f"{x['overhead_pct']:+.1f}%" if "overhead_pct" in x else "—"))
    if ice:
        L += ["", "## iCE40 (yosys synth_ice40 + nextpnr-ice40)", "",
              "The largest systolic array (`qnpu_array`, in the serial harness `syn/qnpu_ice40_wrap.sv`) that "
              "places and routes; Fmax is the median over the placement seeds.", "",
              "| device | DSP inference | array | LUTs | DSPs | BRAMs | flip-flops | Fmax MHz (median) | seeds (MHz) |",
              "|---|---|---|---|---|---|---|---|---|"]
        for e in ice.get("fits", []):
            L.append("| {d} | {dsp} | {r}×{c} | {lut} | {ds} | {br} | {ff} | {f:.1f} | {seeds} |".format(
                d=e["device"], dsp="yes" if e["dsp"] else "no", r=e["rows"], c=e["cols"],
                lut=e["luts"], ds=e["dsps"], br=e["brams"], ff=e["ffs"], f=e["fmax_median"],
                seeds=", ".join(f"{v:.1f}" for v in e["fmax_seeds"])))
        if not ice.get("fits"):
            L.append("| — | — | nothing fits | | | | | | |")
        cores = ice.get("cores", [])
        if cores:
            L += ["", "### The whole core on the UP5K", "",
                  "`qnpu_core` (array, accumulators, one requantization unit shared by all columns) in the serial "
                  "harness `syn/qnpu_ice40_core.sv`, placed for 30 MHz; the requantization multiplier in DSPs, "
                  "the PEs in DSPs of their own (PE DSP pairs 0) or, int8-only, that many PE pairs per DSP in its "
                  "dual 8x8 mode and the rest in LUTs. Every attempt is listed; logic cells are nextpnr's (LUTs "
                  "and flip-flops packed), of 5,280.", "",
                  "| array | AccDepth | float32 path | int4 PEs | PE DSP pairs | placed | LUTs | flip-flops | DSPs "
                  "| BRAMs | logic cells | Fmax MHz (median) | seeds (MHz) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for e in cores:
                L.append("| {r}×{c} | {a} | {f} | {i4} | {mp} | {p} | {lut} | {ff} | {ds} | {br} | {lc} | {fm} "
                         "| {seeds} |".format(
                    r=e["rows"], c=e["cols"], a=e["acc_depth"], f="yes" if e["req_f32"] else "no",
                    i4="yes" if e.get("int4", 1) else "no", mp=e.get("mul_pairs", 0),
                    p="yes" if e["placed"] else "**no**", lut=e["luts"], ff=e["ffs"], ds=e["dsps"], br=e["brams"],
                    lc=e["logic_cells"], fm=f"{e['fmax_median']:.1f}" if e["placed"] else "—",
                    seeds=", ".join(f"{v:.1f}" for v in e["fmax_seeds"])))
        so = ice.get("synth_only", [])
        if so:
            L += ["", "Synthesis only: " + "; ".join(
                f"`{e['block']}`{' (2×2, AccDepth 4, scratchpads of 64 rows)' if e['block'] == 'qnpu_top' else ''}: "
                f"{e['luts']} LUTs, {e['ffs']} flip-flops, {e.get('brams', 0)} BRAMs" for e in so)
                  + ". The whole accelerator exceeds the largest iCE40 nextpnr-ice40 supports (HX8K: 7,680 LUTs)."]
    L += ["", "![GE vs array size](ge_vs_size.png)", ""]
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(L))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("synreport: matplotlib missing, no plot", file=sys.stderr)
        return 0
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for int4, style in ((False, "o--"), (True, "s-")):
        xs = [x for x in rows if x["int4"] == int4]
        if not xs:
            continue
        macs = [x["rows"] * x["cols"] for x in xs]
        lab = "int8/int4" if int4 else "int8 only"
        ax.plot(macs, [x["total_ge"] for x in xs], style, label=f"accelerator, {lab}")
        ax.plot(macs, [x["array_ge"] for x in xs], style, alpha=0.5, label=f"array, {lab}")
    m = sorted({x["rows"] * x["cols"] for x in rows})
    ax.plot(m, [ANCHOR_GE_PER_MAC * v for v in m], ":", color="gray", label="700 GE × MACs (anchor)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(m)
    ax.set_xticklabels([f"{x['rows']}×{x['cols']}" for x in rows if x["int4"]] or [str(v) for v in m])
    ax.set_xlabel("array size (MACs per cycle in W8A8)")
    ax.set_ylabel("NAND2 gate equivalents (logic)")
    ax.set_title("qnpu area (Yosys 0.23, generic gates)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "ge_vs_size.png"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
