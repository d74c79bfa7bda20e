#!/usr/bin/env bash
# Do two git revisions train the same? Runs each revision's vision CLI on the tfjs `cpu` backend (stock kernels, the
# same on every revision and deterministic) for a few single-step epochs of one configuration and compares the train
# loss of every step at full precision. Identical losses mean the two revisions compute the same training (data
# order, augmentation, label noise, initialisation, the SAM/ASAM step, momentum, weight decay); a run on the wasm
# kernels differs only by the kernels' rounding.
#
#   benchmarks/scripts/same-training-across-revisions.sh <rev-a> <rev-b> <steps> -- <vision CLI flags>
#   e.g. ... 9d2de9c main 3 -- --model resnet20 --optimizer asam --rho 0.5 --label-noise 0.4 --seed 0 --train-limit 4000
#
# Needs ASAM_DATA_DIR (CIFAR-10), git and pnpm; works in temporary worktrees and leaves this checkout alone. The
# flags must exist in both revisions' CLI (--max-steps-per-epoch, --backend and --epochs are added here). Each step
# takes about a minute on the cpu backend. Exit 0: identical; 1: they differ (first differing step printed).
set -euo pipefail

usage() { echo "usage: $0 <rev-a> <rev-b> <steps> -- <vision CLI flags>" >&2; exit 2; }
[[ $# -ge 4 && $4 == -- ]] || usage
rev_a=$1 rev_b=$2 steps=$3
shift 4
[[ $steps =~ ^[1-9][0-9]*$ ]] || { echo "steps: '$steps' is not a positive whole number; give e.g. 3" >&2; exit 2; }
[[ -n ${ASAM_DATA_DIR:-} ]] || { echo "ASAM_DATA_DIR is not set; point it at the folder holding cifar-10-batches-bin" >&2; exit 2; }
repo=$(git rev-parse --show-toplevel)
for r in "$rev_a" "$rev_b"; do
  git -C "$repo" rev-parse --verify --quiet "$r^{commit}" >/dev/null || { echo "revision '$r' is not a commit of $repo; give a hash or branch" >&2; exit 2; }
done

work=$(mktemp -d)
cleanup() {
  for d in "$work"/tree-*; do [[ -d $d ]] && git -C "$repo" worktree remove --force "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

losses() { # prints one train loss per line, read from the run's metrics.csv by its header
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "train_loss") c = i; next } { print $c }' "$1/metrics.csv"
}

for side in a b; do
  rev=$([[ $side == a ]] && echo "$rev_a" || echo "$rev_b")
  tree="$work/tree-$side"
  git -C "$repo" worktree add --detach --quiet "$tree" "$rev"
  (cd "$tree" && pnpm install --frozen-lockfile --prefer-offline >"$work/install-$side.log" 2>&1) \
    || { echo "pnpm install failed at $rev; its log follows" >&2; cat "$work/install-$side.log" >&2; exit 2; }
  echo "[revisions] $side = $(git -C "$repo" rev-parse --short "$rev"): $steps step(s) on the cpu backend…"
  (cd "$tree" && node --import tsx packages/vision/src/cli.ts --backend cpu --epochs "$steps" --max-steps-per-epoch 1 \
    --test-limit 10 --out "$work/run-$side" "$@" >"$work/train-$side.log" 2>&1) \
    || { echo "training failed at $rev:" >&2; tail -n 5 "$work/train-$side.log" >&2; exit 2; }
  losses "$work/run-$side" >"$work/loss-$side"
done

paste -d' ' "$work/loss-a" "$work/loss-b" | awk -v a="$rev_a" -v b="$rev_b" '
  BEGIN { printf "step  %-22s %-22s\n", a, b }
  { printf "%4d  %-22s %-22s%s\n", NR, $1, $2, ($1 == $2 ? "" : "  differs"); if ($1 != $2 && !first) first = NR }
  END {
    if (first) { printf "the two revisions train differently from step %d on\n", first; exit 1 }
    printf "identical train loss at every step: the two revisions train the same\n"
  }'
