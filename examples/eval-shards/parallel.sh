#!/bin/sh
# Evaluate one benchmark in N shards on one machine with GNU parallel, then merge them.
#
#   examples/eval-shards/parallel.sh DATASET N [sedseg eval options…]
#   e.g. examples/eval-shards/parallel.sh ade150 4 --weights sed-b --root /data --threads 4
#
# Each shard is its own `sedseg eval --shard i/N` process with its own result and resumable
# state (results/DATASET-shard-i-of-N.json and .state/): rerunning the script after an
# interruption continues every shard where it stopped. Give each shard --threads cores/N so the
# shards do not fight over the cores. The merged result equals a single run exactly.
set -eu
dataset=$1
n=$2
shift 2
out=${OUT_DIR:-results}
mkdir -p "$out"
# --halt now,fail=1: one failing shard stops the others (their state is kept for the rerun)
parallel --will-cite --halt now,fail=1 -j "$n" \
  sedseg eval --dataset "$dataset" --shard {}/"$n" --out "$out/$dataset-shard-{}-of-$n.json" "$@" \
  ::: $(seq 1 "$n")
shards=$(seq 1 "$n" | sed "s|.*|$out/$dataset-shard-&-of-$n.json|")
# shellcheck disable=SC2086
sedseg eval merge $shards --out "$out/$dataset.json"
