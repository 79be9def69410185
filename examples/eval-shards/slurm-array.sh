#!/bin/bash
# Slurm job array: one array task per shard, then a dependent job merges them.
#
#   sbatch --array=1-8 examples/eval-shards/slurm-array.sh ade150 8
#   sbatch --dependency=afterok:<array job id> --wrap \
#     'sedseg eval merge results/ade150-shard-*-of-8.json --out results/ade150.json'
#
# SLURM_ARRAY_TASK_ID is the 1-based shard index (the array is 1-N). A task that is preempted
# or requeued (--requeue) continues from its state folder: results/<name>.state/ must be on a
# filesystem every node sees.
#SBATCH --job-name=sedseg-eval
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=logs/%x-%A_%a.out
set -euo pipefail
dataset=$1
n=$2
shift 2
mkdir -p results
export DETECTRON2_DATASETS=${DETECTRON2_DATASETS:-/shared/datasets}
srun sedseg eval --dataset "$dataset" --weights "${SEDSEG_WEIGHTS:-sed-b}" \
  --shard "${SLURM_ARRAY_TASK_ID}/${n}" --threads "${SLURM_CPUS_PER_TASK}" \
  --out "results/${dataset}-shard-${SLURM_ARRAY_TASK_ID}-of-${n}.json" "$@"
