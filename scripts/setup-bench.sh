#!/usr/bin/env bash
# Installs PyTorch (the same version our libtorch comes from) into
# .deps/python-torch, for the PyTorch side of `lam bench train` only.
# Not needed to build, test or use lam. About 3 GB with its CUDA wheels.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="$ROOT/.deps/python-torch"
TORCH_VERSION=2.13.0
if PYTHONPATH="$TARGET" python3 -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "setup-bench: torch $TORCH_VERSION already in $TARGET"
  exit 0
fi
echo "setup-bench: installing torch==$TORCH_VERSION into $TARGET"
python3 -m pip install --quiet --target "$TARGET" "torch==$TORCH_VERSION"
