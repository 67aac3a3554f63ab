#!/usr/bin/env bash
# syn.sh ROWS COLS INT4 OUTDIR RTL... - synthesizes qnpu_top with syn/generic.ys
# (configuration only through chparam) and writes OUTDIR/top_RxC_i4N.{json,log,stat.txt,run.json}.
# SYN_PARAMS (optional): more chparam settings, e.g. "-set ActRows 1024"; SYN_TAG: a suffix
# for the file names of such a run.
set -euo pipefail
r=$1 c=$2 i4=$3 out=$4; shift 4
mkdir -p "$out"
tag="top_${r}x${c}_i4${i4}${SYN_TAG:-}"
start=$(date +%s.%N)
yosys -q -l "$out/$tag.log" -p "read_verilog -sv -DSYNTHESIS $*; \
  chparam -set Rows $r -set Cols $c -set Int4 $i4 ${SYN_PARAMS:-} qnpu_top; hierarchy -check -top qnpu_top; \
  script syn/generic.ys; tee -q -o $out/$tag.stat.txt stat; \
  tee -q -o $out/$tag.stat.json stat -json; write_json $out/$tag.json" >/dev/null 2>&1 \
  || { tail -20 "$out/$tag.log"; echo "syn: yosys failed for $tag" >&2; exit 1; }
"${PYTHON:-python3}" tools/statjson.py "$out/$tag.stat.json"
secs=$(python3 -c "import time; print(round(time.time() - $start, 1))")
printf '{"rows": %d, "cols": %d, "int4": %d, "netlist": "%s", "seconds": %s}\n' \
  "$r" "$c" "$i4" "$out/$tag.json" "$secs" > "$out/$tag.run.json"
echo "syn: $tag in ${secs}s"
