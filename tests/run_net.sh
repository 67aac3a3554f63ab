#!/usr/bin/env bash
# run_net.sh QNPU OUTDIR [MODEL] - the committed Fashion-MNIST model end to
# end through the CLI: quantized in W8A8 (entropy), W4A8 (percentile) and
# W4A4 (max) from 200 held-out training images, then 10 test images on the
# cycle-accurate RTL (sim; NET_SIM_IMAGES=) and 200 on the fast model (model), every tensor of
# every image checked bit for bit against the golden model (qnpu net
# --check). Ends with one line "net: N passed, M failed" (exit 1 on a
# failure), or says why it skipped (no Fashion-MNIST).
set -uo pipefail
bin=$1; out=$2; model=${3:-models/fmnist_cnn.onnx}
data=/usr/share/datasets/fashion-mnist
if [[ ! -f $data/t10k-images-idx3-ubyte.gz ]]; then
  echo "net: skipped: Fashion-MNIST is not installed at $data (make deps installs it)"
  exit 0
fi
mkdir -p "$out"
passed=0; failed=0
check() { # NAME CMD... : runs CMD, which must exit 0
  local name=$1; shift
  local log="$out/$name.log"
  if "$@" > "$log" 2>&1; then
    passed=$((passed + 1)); echo "  ok    $name: $(grep -m1 '^accuracy\|^wrote' "$log")"
  else
    failed=$((failed + 1)); echo "  FAIL  $name (exit $?): $(tail -3 "$log" | tr '\n' ' ') | repro: $*"
  fi
}
for v in w8a8:entropy w4a8:percentile:99.99 w4a4:max; do
  prec=${v%%:*}; calib=${v#*:}; m="$out/$prec.qnpu"
  check "quantize-$prec" "$bin" quantize "$model" --calib "$calib" --precision "$prec" --calib-images 200 -o "$m"
  check "sim-$prec" "$bin" net "$m" --backend sim --images "${NET_SIM_IMAGES:-10}" --check
  check "model-$prec" "$bin" net "$m" --backend model --images 200 --offset 5000 --check
done
echo "net: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
