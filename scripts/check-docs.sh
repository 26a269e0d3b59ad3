#!/usr/bin/env bash
# check-docs.sh - the documents still match the program and the tree:
#   1. every relative link in README.md and docs/*.md names a file that exists,
#      and every #anchor a heading of that file (GitHub's heading slugs);
#   2. every `build/saccade ...` command they show (in code blocks and inline
#      code, after any `env ...` or `mpirun ...` prefix) names a command saccade
#      has, every experiments/*.ini it names exists, and every --set and --grid
#      value is accepted by `saccade config` on that config.
#   scripts/check-docs.sh [path/to/saccade]     (run by ctest as check_docs)
# Prints one line per problem, naming file:line; exit status 1 if any.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/build/saccade}
[ -x "$BIN" ] || { echo "check-docs.sh: $BIN not built" >&2; exit 1; }
cd "$ROOT" || exit 1
DOCS=(README.md docs/*.md)
bad=0
problem() { echo "check-docs: $*"; bad=1; }

# GitHub's anchor of a heading: lower case, punctuation dropped (but - and _), spaces to -.
slugs() {
  grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# ---- 1. links
for f in "${DOCS[@]}"; do
  dir=$(dirname "$f")
  while IFS=: read -r line link; do
    target=${link%%#*}
    anchor=
    [[ $link == *#* ]] && anchor=${link#*#}
    case $target in http://*|https://*|mailto:*) continue ;; esac
    if [ -n "$target" ]; then
      path=$dir/$target
      [ -e "$path" ] || { problem "$f:$line: link to $target: no such file"; continue; }
    else
      path=$f
    fi
    if [ -n "$anchor" ] && [[ $path == *.md ]] && ! slugs "$path" | grep -qxF -- "$anchor"; then
      problem "$f:$line: link to $link: $path has no heading with that anchor"
    fi
  done < <(grep -noE '\]\([^) ]+\)' "$f" | sed -E 's/^([0-9]+):\]\((.*)\)$/\1:\2/')
done

# ---- 2. commands
commands=" train sweep eval compare view plot config data help --version "
check_command() {  # file:line and the command from build/saccade on
  local where=$1 cmd=$2
  read -r -a w <<< "$cmd"
  local sub=${w[1]:-}
  [[ $commands == *" $sub "* ]] || { problem "$where: '$cmd': saccade has no command '$sub'"; return; }
  local config= i
  for ((i = 2; i < ${#w[@]}; i++)); do
    if [[ ${w[i]} == experiments/*.ini ]]; then
      [ -f "${w[i]}" ] || problem "$where: '$cmd': ${w[i]} does not exist"
      [ -z "$config" ] && config=${w[i]}
    fi
  done
  for ((i = 2; i + 1 < ${#w[@]}; i++)); do
    local opt=${w[i]} val=${w[i + 1]}
    [[ $opt == --set || ($opt == --grid && $sub == sweep) ]] || continue
    local sets=()
    if [[ $opt == --set ]]; then
      sets=("$val")
    else
      local key=${val%%=*} v
      IFS=, read -r -a vs <<< "${val#*=}"
      for v in "${vs[@]}"; do sets+=("$key=$v"); done
    fi
    local s out
    for s in "${sets[@]}"; do
      if [ -n "$config" ] && [ -f "$config" ]; then
        out=$("$BIN" config "$config" --set "$s" 2>&1 >/dev/null)
      else
        out=$("$BIN" config --set "$s" 2>&1 >/dev/null)
      fi
      [ $? -eq 0 ] || problem "$where: '$cmd': $(grep -v 'restarting with OPENBLAS_CORETYPE' <<< "$out")"
    done
  done
}

for f in "${DOCS[@]}"; do
  # code-block lines (continuations joined) and inline code spans holding build/saccade
  while IFS=$'\t' read -r line cmd; do
    check_command "$f:$line" "$cmd"
  done < <(awk '
    /^```/ { inblock = !inblock; next }
    {
      text = $0
      if (inblock) {
        if (cont != "") { text = cont " " text; ln = cln } else ln = NR
        if (text ~ /\\$/) { cont = substr(text, 1, length(text) - 1); cln = ln; next }
        cont = ""
        sub(/[ \t]+#.*$/, "", text)
        i = index(text, "build/saccade ")
        if (i) print ln "\t" substr(text, i)
      } else {
        while (match(text, /`[^`]*build\/saccade [^`]*`/)) {
          span = substr(text, RSTART + 1, RLENGTH - 2)
          text = substr(text, RSTART + RLENGTH)
          print NR "\t" substr(span, index(span, "build/saccade "))
        }
      }
    }' "$f")
done

[ $bad -eq 0 ] && echo "check-docs: ${#DOCS[@]} documents: links and commands OK"
exit $bad
