#!/usr/bin/env bash
# ice40.sh OUTDIR RTL... - the largest qnpu_array (inside syn/qnpu_ice40_wrap.sv)
# that synth_ice40 + nextpnr-ice40 can place and route on an UP5K (with and
# without DSP inference) and an HX8K, and the whole qnpu_core (inside
# syn/qnpu_ice40_core.sv) on the UP5K; Fmax as the median of SEEDS placement
# seeds. Writes OUTDIR/ice40.json for tools/synreport.py.
set -uo pipefail
out=$1; shift
# The iCE40 flow reads its own qnpu_mul8x2 (one SB_MAC16 in dual 8x8 mode).
rtl="$*"; rtl=${rtl//rtl\/qnpu_mul8x2.sv/syn\/ice40\/qnpu_mul8x2.sv}
seeds=${SEEDS:-"1 2 3"}
sizes=${ICE40_SIZES:-"2x2 4x4 4x8 8x8 8x16 16x16"}
mkdir -p "$out/ice40"
results=()

# synth TAG YOSYS-COMMANDS: runs them, then check -assert, and writes stat as
# text and as (repaired, validated) JSON to OUTDIR/ice40/TAG.stat.{txt,json}.
synth() {
  local tag=$1
  yosys -q -l "$out/ice40/$tag.yosys.log" -p "$2; check -assert; \
    tee -q -o $out/ice40/$tag.stat.txt stat; tee -q -o $out/ice40/$tag.stat.json stat -json" \
    >/dev/null 2>&1 && "${PYTHON:-python3}" tools/statjson.py "$out/ice40/$tag.stat.json"
}

# cells TAG PATTERN: how many cells of the types matching PATTERN TAG's
# (flat) design has, e.g. SB_DFF counts every SB_DFF* flavour.
cells() {
  awk -v p="$2" '$1 ~ p {s+=$2} END{print s+0}' "$out/ice40/$1.stat.txt"
}

tag_of() { echo "$1_dsp$2_$3x$4"; }  # device dsp R C -> the name of its files

# try exits 1 when the design does not place (too big for the part) and 2
# when synthesis itself failed: that is a broken harness, never "no fit".
try() {  # device package dsp R C -> prints a JSON object on success
  local dev=$1 pkg=$2 dsp=$3 r=$4 c=$5 tag; tag=$(tag_of "$1" "$3" "$4" "$5")
  local flags=""; [[ $dsp == 1 ]] && flags="-dsp"
  synth "$tag" "read_verilog -sv -DSYNTHESIS $rtl syn/qnpu_ice40_wrap.sv; \
    chparam -set Rows $r -set Cols $c qnpu_ice40_wrap; \
    synth_ice40 -top qnpu_ice40_wrap $flags -json $out/ice40/$tag.json" || return 2
  local luts ffs dsps brams
  luts=$(cells "$tag" SB_LUT4); ffs=$(cells "$tag" SB_DFF)
  dsps=$(cells "$tag" SB_MAC16); brams=$(cells "$tag" SB_RAM40_4K)
  local fm=() s
  for s in $seeds; do
    if ! timeout 900 nextpnr-ice40 --$dev --package "$pkg" --json "$out/ice40/$tag.json" --freq 12 \
         --seed "$s" --log "$out/ice40/$tag.seed$s.log" >/dev/null 2>&1; then
      return 1
    fi
    local f
    f=$(grep -o "Max frequency for clock '[^']*': [0-9.]*" "$out/ice40/$tag.seed$s.log" | tail -1 | awk '{print $NF}')
    fm+=("${f:-0}")
  done
  local med
  med=$(printf '%s\n' "${fm[@]}" | sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  printf '{"device": "%s", "dsp": %s, "block": "qnpu_array", "rows": %d, "cols": %d, "luts": %d, "ffs": %d, "dsps": %d, "brams": %d, "fmax_median": %s, "fmax_seeds": [%s]}' \
    "$dev" "$([[ $dsp == 1 ]] && echo true || echo false)" "$r" "$c" "$luts" "$ffs" "$dsps" "$brams" "$med" \
    "$(IFS=,; echo "${fm[*]}")"
}

for target in "up5k sg48 1" "up5k sg48 0" "hx8k ct256 0"; do
  set -- $target
  best=""
  for sz in $sizes; do
    r=${sz%x*}; c=${sz#*x}
    echo "ice40: $1 dsp=$3 trying ${r}x${c}" >&2
    res=$(try "$1" "$2" "$3" "$r" "$c"); rc=$?
    if [[ $rc == 0 ]]; then best=$res; continue; fi
    if [[ $rc == 2 ]]; then
      log="$out/ice40/$(tag_of "$1" "$3" "$r" "$c").yosys.log"
      grep -m3 ERROR "$log" >&2
      echo "ice40: yosys failed on the harness ($log)" >&2
      exit 1
    fi
    break
  done
  if [[ -n $best ]]; then
    results+=("$best")
    echo "ice40: $1 dsp=$3: largest that fits: $best" >&2
  else
    echo "ice40: $1 dsp=$3: nothing fits" >&2
  fi
done
# The whole core (array, accumulators, one requantization unit shared by
# all columns) in syn/qnpu_ice40_core.sv on the UP5K, the requantization
# multiplier in DSPs. Each ICE40_CORES item is
# RxC:ACCDEPTH:REQF32[:INT4[:MULPAIRS]]. MULPAIRS = 0: every PE multiplies
# in a DSP of its own (QNPU_PE_PRODUCTS: the PEs' whole-product form, which
# DSP inference maps); MULPAIRS > 0 (int8-only PEs): that many pairs of PEs
# share a DSP in its dual 8x8 mode and the rest multiply in LUTs (the
# partial-product form). Every attempt is reported, placed or not.
cores=${ICE40_CORES:-"2x2:256:0 4x4:16:0:0:4 4x4:32:0:0:4"}
core_rows=()
for item in $cores; do
  IFS=: read -r sz acc f32 i4 mp <<< "$item"; r=${sz%x*}; c=${sz#*x}; i4=${i4:-1}; mp=${mp:-0}
  tag="core_up5k_${r}x${c}_acc${acc}_f${f32}_i${i4}_m${mp}"
  form="-DQNPU_PE_PRODUCTS"; [[ $mp != 0 ]] && form=""
  echo "ice40: up5k whole core ${r}x${c}, AccDepth $acc, ReqF32 $f32, Int4 $i4, MulPairs $mp" >&2
  synth "$tag" "read_verilog -sv -DSYNTHESIS $form $rtl syn/qnpu_ice40_core.sv; \
    chparam -set Rows $r -set Cols $c -set ReqShare $c -set AccDepth $acc -set OutRows $acc -set ReqF32 $f32 \
    -set Int4 $i4 -set MulPairs $mp qnpu_ice40_core; synth_ice40 -top qnpu_ice40_core -dsp -json $out/ice40/$tag.json" \
    || { echo "ice40: yosys failed on the core harness ($out/ice40/$tag.yosys.log)" >&2; exit 1; }
  # The seeds are placed concurrently (two cores); the design places when
  # every seed does.
  fm=(); placed=true; lcs=0; pids=()
  for s in $seeds; do
    timeout 1800 nextpnr-ice40 --up5k --package sg48 --json "$out/ice40/$tag.json" --freq 30 --timing-allow-fail \
      --seed "$s" --log "$out/ice40/$tag.seed$s.log" >/dev/null 2>&1 &
    pids+=($!)
  done
  i=0
  for s in $seeds; do
    wait "${pids[$i]}" || placed=false
    i=$((i + 1))
    lcs=$(grep -o "ICESTORM_LC: *[0-9]*" "$out/ice40/$tag.seed$s.log" | head -1 | grep -o "[0-9]*$")
    f=$(grep -o "Max frequency for clock '[^']*': [0-9.]*" "$out/ice40/$tag.seed$s.log" | tail -1 | awk '{print $NF}')
    fm+=("${f:-0}")
  done
  $placed || fm=()
  med=0
  if $placed; then
    med=$(printf '%s\n' "${fm[@]}" | sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  fi
  core_rows+=("$(printf '{"device": "up5k", "rows": %d, "cols": %d, "acc_depth": %d, "req_f32": %d, "int4": %d, "mul_pairs": %d, "placed": %s, "luts": %d, "ffs": %d, "dsps": %d, "brams": %d, "logic_cells": %d, "fmax_median": %s, "fmax_seeds": [%s]}' \
    "$r" "$c" "$acc" "$f32" "$i4" "$mp" "$placed" "$(cells "$tag" SB_LUT4)" "$(cells "$tag" SB_DFF)" "$(cells "$tag" SB_MAC16)" \
    "$(cells "$tag" SB_RAM40_4K)" "${lcs:-0}" "$med" "$(IFS=,; echo "${fm[*]}")")")
  echo "ice40: ${core_rows[-1]}" >&2
done

# For the record: one requantization unit, and the whole accelerator at 2x2
# for the largest iCE40 nextpnr-ice40 supports (HX8K, 7,680 LUTs; synthesis
# only - it is far beyond the part).
extra=()
for blk in qnpu_requant qnpu_top; do
  setp=""; [[ $blk == qnpu_top ]] && setp="chparam -set Rows 2 -set Cols 2 -set AccDepth 4 -set OutRows 4 -set ActRows 64 -set WgtRows 64 qnpu_top;"
  synth "$blk" "read_verilog -sv -DSYNTHESIS $rtl; $setp synth_ice40 -top $blk" \
    || { echo "ice40: yosys failed on $blk ($out/ice40/$blk.yosys.log)" >&2; exit 1; }
  extra+=("$(printf '{"block": "%s", "luts": %d, "ffs": %d, "brams": %d}' "$blk" "$(cells "$blk" SB_LUT4)" "$(cells "$blk" SB_DFF)" "$(cells "$blk" SB_RAM40_4K)")")
done
(IFS=,; printf '{"fits": [%s], "cores": [%s], "synth_only": [%s]}\n' "${results[*]}" "${core_rows[*]}" "${extra[*]}") > "$out/ice40.json"
