#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that the Go runtime package (runtime/)
# loads, into a project-local directory, and prints its path on stdout.
#
#   scripts/install_onnxruntime.sh            # -> build/onnxruntime/libonnxruntime.so.1
#   STAA_ORT_DIR=/opt/ort scripts/install_onnxruntime.sh
#
# Source: the npm package onnxruntime-node (ORT_VERSION, default 1.30.0), fetched
# with `npm pack` and unpacked with tar: only package/bin/napi-v6/linux/<arch>/
# libonnxruntime.so.1 is taken, and the package's install script never runs.
# Without npm, the PyPI onnxruntime wheel of the same version is downloaded with
# pip (no dependencies, nothing installed) and its
# onnxruntime/capi/libonnxruntime.so.* is taken.
#
# Idempotent: does nothing when the library is already there (FORCE=1 to
# reinstall). Messages go to stderr; stdout is the path alone, so that
#   export STAA_ONNXRUNTIME_LIB=$(scripts/install_onnxruntime.sh)
# works. The runtime package finds build/onnxruntime/libonnxruntime.so.1 by
# itself (relative to the module root or the executable), so the variable is
# only needed for another location.
set -euo pipefail

ORT_VERSION=${ORT_VERSION:-1.30.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${STAA_ORT_DIR:-$ROOT/build/onnxruntime}
LIB=$DIR/libonnxruntime.so.1
PYTHON=${PYTHON:-python3}

say() { echo "install_onnxruntime: $*" >&2; }

if [ -s "$LIB" ] && [ "${FORCE:-0}" != 1 ]; then
  say "already installed: $LIB"
  echo "$LIB"
  exit 0
fi

case $(uname -s)/$(uname -m) in
  Linux/x86_64 | Linux/amd64) arch=x64 ;;
  Linux/aarch64 | Linux/arm64) arch=arm64 ;;
  *)
    say "unsupported platform $(uname -s)/$(uname -m): install libonnxruntime >= 1.24 yourself and set STAA_ONNXRUNTIME_LIB"
    exit 1
    ;;
esac

mkdir -p "$DIR"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/staa-ort.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

from_npm() {
  command -v npm >/dev/null || return 1
  command -v tar >/dev/null || return 1
  say "npm pack onnxruntime-node@$ORT_VERSION (the install script is not run)"
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null) || return 1
  local tgz member
  tgz=$(ls "$tmp"/onnxruntime-node-*.tgz 2>/dev/null | head -n1)
  [ -n "$tgz" ] || return 1
  member=package/bin/napi-v6/linux/$arch/libonnxruntime.so.1
  tar -xzf "$tgz" -C "$tmp" "$member" || return 1
  mv "$tmp/$member" "$tmp/libonnxruntime.so.1"
}

from_pypi() {
  command -v "$PYTHON" >/dev/null || return 1
  say "pip download onnxruntime==$ORT_VERSION (wheel only, nothing installed)"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$tmp/wheel" "onnxruntime==$ORT_VERSION" >&2 || return 1
  "$PYTHON" - "$tmp/wheel" "$tmp/libonnxruntime.so.1" <<'EOF' || return 1
import glob, re, shutil, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/onnxruntime-*.whl")
if not wheels:
    sys.exit("no onnxruntime wheel downloaded")
with zipfile.ZipFile(wheels[0]) as z:
    names = [n for n in z.namelist() if re.fullmatch(r"onnxruntime/capi/libonnxruntime\.so(\.[0-9]+)*", n)]
    if not names:
        sys.exit(f"{wheels[0]}: no onnxruntime/capi/libonnxruntime.so.*")
    with z.open(sorted(names, key=len)[-1]) as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
}

if ! from_npm; then
  say "npm route failed or npm missing; trying the PyPI wheel"
  rm -rf "${tmp:?}"/*
  if ! from_pypi; then
    say "could not get libonnxruntime: need npm (onnxruntime-node@$ORT_VERSION) or pip (onnxruntime==$ORT_VERSION)"
    exit 1
  fi
fi

# An ELF shared object, not an error page or a truncated file.
if [ "$(head -c 4 "$tmp/libonnxruntime.so.1" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  say "the extracted file is not an ELF shared library"
  exit 1
fi
chmod 0644 "$tmp/libonnxruntime.so.1"
# Same file system as the target, then an atomic rename: a concurrent run or an
# interrupted one never leaves a half-written library behind.
cp "$tmp/libonnxruntime.so.1" "$LIB.tmp.$$"
mv -f "$LIB.tmp.$$" "$LIB"
say "installed $LIB ($(du -h "$LIB" | cut -f1), ORT $ORT_VERSION)"
echo "$LIB"
