#!/usr/bin/env bash
# submit.sh - qnpu's regression on a Slurm cluster: a job array with one
# task per shard, and a merge job that depends on all of them (afterany).
#
#   tools/slurm/submit.sh [--shards N] [--jobs FILE] [--out DIR] [--wait]
#                         [--timeout SECS] [-- SBATCH_OPTION...]
#
# Run it from the project root on a file system the compute nodes share,
# after `make regress-build regress-jobs` (the binaries and FILE, default
# build/regress/jobs.txt). Options after -- go to both sbatch calls (e.g.
# --partition=short --time=2:00:00). --wait blocks until the merge job has
# ended, prints its output and exits with its status (SECS, default 7200,
# bounds the wait). `make regress-slurm` runs this very script against a
# one-node Slurm it starts on this machine (tools/slurm/local.sh).
set -euo pipefail
shards=8 jobs=build/regress/jobs.txt out=build/regress/slurm wait=0 timeout=7200
extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --shards) shards=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --wait) wait=1; shift ;;
    --timeout) timeout=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "submit.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: --shards wants a positive number, not '$shards'" >&2; exit 2; }
[[ -s $jobs ]] || { echo "submit.sh: no job list $jobs (run make regress-build regress-jobs first)" >&2; exit 2; }
command -v sbatch > /dev/null || { echo "submit.sh: sbatch not found (is this a Slurm login node?)" >&2; exit 2; }
root=$(pwd)
mkdir -p "$out"
rm -f "$out"/shard-*-of-*.jsonl "$out"/shard-*-of-*.jsonl.part "$out"/merge.rc "$out"/summary.json
here=$(cd "$(dirname "$0")" && pwd)
env=(--export="ALL,QNPU_ROOT=$root,QNPU_JOBS=$(realpath "$jobs"),QNPU_OUT=$(realpath "$out"),QNPU_SHARDS=$shards")
array=$(sbatch --parsable "${env[@]}" --array="1-$shards" --output="$out/slurm-%A_%a.out" "${extra[@]}" \
  "$here/shard.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable "${env[@]}" --dependency="afterany:$array" --output="$out/slurm-merge-%j.out" \
  "${extra[@]}" "$here/merge.sbatch")
merge=${merge%%;*}
echo "submit.sh: array job $array ($shards shards of $(grep -c $'\t' "$jobs") jobs), merge job $merge; results in $out"
[[ $wait -eq 1 ]] || exit 0
start=$SECONDS
while squeue -h -j "$array,$merge" 2> /dev/null | grep -q .; do
  if (( SECONDS - start > timeout )); then
    echo "submit.sh: still running after $timeout s; cancelling jobs $array and $merge" >&2
    scancel "$array" "$merge" || true
    exit 124
  fi
  sleep 2
done
cat "$out/slurm-merge-$merge.out" 2> /dev/null || echo "submit.sh: the merge job left no output" >&2
[[ -f $out/merge.rc ]] || { echo "submit.sh: the merge job did not finish (see $out/slurm-*.out)" >&2; exit 1; }
exit "$(cat "$out/merge.rc")"
