#!/usr/bin/env bash
# deps.sh - install what qnpu needs on a Debian machine; idempotent and quiet.
#   tools/deps.sh          install whatever is missing (root, or sudo)
#   tools/deps.sh --train  also what make train needs (PyTorch and ONNX for Python, CPU)
#   tools/deps.sh --check  only report what is missing; exit 1 if anything is
# The package list is the single place to add a dependency.
set -euo pipefail

packages=(
  build-essential   # cc, make
  pkg-config
  verilator         # cycle-accurate RTL simulation and lint
  yosys             # synthesis, area
  iverilog          # second simulator (gate-level checks)
  libcmocka-dev     # unit tests
  clang             # libFuzzer harnesses (make fuzz, and 20 s per parser in make test)
  libclang-rt-dev   # clang's libFuzzer and sanitizer runtimes
  slurmctld         # make regress-slurm: a one-node Slurm (controller, node daemon,
  slurmd            #   client commands and munge authentication), started under build/
  slurm-client
  munge
  lcov              # make coverage: gcov capture and the HTML reports (genhtml)
  libcjson-dev      # layer-case JSON
  zlib1g-dev        # FST waveform traces, gzipped IDX files, the model file's CRC
  protobuf-c-compiler # protoc-c: C code for ONNX's protobuf schema
  libprotobuf-c-dev # its runtime library
  libonnx-dev       # onnx.proto (the ONNX schema) for the model importer
  nextpnr-ice40     # iCE40 place and route (make syn)
  fpga-icestorm     # iCE40 chip database and tools (make syn)
  python3
  python3-venv      # for Python helpers in a build/ virtual environment
  python3-matplotlib # the area plot of make syn
  dataset-fashion-mnist # Fashion-MNIST (gzipped IDX files) for the network demo
)
# make train only: Debian's CPU build of PyTorch (the PyPI wheel pulls
# gigabytes of GPU libraries) and the ONNX exporter's checker
if [[ ${1:-} == --train ]]; then
  packages+=(python3-torch python3-onnx)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  echo "missing packages: ${missing[*]}"
  exit 1
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# munge's post-install script makes its key as the munge user (su munge),
# which fails where that user cannot reach /bin/sh (a chroot whose root is
# mode 700); with a key already in place it only takes ownership of it.
if [[ " ${missing[*]} " == *" munge "* && ! -e /etc/munge/munge.key ]]; then
  "${sudo[@]}" install -d -m 700 /etc/munge
  "${sudo[@]}" sh -c 'umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none'
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq &&
       "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "deps: apt-get failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi
echo "deps: done"
