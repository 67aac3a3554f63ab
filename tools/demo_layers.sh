#!/usr/bin/env bash
# demo_layers.sh [SHARED_DIR] - make demo-layers: every
# conformance layer case through `qnpu layer --json` on the golden model, the
# fast functional model and the cycle-accurate Verilated RTL (tiled by the
# runtime), a table of bit-exact results per suite and backend, then a
# 512x512x512 GEMM on the RTL with its cycles and utilization.
# Exit 0 iff every case is bit-exact wherever it can run (a float_rne case
# cannot run on the hardware, which requantizes with Q31 multipliers: those
# are counted apart, not as failures).
set -uo pipefail
shared=${1:-../shared}
bin=${QNPU_BIN:-build/bin/qnpu}
root=$shared/conformance
if [[ ! -d $root ]]; then
  echo "demo: no conformance cases at $root (pass the shared/ directory as the argument)" >&2
  exit 2
fi
backends=(golden model)
"$bin" backends | grep -q '^  sim .*Verilated' && backends+=(sim)

echo "qnpu demo: every conformance case on ${backends[*]} ($bin)"
echo
first=$(ls -d "$root"/cmsis-nn/*/ 2>/dev/null | head -1)
if [[ -n $first ]]; then
  echo "\$ qnpu layer ${first%/} --backend ${backends[-1]}"
  "$bin" layer "${first%/}" --backend "${backends[-1]}"
  echo
fi

printf '%-10s %-7s %6s %10s %10s %9s %12s  %s\n' suite backend cases elements mismatches bit-exact not-runnable failures
bad_total=0; total=0
for suite in "$root"/*/; do
  name=$(basename "$suite")
  for be in "${backends[@]}"; do
    n=0; ok=0; el=0; mm=0; skip=0; bad=()
    for dir in "$suite"*/; do
      [[ -f $dir/layer.json ]] || continue
      n=$((n + 1))
      json=$("$bin" layer "${dir%/}" --backend "$be" --json 2>&1); rc=$?
      e=$(sed -n 's/.*"elements":\([0-9]*\).*/\1/p' <<<"$json")
      m=$(sed -n 's/.*"mismatches":\([0-9]*\).*/\1/p' <<<"$json")
      el=$((el + ${e:-0})); mm=$((mm + ${m:-0}))
      if [[ $rc -eq 0 ]]; then ok=$((ok + 1))
      elif [[ $rc -eq 2 && $be != golden && $json == *float_rne* ]]; then skip=$((skip + 1))
      else bad+=("$(basename "$dir")(exit $rc)"); fi
    done
    printf '%-10s %-7s %6d %10d %10d %5d/%-3d %12d  %s\n' "$name" "$be" "$n" "$el" "$mm" "$ok" "$n" "$skip" "${bad[*]:-}"
    bad_total=$((bad_total + ${#bad[@]})); total=$((total + n))
  done
done
echo
if [[ " ${backends[*]} " == *" sim "* ]]; then
  echo "\$ qnpu gemm 512 512 512 --backend sim"
  "$bin" gemm 512 512 512 --backend sim || bad_total=$((bad_total + 1))
  echo
fi
if [[ $bad_total -eq 0 ]]; then
  echo "demo: $total case runs, all bit-exact against their external references (CMSIS-NN/TFLite, ONNX) where they can run"
else
  echo "demo: $bad_total runs NOT bit-exact or failed"
  exit 1
fi
