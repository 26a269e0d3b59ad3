#!/usr/bin/env bash
# config-doc.sh - regenerate docs/config.md's table of configuration keys from
# `saccade config --doc` (run after adding or changing a key; tests/test_train.c
# checks that the two agree).
#   scripts/config-doc.sh [path/to/saccade]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/build/saccade}
DOC=$ROOT/docs/config.md
[ -x "$BIN" ] || { echo "config-doc.sh: $BIN not built" >&2; exit 1; }
table=$("$BIN" config --doc)
tmp=$(mktemp "$DOC.XXXXXX")
awk -v table="$table" '
  /<!-- config-keys -->/ { print; print table; skip = 1; next }
  /<!-- \/config-keys -->/ { skip = 0 }
  !skip { print }
' "$DOC" > "$tmp"
mv "$tmp" "$DOC"
