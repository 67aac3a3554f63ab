#!/usr/bin/env bash
# fuzz.sh SECONDS BUILD_DIR TARGET... - runs each libFuzzer harness
# (BUILD_DIR/fuzz_TARGET) for SECONDS on its committed seed corpus
# (tests/fuzz/corpus/TARGET, grown in BUILD_DIR/corpus/TARGET), after first
# replaying every committed regression input (tests/fuzz/regress/TARGET).
# Prints executions, coverage (libFuzzer's cov: edges) and findings per
# target and one summary line; a crash, hang, leak or sanitizer report is
# kept under BUILD_DIR/findings/TARGET and fails the run (exit 1), with the
# command that replays it.
set -uo pipefail
secs=$1; out=$2; shift 2
printf '%-8s %10s %9s %8s %7s  %s\n' target executions "exec/s" cov corpus findings
bad=0; total=0
for t in "$@"; do
  bin=$out/fuzz_$t; corpus=$out/corpus/$t; found=$out/findings/$t; log=$out/fuzz_$t.log
  mkdir -p "$corpus" "$found"
  reg=(tests/fuzz/regress/$t/*)
  if [[ -e ${reg[0]} ]] && ! "$bin" "${reg[@]}" > "$out/regress_$t.log" 2>&1; then
    echo "FAIL $t: a committed regression input fails again: $(grep -m1 -E 'ERROR|runtime error|abort' "$out/regress_$t.log")"
    echo "     replay: $bin ${reg[*]}"
    bad=$((bad + 1)); continue
  fi
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
    -artifact_prefix="$found/" "$corpus" "tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  files=$(ls "$corpus" | wc -l)
  finds=$(ls "$found" | wc -l)
  total=$((total + ${execs:-0}))
  printf '%-8s %10s %9s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$files" \
    "$([[ $finds -eq 0 && $rc -eq 0 ]] && echo none || echo "$finds (exit $rc)")"
  if [[ $finds -ne 0 || $rc -ne 0 ]]; then
    bad=$((bad + 1))
    grep -m3 -E 'ERROR:|runtime error|Test unit written' "$log" | sed 's/^/     /'
    for f in "$found"/*; do [[ -e $f ]] && echo "     replay: $bin $f"; done
  fi
done
echo "fuzz: $# targets, ${secs} s each, $total executions, $bad with findings"
[[ $bad -eq 0 ]]
