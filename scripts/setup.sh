#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine:
# Debian packages (the C toolchain, ffmpeg for staa explain; gcc brings AddressSanitizer for the C
# example's leak checks), the Python packages, the ONNX Runtime library and
# the Go modules. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v gcc >/dev/null || need_apt+=(gcc)
command -v g++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

PYTHON=${PYTHON:-python3}
# Python's headers, for the package's C extension (staa._fastcall, make pyext):
# Debian's python3 needs python3-dev; a python.org or pyenv build has them.
if ! "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  echo "setup: apt-get install python3-dev"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-dev
fi
# torch from PyPI is the CUDA build (several GB): install it only when missing.
missing=()
for mod in numpy pyarrow PIL pytest torch transformers onnx onnxruntime onnxscript; do
  "$PYTHON" -c "import $mod" 2>/dev/null || missing+=("$mod")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=()
  for mod in "${missing[@]}"; do
    case $mod in
      PIL) pkgs+=(pillow) ;;
      *) pkgs+=("$mod") ;;
    esac
  done
  echo "setup: pip install ${pkgs[*]}"
  "$PYTHON" -m pip install -q "${pkgs[@]}"
fi

go mod download
bash scripts/install_onnxruntime.sh >/dev/null
echo "setup: done"
