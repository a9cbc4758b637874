#!/usr/bin/env bash
# Renders each task with its published expert and puts our frames beside the
# reference frames of ../shared/reference/frames (MuJoCo's OpenGL renderer):
# docs/render/<task>.png = [ours 64 px | reference 64 px | ours 256 px].
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${LAM_SHARED_DIR:-../shared}
cargo build --release -q -p lam -p lam-env --example beside
mkdir -p docs/render
tmp=$(mktemp -d)
expert_of() {
  case $1 in
    humanoid-walk) echo "$shared/reference/experts/humanoid-walk/sac-humanoid-walk.zip" ;;
    *) echo "$shared/reference/experts/$1/checkpoint.pt" ;;
  esac
}
for task in cheetah-run walker-run hopper-hop humanoid-walk; do
  expert=$(expert_of "$task")
  ./target/release/lam render --task "$task" --expert "$expert" --steps 40 --size 64 --zoom 1 \
    --strip-frames 1 --out "$tmp/$task-64.png"
  ./target/release/lam render --task "$task" --expert "$expert" --steps 40 --size 256 --zoom 1 \
    --strip-frames 1 --out "$tmp/$task-256.png"
  ./target/release/examples/beside "docs/render/$task.png" "$tmp/$task-64.png" \
    "$shared/reference/frames/$task-mujoco-gl-64px.png" "$tmp/$task-256.png"
done
for preset in scale_easy_video_hard hard; do
  ./target/release/lam render --task cheetah-run --expert "$(expert_of cheetah-run)" --preset "$preset" \
    --steps 200 --zoom 2 --strip-frames 8 --out "docs/render/cheetah-run-$preset.png"
done
./target/release/lam render --task walker-run --expert "$(expert_of walker-run)" \
  --preset scale_easy_video_hard --steps 100 --zoom 3 --out docs/render/walker-run-scale_easy_video_hard.gif
rm -rf "$tmp"
