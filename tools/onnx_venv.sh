#!/usr/bin/env bash
# onnx_venv.sh [DIR] - a Python virtual environment with ONNX Runtime and
# onnx (tools/onnx-requirements.txt) for make test-onnx, in DIR (default
# build/venv-onnx). Idempotent: does nothing when DIR already holds exactly
# these requirements. Exit 1 with a message when pip cannot install them
# (no network, no PyPI).
set -euo pipefail
dir=${1:-build/venv-onnx}
req=$(dirname "$0")/onnx-requirements.txt
stamp=$dir/.qnpu-requirements
if [[ -f $stamp ]] && cmp -s "$req" "$stamp"; then exit 0; fi
if ! /usr/bin/python3 -m venv --help >/dev/null 2>&1; then
  echo "onnx_venv: python3-venv is missing (make deps installs it)" >&2
  exit 1
fi
rm -rf "$dir"
/usr/bin/python3 -m venv "$dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "onnx_venv: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $dir" >&2
if ! "$dir/bin/pip" install --disable-pip-version-check -q -r "$req" >"$log" 2>&1; then
  echo "onnx_venv: pip could not install the requirements; its output:" >&2
  tail -20 "$log" >&2
  rm -rf "$dir"
  exit 1
fi
cp "$req" "$stamp"
