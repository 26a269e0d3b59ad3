#!/usr/bin/env bash
# readme-keys.sh - regenerate README.md's table of configuration keys from
# `saccade config --doc` (run after adding or changing a key).
#   scripts/readme-keys.sh [path/to/saccade]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/build/saccade}
[ -x "$BIN" ] || { echo "readme-keys.sh: $BIN not built" >&2; exit 1; }
table=$("$BIN" config --doc)
tmp=$(mktemp "$ROOT/README.md.XXXXXX")
awk -v table="$table" '
  /<!-- config-keys -->/ { print; print table; skip = 1; next }
  /<!-- \/config-keys -->/ { skip = 0 }
  !skip { print }
' "$ROOT/README.md" > "$tmp"
mv "$tmp" "$ROOT/README.md"
