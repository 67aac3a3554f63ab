#!/usr/bin/env python3
"""regress.py - qnpu's regression as a list of independent jobs, run in
shards and merged.

  regress.py list  [PARAMS] > jobs.txt      the job list (name TAB command)
  regress.py run   --jobs jobs.txt --shard I/N --out DIR
                                            runs jobs I, I+N, I+2N, ... (1-based)
                                            and writes DIR/shard-I-of-N.jsonl
  regress.py merge --jobs jobs.txt --out DIR [--junit FILE] [--expect N]
                                            one summary line "N passed, M failed",
                                            a JUnit XML file, every failure's repro
                                            line; exit 1 on a failure or a
                                            missing shard

Every job is a command that exits 0 when it passed; it is run from the
project root. A job's result records its exit status, time, the last lines
of its output and the repro lines its output names ("| repro: ..."); the
repro of a failed job is its own command too. The same list is run by
`make regress` (shards on the local cores), by `make regress SHARD=i/N`
(one shard) and by tools/slurm/ (one shard per Slurm array task, a
dependent job merges).
"""
import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET


def job_list(a):
    """The jobs, in a fixed order, from the Makefile's parameters."""
    jobs = []
    b = a.build
    for size in a.sizes.split():
        tb = f"{b}/rtl/core_{size}/tb_core"
        for s in a.seeds.split():
            jobs.append((f"rtl-core-{size}-seed{s}", f"{tb} --seed {s} --macs {a.macs}"))
        jobs.append((f"rtl-core-{size}-random-init",
                     f"{tb} --seed 1 --macs {a.macs} +verilator+rand+reset+2 +verilator+seed+{a.vseed}"))
        for t in a.sim_tests.split():
            for s in a.seeds.split():
                jobs.append((f"{t}-{size}-seed{s}",
                             f"env QNPU_SEED={s} QNPU_STREAMS={a.streams} {b}/tests/sim/{t}_{size}"))
            jobs.append((f"{t}-{size}-random-init",
                         f"env QNPU_RANDOM_INIT={a.vseed} QNPU_STREAMS={a.streams} {b}/tests/sim/{t}_{size}"))
        lay = f"{b}/tests/sim/layers_{size}"
        for first in range(0, a.layers, a.chunk):
            n = min(a.chunk, a.layers - first)
            jobs.append((f"layers-{size}-seed{a.seed}-{first}",
                         f"{lay} --size {size} --seed {a.seed} --first {first} --n {n} --jobs 1 "
                         f"--label layers-{size}-{first}"))
        for first in range(0, a.faults, a.chunk):
            n = min(a.chunk, a.faults - first)
            jobs.append((f"faults-{size}-seed{a.seed}-{first}",
                         f"{lay} --size {size} --seed {a.seed} --first {first} --n {n} --jobs 1 --fault-runs "
                         f"--label faults-{size}-{first}"))
    return jobs


def read_jobs(path):
    jobs = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                name, _, cmd = line.partition("\t")
                if not cmd:
                    sys.exit(f"regress: {path}: a line without a TAB-separated command: {line[:80]}")
                jobs.append((name, cmd))
    if not jobs:
        sys.exit(f"regress: {path}: no jobs")
    return jobs


def parse_shard(text):
    m = re.fullmatch(r"(\d+)/(\d+)", text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        sys.exit(f"regress: SHARD must be I/N with 1 <= I <= N, not '{text}'")
    return int(m.group(1)), int(m.group(2))


COUNT = re.compile(r"(\d+) passed, (\d+) failed")


def run_one(name, cmd, timeout):
    t0 = time.monotonic()
    # its own process group, so that a hung job goes with all its children
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, errors="replace",
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        out += f"\nregress: hung: killed after {timeout} s\n"
        rc = 124
    secs = time.monotonic() - t0
    lines = out.splitlines()
    cases = COUNT.findall(out)  # the job's own count, when it prints one
    passed = sum(int(p) for p, _ in cases[-1:]) if cases else None
    failed = sum(int(f) for _, f in cases[-1:]) if cases else None
    repro = [l.split("| repro:", 1)[1].strip() for l in lines if "| repro:" in l]
    repro += [l.split("repro: ", 1)[1].strip() for l in lines if "repro: " in l and "| repro:" not in l]
    fails = [l for l in lines if l.startswith("FAIL") or "[  FAILED  ]" in l or "ERROR" in l or "regress: hung" in l]
    return {"name": name, "cmd": cmd, "rc": rc, "seconds": round(secs, 3), "cases_passed": passed,
            "cases_failed": failed, "repro": repro[:20], "fail_lines": fails[:20], "tail": lines[-15:]}


def cmd_run(a):
    jobs = read_jobs(a.jobs)
    i, n = parse_shard(a.shard)
    mine = jobs[i - 1::n]
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"shard-{i}-of-{n}.jsonl")
    bad = 0
    with open(path + ".part", "w") as f:
        for k, (name, cmd) in enumerate(mine):
            r = run_one(name, cmd, a.timeout)
            r["shard"] = f"{i}/{n}"
            f.write(json.dumps(r) + "\n")
            f.flush()
            ok = r["rc"] == 0
            bad += not ok
            print(f"[shard {i}/{n} {k + 1}/{len(mine)}] {'ok  ' if ok else 'FAIL'} {name} ({r['seconds']:.1f} s)",
                  flush=True)
            if not ok:
                for l in r["fail_lines"][:5]:
                    print(f"    {l}")
                print(f"    repro: {cmd}")
    os.replace(path + ".part", path)
    print(f"shard {i}/{n}: {len(mine) - bad} passed, {bad} failed")
    return 0 if bad == 0 else 1


def cmd_merge(a):
    jobs = read_jobs(a.jobs)
    files = sorted(glob.glob(os.path.join(a.out, "shard-*-of-*.jsonl")))
    res = {}
    shards = set()
    for p in files:
        m = re.search(r"shard-(\d+)-of-(\d+)\.jsonl$", p)
        shards.add((int(m.group(1)), int(m.group(2))))
        with open(p) as f:
            for line in f:
                r = json.loads(line)
                res[r["name"]] = r
    counts = {n for _, n in shards}
    problems = []
    if len(counts) > 1:
        problems.append(f"shard files of different splits in {a.out}: {sorted(counts)} (remove the old ones)")
    elif counts:
        n = counts.pop()
        missing = [i for i in range(1, n + 1) if (i, n) not in shards]
        if missing:
            problems.append(f"shards {', '.join(f'{i}/{n}' for i in missing)} have no results")
    names = [name for name, _ in jobs]
    not_run = [nm for nm in names if nm not in res]
    passed = [res[nm] for nm in names if nm in res and res[nm]["rc"] == 0]
    failed = [res[nm] for nm in names if nm in res and res[nm]["rc"] != 0]
    cases_p = sum(r["cases_passed"] or 0 for r in res.values())
    cases_f = sum(r["cases_failed"] or 0 for r in res.values())
    secs = sum(r["seconds"] for r in res.values())
    if a.junit:
        suite = ET.Element("testsuite", name="qnpu-regress", tests=str(len(names)), failures=str(len(failed)),
                           skipped=str(len(not_run)), time=f"{secs:.3f}")
        for nm, cmd in jobs:
            r = res.get(nm)
            tc = ET.SubElement(suite, "testcase", classname="qnpu.regress." + nm.split("-")[0], name=nm,
                               time=f"{r['seconds']:.3f}" if r else "0")
            if r is None:
                ET.SubElement(tc, "skipped", message="not run (its shard has no results)")
            elif r["rc"] != 0:
                msg = (r["fail_lines"] or r["tail"] or [f"exit {r['rc']}"])[0]
                fl = ET.SubElement(tc, "failure", message=msg[:300], type=f"exit {r['rc']}")
                fl.text = "\n".join(r["fail_lines"] + ["...", *r["tail"], "", "repro: " + cmd] +
                                    [f"repro: {x}" for x in r["repro"]])
            if r is not None:
                ET.SubElement(tc, "system-out").text = "\n".join(r["tail"])
        os.makedirs(os.path.dirname(os.path.abspath(a.junit)), exist_ok=True)
        ET.ElementTree(suite).write(a.junit, encoding="utf-8", xml_declaration=True)
    for r in failed:
        print(f"FAIL {r['name']} (exit {r['rc']}, shard {r.get('shard', '?')})")
        for l in r["fail_lines"][:10]:
            print(f"    {l}")
        for x in r["repro"][:10]:
            print(f"    repro: {x}")
        print(f"    repro: {r['cmd']}")
    for p in problems:
        print(f"regress: {p}")
    if not_run:
        print(f"regress: {len(not_run)} jobs not run, e.g. {not_run[0]}")
    summary = {"passed": len(passed), "failed": len(failed), "not_run": len(not_run), "jobs": len(names),
               "cases_passed": cases_p, "cases_failed": cases_f, "cpu_seconds": round(secs, 1),
               "shards": len(shards), "junit": a.junit}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"regress: {len(passed)} passed, {len(failed)} failed"
          f"{f', {len(not_run)} not run' if not_run else ''} "
          f"({len(names)} jobs in {len(shards)} shards, {secs:.0f} s of work; "
          f"{cases_p} cases passed, {cases_f} failed inside them)"
          f"{f'; JUnit: {a.junit}' if a.junit else ''}")
    return 0 if not failed and not not_run and not problems else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("list", help="print the job list")
    l.add_argument("--build", default="build")
    l.add_argument("--sizes", default="4x4 8x8 16x16 8x16 32x32")
    l.add_argument("--seeds", default="1 2 3", help="test seeds of the RTL benches and sim tests")
    l.add_argument("--vseed", default="1", help="random-initial-state seed")
    l.add_argument("--macs", type=int, default=4000000)
    l.add_argument("--sim-tests", default="test_sim test_stream test_netsim")
    l.add_argument("--streams", type=int, default=100)
    l.add_argument("--seed", type=int, default=1, help="random layer seed")
    l.add_argument("--layers", type=int, default=2000, help="random layer cases per size")
    l.add_argument("--faults", type=int, default=400, help="faulted runs per size")
    l.add_argument("--chunk", type=int, default=200, help="cases per job")
    r = sub.add_parser("run", help="run one shard")
    r.add_argument("--jobs", required=True)
    r.add_argument("--shard", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--timeout", type=int, default=3600, help="seconds per job before it counts as hung")
    m = sub.add_parser("merge", help="merge the shards' results")
    m.add_argument("--jobs", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--junit")
    a = ap.parse_args()
    if a.cmd == "list":
        if a.chunk < 1:
            sys.exit("regress: --chunk must be at least 1")
        for name, cmd in job_list(a):
            print(f"{name}\t{cmd}")
        return 0
    return cmd_run(a) if a.cmd == "run" else cmd_merge(a)


if __name__ == "__main__":
    sys.exit(main())
