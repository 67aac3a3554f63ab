#!/usr/bin/env bash
# run_onnx.sh QNPU WORKDIR QUICK|FULL - qnpu against ONNX Runtime, bit for bit
# (tools/onnx_check.py): the Fashion-MNIST model quantized by ONNX Runtime's
# quantize_static (int8, and uint8 activations), random single-node models,
# and the ONNX conformance cases in ort_f32. Installs ONNX Runtime
# into build/venv-onnx first (tools/onnx_venv.sh); when that is not possible
# (no network) it says so and skips. Ends with "onnx: N passed, M failed".
set -uo pipefail
bin=$1; work=$2; size=$3
venv=build/venv-onnx
if ! tools/onnx_venv.sh "$venv"; then
  echo "onnx: skipped: ONNX Runtime could not be installed into $venv (no PyPI?); make test-onnx needs it"
  exit 0
fi
py=$venv/bin/python
mkdir -p "$work"
if [[ $size == QUICK ]]; then
  fm=(--images 1000 --sim-images "${ONNX_SIM_IMAGES:-20}"); sw=(-n 600 --sim-every "${ONNX_SIM_EVERY:-10}")
else
  fm=(--images 10000 --sim-images 200); sw=(-n 3000 --sim-every 5 --progress)
fi
passed=0; failed=0
run() { # NAME CMD...
  local name=$1; shift
  local log="$work/$name.log"
  if "$@" > "$log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "  FAIL  $name (exit $?), log $log | repro: $*"
  fi
  grep -v '^WARNING' "$log" | grep -E 'qnpu |sweep|models|FAIL|error' | grep -v -E '^ +[0-9]+/[0-9]+ models' |
    sed 's/^/  /'
}
if [[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]]; then
  run fmnist "$py" tools/onnx_check.py fmnist --qnpu "$bin" --work "$work/fmnist" "${fm[@]}"
  run fmnist-uint8 "$py" tools/onnx_check.py fmnist --uint8 --qnpu "$bin" --work "$work/fmnist-uint8" "${fm[@]}"
else
  echo "  fmnist: skipped: Fashion-MNIST is not installed (make deps installs it)"
fi
run sweep "$py" tools/onnx_check.py sweep --qnpu "$bin" --work "$work/sweep" "${sw[@]}"
# the ONNX conformance cases with float32 scales, requantized as ONNX Runtime does, on every backend
shared=${QNPU_SHARED:-../shared}
if [[ -d $shared/conformance/onnx ]]; then
  if "$py" tools/conformance_ort.py --shared "$shared" --out "$work/conformance-ort" > "$work/conformance.log" 2>&1; then
    n=0; bad=0
    for d in "$work"/conformance-ort/*/; do
      for be in golden model sim; do
        n=$((n + 1))
        "$bin" layer "$d" --backend $be > "$work/layer.log" 2>&1 || {
          bad=$((bad + 1)); echo "  FAIL  $(basename "$d") on $be | repro: $bin layer $d --backend $be"; }
      done
    done
    echo "  conformance ort_f32: $(ls -d "$work"/conformance-ort/*/ | wc -l) cases x 3 backends: $((n - bad)) bit-exact with ONNX Runtime, $bad not"
    [[ $bad -eq 0 ]] && passed=$((passed + 1)) || failed=$((failed + 1))
  else
    failed=$((failed + 1)); echo "  FAIL  conformance_ort.py: $(tail -3 "$work/conformance.log")"
  fi
else
  echo "  conformance: skipped: $shared/conformance/onnx is absent"
fi
echo "onnx: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
