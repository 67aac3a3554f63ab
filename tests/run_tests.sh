#!/usr/bin/env bash
# run_tests.sh LABEL BINARY... - runs cmocka binaries, shows their output and
# ends with one summary line "LABEL: N passed, M failed, K skipped".
set -uo pipefail
label=$1; shift
passed=0; failed=0; skipped=0; broken=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  if [[ $rc -ne 0 && -z ${f:-} ]]; then   # crashed before cmocka's summary
    echo "!! $t exited with status $rc before finishing"
    broken=$((broken + 1))
  fi
done
failed=$((failed + broken))
echo "${label//[^A-Za-z0-9_-]/_}: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
