#!/usr/bin/env bash
# run_rtl.sh LABEL MACS "SEEDS" VSEED TB... - runs each core test bench once
# per test seed with zero-initialised flip-flops and once more with random
# initial state (+verilator+rand+reset+2 +verilator+seed+VSEED); prints
# "LABEL: N passed, M failed" at the end.
set -uo pipefail
label=$1 macs=$2 seeds=$3 vseed=$4; shift 4
passed=0; failed=0
run() {
  local out rc
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -v '^tb_core_[0-9x]*: '
  if [[ $rc -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
for tb in "$@"; do
  for s in $seeds; do
    run "$tb" --seed "$s" --macs "$macs"
  done
  run "$tb" --seed "$s" --macs "$macs" +verilator+rand+reset+2 +verilator+seed+"$vseed"
done
echo "$label: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
