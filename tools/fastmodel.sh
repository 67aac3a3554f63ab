#!/usr/bin/env bash
# fastmodel.sh OUTDIR ROWS COLS "CXXOPT" PGO TRAIN_OBJ TRAIN_LIB RTL... - the fast build of the
# accelerator model (docs/simulation.md): Verilated without X randomization, assertions or tracing,
# compiled with CXXOPT, and with PGO=1 profile-guided: the model is first built instrumented, linked
# with TRAIN_OBJ (tests/bench/bench_hw.c) and run with --train (the four micro-benchmarks, not the
# speed benchmark's workload); then it is rebuilt with that profile. Writes OUTDIR/libqnpu_vtop.a and
# OUTDIR/qnpu_sim.o; OUTDIR/build.log has the details. QNPU_INCLUDES: the include flags for
# sim/qnpu_sim.cpp (the Makefile passes its own).
set -euo pipefail
out=$1 r=$2 c=$3 opt=$4 pgo=$5 train_obj=$6 train_lib=$7; shift 7
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/build.log
: > "$log"
fail() { tail -30 "$log"; echo "fastmodel: $1 failed (log: $log)" >&2; exit 1; }

# VL_PARAMS (optional): more -G settings of qnpu_top, e.g. "-GActRows=1024" (make sweep)
# shellcheck disable=SC2086
verilator --cc -O3 --x-assign fast --x-initial fast -GRows="$r" -GCols="$c" ${VL_PARAMS:-} --top-module qnpu_top \
  --lib-create qnpu_vtop -Mdir "$out" -CFLAGS "-std=c++17" rtl/lint.vlt "$@" >> "$log" 2>&1 || fail "verilator"

# the C include path is the Makefile's (INCLUDES, VINC), passed in QNPU_INCLUDES
: "${QNPU_INCLUDES:?set QNPU_INCLUDES to the C include flags (the Makefile does)}"
read -ra inc <<< "$QNPU_INCLUDES"
inc+=(-isystem "$out")
# build EXTRA: the Verilated library and qnpu_sim.o, all compiled with opt + EXTRA
build() {
  rm -f "$out"/*.o "$out"/*.a
  make -C "$out" -f Vqnpu_top.mk -j 2 OPT_FAST="$opt $1" OPT_SLOW="-O1 $1" OPT_GLOBAL="$opt $1" \
    libqnpu_vtop.a >> "$log" 2>&1 || fail "the C++ build"
  ${CXX:-g++} $opt $1 -g -std=c++17 -Wall -Wextra -Werror -DVM_TRACE=0 "${inc[@]}" \
    -c sim/qnpu_sim.cpp -o "$out/qnpu_sim.o" >> "$log" 2>&1 || fail "qnpu_sim.cpp"
}

if [ "$pgo" = 1 ]; then
  rm -rf "$out/pgo"
  gen="-fprofile-generate=$out/pgo -fprofile-update=single"
  build "$gen"
  ${CXX:-g++} $gen -o "$out/train" "$train_obj" "$out/qnpu_sim.o" "$out/libqnpu_vtop.a" "$train_lib" \
    -lcjson -lm -lz -lpthread >> "$log" 2>&1 || fail "linking the training run"
  "$out/train" --train >> "$log" 2>&1 || fail "the training run"
  build "-fprofile-use=$out/pgo -fprofile-partial-training -Wno-missing-profile"
else
  build ""
fi
echo "fastmodel: ${r}x${c} fast model built ($([ "$pgo" = 1 ] && echo profile-guided || echo no PGO))"
