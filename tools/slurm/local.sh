#!/usr/bin/env bash
# local.sh - a one-node Slurm cluster on this machine, for `make
# regress-slurm`: starts munged, slurmctld and slurmd with configuration,
# state and logs under DIR (default build/slurm, nothing under /etc), runs
# tools/slurm/submit.sh --wait with the given arguments - the same script
# a user runs on a real cluster - and stops the daemons again, also on
# failure or Ctrl-C. Exit status: submit.sh's (the merged regression's).
#
#   tools/slurm/local.sh [--dir DIR] [SUBMIT_ARGS...]
set -uo pipefail
dir=build/slurm
if [[ ${1:-} == --dir ]]; then dir=$2; shift 2; fi
for b in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$b" > /dev/null || [[ -x /usr/sbin/$b ]] ||
    { echo "local.sh: $b not found (make deps installs slurmctld, slurmd, slurm-client and munge)" >&2; exit 2; }
done
export PATH=$PATH:/usr/sbin
mkdir -p "$dir"
dir=$(realpath "$dir")
rm -rf "$dir/state" "$dir/spool" "$dir"/*.log "$dir"/*.pid
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
host=$(hostname -s)
user=$(id -un)
port=$((20000 + RANDOM % 20000))   # free-ish ports, so a system Slurm is left alone

stop() {
  for p in slurmd slurmctld; do
    [[ -f $dir/$p.pid ]] && kill "$(cat "$dir/$p.pid")" 2> /dev/null
  done
  [[ -f $dir/munge/munged.pid ]] && kill "$(cat "$dir/munge/munged.pid")" 2> /dev/null
  sleep 1
  for p in slurmd slurmctld; do   # still there: make sure
    [[ -f $dir/$p.pid ]] && kill -9 "$(cat "$dir/$p.pid")" 2> /dev/null
  done
  echo "local.sh: Slurm and munge stopped (logs in $dir)"
}
trap stop EXIT
trap 'exit 130' INT TERM

# munge: its own key, socket and files
[[ -s $dir/munge/munge.key ]] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
  { echo "local.sh: munged did not start (see $dir/munge/munged.log)" >&2; exit 1; }

cat > "$dir/slurm.conf" << CONF
# written by tools/slurm/local.sh: a one-node cluster for make regress-slurm
ClusterName=qnpu-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=qnpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# cgroup/v1 named explicitly: autodetection needs /sys/fs/cgroup, which a
# container or chroot may lack, and task/none, proctrack/linuxproc use none
echo "CgroupPlugin=cgroup/v1" > "$dir/cgroup.conf"
export SLURM_CONF=$dir/slurm.conf
slurmctld -c -f "$SLURM_CONF" || { echo "local.sh: slurmctld did not start (see $dir/slurmctld.log)" >&2; exit 1; }
slurmd -f "$SLURM_CONF" || { echo "local.sh: slurmd did not start (see $dir/slurmd.log)" >&2; exit 1; }
for i in $(seq 60); do
  state=$(sinfo -h -N -o %t 2> /dev/null | head -1)
  [[ $state == idle* ]] && break
  sleep 1
done
if [[ $state != idle* ]]; then
  echo "local.sh: the node did not come up (state '${state:-none}'); the logs:" >&2
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2
  exit 1
fi
echo "local.sh: Slurm up: $(sinfo -h -o '%P %D node(s) %C cpus (A/I/O/T) %t')"
"$(dirname "$0")/submit.sh" --wait "$@"
