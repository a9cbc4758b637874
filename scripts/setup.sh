#!/usr/bin/env bash
# One-time, idempotent set-up for lam on Debian: system packages, libtorch from
# the PyPI torch wheel, and the DeepMind Control Suite model files.
# Everything goes into .deps/ (git-ignored) except the apt packages.
#
#   scripts/setup.sh          CPU build (default; ~600 MB of libtorch)
#   LAM_CUDA=1 scripts/setup.sh   full CUDA libtorch (torch wheel + its NVIDIA wheels, ~3 GB)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/.deps"
TORCH_VERSION=2.13.0
DM_CONTROL_VERSION=1.0.21
# libtorch_cpu.so of the CUDA-13 wheel links libcudart.so.13 and libcupti.so.13;
# these pins are the versions torch 2.13.0's cuda-toolkit==13.0.3 asks for.
CUDART_SPEC="nvidia-cuda-runtime==13.0.96.*"
CUPTI_SPEC="nvidia-cuda-cupti==13.0.85.*"
STAMP="$DEPS/.setup-done-v4${LAM_CUDA:+-cuda}"

if [ -f "$STAMP" ]; then
  exit 0
fi
mkdir -p "$DEPS/wheels"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. Debian packages -----------------------------------------------------------
need_apt=()
for pkg in libmujoco-dev libhdf5-dev pkg-config fonts-dejavu-core python3 python3-pip ca-certificates; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# python3/pip may come from elsewhere (pyenv); only ask apt when missing.
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  need_apt=("${need_apt[@]/python3-pip}"); need_apt=("${need_apt[@]/python3}")
fi
need_apt=($(printf '%s\n' "${need_apt[@]}" | grep -v '^$' || true))
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
PY=python3

# 2. libtorch -----------------------------------------------------------------
fetch_wheel() { # spec
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$DEPS/wheels" "$1"
}
if [ -n "${LAM_CUDA:-}" ]; then
  say "installing torch==$TORCH_VERSION with its CUDA wheels into .deps/python (large)"
  "$PY" -m pip install --quiet --target "$DEPS/python" "torch==$TORCH_VERSION"
  rm -rf "$DEPS/libtorch"
  mkdir -p "$DEPS/libtorch"
  ln -s "$DEPS/python/torch/lib" "$DEPS/libtorch/lib"
  ln -s "$DEPS/python/torch/include" "$DEPS/libtorch/include"
else
  if [ ! -f "$DEPS/libtorch/lib/libtorch_cpu.so" ]; then
    say "downloading torch==$TORCH_VERSION (wheel, no dependencies) and the CUDA runtime it links"
    fetch_wheel "torch==$TORCH_VERSION"
    fetch_wheel "$CUDART_SPEC"
    fetch_wheel "$CUPTI_SPEC"
    say "extracting a CPU libtorch (torch_cpu + c10) into .deps/libtorch"
    "$PY" "$ROOT/scripts/extract_libtorch.py" "$DEPS/wheels" "$DEPS/libtorch" "$TORCH_VERSION"
  fi
fi

# 3. Control Suite model files --------------------------------------------------
if ! (cd "$DEPS/models" 2>/dev/null && sha256sum --quiet -c "$ROOT/scripts/model-files.sha256" >/dev/null 2>&1); then
  say "reading the Control Suite model files out of dm-control==$DM_CONTROL_VERSION"
  fetch_wheel "dm-control==$DM_CONTROL_VERSION"
  "$PY" "$ROOT/scripts/extract_models.py" "$DEPS/wheels/dm_control-$DM_CONTROL_VERSION-py3-none-any.whl" "$DEPS/models"
  (cd "$DEPS/models" && sha256sum --quiet -c "$ROOT/scripts/model-files.sha256") || {
    echo "[setup] model files do not match scripts/model-files.sha256" >&2; exit 1; }
fi

# 4. h5py, only for the test that our files and h5py's read each other -------
if ! PYTHONPATH="$DEPS/python-h5py" "$PY" -c "import h5py" >/dev/null 2>&1; then
  say "installing h5py into .deps/python-h5py (interoperability test)"
  "$PY" -m pip install --quiet --only-binary=:all: --target "$DEPS/python-h5py" "h5py>=3.8,<4" "numpy<3"
fi

# 5. tensorboard, only for the test that TensorBoard reads our event files ----
if ! PYTHONPATH="$DEPS/python-tensorboard" "$PY" -c "import tensorboard" >/dev/null 2>&1; then
  say "installing tensorboard into .deps/python-tensorboard (event-file test)"
  "$PY" -m pip install --quiet --only-binary=:all: --target "$DEPS/python-tensorboard" "tensorboard>=2.14,<3" "numpy<3"
fi

rm -f "$DEPS"/wheels/torch-*.whl  # 500 MB we no longer need
touch "$STAMP"
say "done: libtorch in .deps/libtorch, model files in .deps/models"
