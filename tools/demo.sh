#!/usr/bin/env bash
# demo.sh [SHARED_DIR] - the most complete job qnpu can do today: run every
# conformance layer case through `qnpu layer --backend golden --json` and
# print a per-suite table of bit-exact results. Exit 0 iff all are bit-exact.
set -uo pipefail
shared=${1:-../shared}
bin=${QNPU_BIN:-build/bin/qnpu}
root=$shared/conformance
if [[ ! -d $root ]]; then
  echo "demo: no conformance cases at $root (pass the shared/ directory as the argument)" >&2
  exit 2
fi

echo "qnpu demo: every conformance case on the golden backend ($bin)"
echo
first=$(ls -d "$root"/cmsis-nn/*/ 2>/dev/null | head -1)
if [[ -n $first ]]; then
  echo "\$ qnpu layer ${first%/}"
  "$bin" layer "${first%/}"
  echo
fi

printf '%-10s %6s %10s %10s %9s  %s\n' suite cases elements mismatches bit-exact failures
total=0; total_ok=0; total_el=0
for suite in "$root"/*/; do
  name=$(basename "$suite")
  n=0; ok=0; el=0; mm=0; bad=()
  for dir in "$suite"*/; do
    [[ -f $dir/layer.json ]] || continue
    n=$((n + 1))
    json=$("$bin" layer "${dir%/}" --backend golden --json 2>&1); rc=$?
    e=$(sed -n 's/.*"elements":\([0-9]*\).*/\1/p' <<<"$json")
    m=$(sed -n 's/.*"mismatches":\([0-9]*\).*/\1/p' <<<"$json")
    el=$((el + ${e:-0})); mm=$((mm + ${m:-0}))
    if [[ $rc -eq 0 ]]; then ok=$((ok + 1)); else bad+=("$(basename "$dir")(exit $rc)"); fi
  done
  printf '%-10s %6d %10d %10d %5d/%-3d  %s\n' "$name" "$n" "$el" "$mm" "$ok" "$n" "${bad[*]:-}"
  total=$((total + n)); total_ok=$((total_ok + ok)); total_el=$((total_el + el))
done
printf '%-10s %6d %10d %10s %5d/%-3d\n' total "$total" "$total_el" "" "$total_ok" "$total"
echo
if [[ $total_ok -eq $total ]]; then
  echo "demo: all $total cases bit-exact against their external references (CMSIS-NN/TFLite, ONNX)"
else
  echo "demo: $((total - total_ok)) of $total cases NOT bit-exact"
  exit 1
fi
