#!/usr/bin/env bash
# syn_requant.sh REQF32 OUTDIR RTL... - synthesizes one requantization unit
# (qnpu_requant, RowW 6) with syn/generic.ys, with (REQF32 = 1) or without
# (0) ONNX Runtime's float32 path, and writes OUTDIR/requant_f32N.{json,log,
# stat.txt,run.json}: the area of the float32 path against the Q31 one.
set -euo pipefail
f32=$1 out=$2; shift 2
mkdir -p "$out"
tag="requant_f32${f32}"
start=$(date +%s.%N)
yosys -q -l "$out/$tag.log" -p "read_verilog -sv -DSYNTHESIS $*; \
  chparam -set ReqF32 $f32 qnpu_requant; hierarchy -check -top qnpu_requant; \
  script syn/generic.ys; tee -q -o $out/$tag.stat.txt stat; write_json $out/$tag.json" >/dev/null 2>&1 \
  || { tail -20 "$out/$tag.log"; echo "syn: yosys failed for $tag" >&2; exit 1; }
secs=$(python3 -c "import time; print(round(time.time() - $start, 1))")
printf '{"req_f32": %d, "netlist": "%s", "seconds": %s}\n' "$f32" "$out/$tag.json" "$secs" > "$out/$tag.run.json"
echo "syn: $tag in ${secs}s"
