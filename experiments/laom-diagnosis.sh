#!/usr/bin/env bash
# Why does plain LAOM not beat LAPO at mini scale? One seed, cheetah-run
# under scale_easy_video_hard, 32 x 1000 training steps collected with the
# shipped expert, 4 held-out trajectories on the val split's backgrounds,
# 4 labeled trajectories; every run 2000 steps of its -mini preset (plus
# the overrides named), then `lam probe` (closed-form ridge, fitted on the
# training file, scored on the held-out one). Results: docs/results/laom-mini-diagnosis.md.
#
#   experiments/laom-diagnosis.sh [OUT]      (default runs/diag; finished runs are kept)
# Each run is `NAME PRESET [KEY=VALUE ...]`; pass your own as extra arguments.
set -u
cd "$(dirname "$0")/.."
L=./target/release/lam
OUT=${1:-runs/diag}; shift || true
D=$OUT/data
mkdir -p "$D"
E=experts/cheetah-run/actor.safetensors
[ -f $D/train.hdf5 ] || $L collect --task cheetah-run --preset scale_easy_video_hard --expert $E --trajectories 32 --seed 0 --out $D/train.hdf5
[ -f $D/val.hdf5 ] || $L collect --task cheetah-run --preset scale_easy_video_hard --expert $E --trajectories 4 --seed 1000 --split val --out $D/val.hdf5
[ -f $D/lab4.hdf5 ] || $L data sample-labeled $D/train.hdf5 --trajectories 4 --out $D/lab4.hdf5
run() { # NAME PRESET [KEY=VALUE ...]
  local name=$1 preset=$2; shift 2
  local sets=(); for s in "$@"; do sets+=(--set "$s"); done
  if [ ! -f $OUT/$name/summary.json ]; then
    local lab=(); [[ $preset == laom-labels* ]] && lab=(--labeled $D/lab4.hdf5)
    $L train --preset $preset --data $D/train.hdf5 --eval-data $D/val.hdf5 "${lab[@]}" --out $OUT/$name "${sets[@]}" > $OUT/$name.log 2>&1 || { echo "$name failed (see $OUT/$name.log)"; return; }
  fi
  [ -f $OUT/$name.probe.txt ] || $L probe --run $OUT/$name --data $D/train.hdf5 --eval-data $D/val.hdf5 > $OUT/$name.probe.txt 2>&1
  echo "== $name: $(grep 'latent action' $OUT/$name.probe.txt)"
}
if [ $# -eq 0 ]; then
  set -- "lapo lapo-mini" "lapo-k10-256 lapo-latent-dim-mini" "laom laom-mini" \
    "laom-strong laom-mini train.augmentation.shift=0.21875 train.augmentation.perspective=0.5 train.augmentation.border=true" \
    "laom-strong-h3 laom-mini train.augmentation.shift=0.21875 train.augmentation.perspective=0.5 train.augmentation.border=true model.head_blocks=3" \
    "laom-tau001 laom-mini model.tau=0.001" "laom-lr1e4 laom-mini train.lr=1e-4" "laom-labels laom-labels-mini"
fi
for spec in "$@"; do eval "run $spec"; done
