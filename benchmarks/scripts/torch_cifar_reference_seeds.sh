#!/usr/bin/env bash
# The PyTorch reference runs of the clean recipe for the given seeds, each seed's three methods in order (SGD, SAM
# ρ 0.05, ASAM ρ 0.5), resumable: finished runs (their JSON in benchmarks/results/cpu/torch-reference/) are skipped, and
# an unfinished one continues from its checkpoint in benchmarks/results/cpu/torch-reference/work/ (commit it at the end
# of a session so the next one continues). Needs Debian's python3-torch and the CIFAR-10 binaries under $ASAM_DATA_DIR.
#   ASAM_DATA_DIR=… bash benchmarks/scripts/torch_cifar_reference_seeds.sh 1 2
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${ASAM_DATA_DIR:?set ASAM_DATA_DIR to the dataset root (it holds cifar-10-batches-bin/)}"
[ "$#" -gt 0 ] || { echo "usage: $0 SEED [SEED...]" >&2; exit 2; }
out=benchmarks/results/cpu/torch-reference
for seed in "$@"; do
  for run in sgd:sgd-seed$seed sam:sam-rho0.05-seed$seed asam:asam-rho0.5-seed$seed; do
    method=${run%%:*}; file=$out/${run#*:}.json
    [ -e "$file" ] && { echo "[torch-ref] $file exists: skipped"; continue; }
    /usr/bin/python3 benchmarks/scripts/torch_cifar_reference.py --data "$ASAM_DATA_DIR/cifar-10-batches-bin" \
      --method "$method" --seed "$seed" --out "$file" --work "$out/work"
  done
done
