#!/usr/bin/env bash
# scripts/fuzz-corpus.sh [TARGET...] - seed corpora for the fuzz harnesses (tests/fuzz/),
# made from real inputs into build-fuzz/corpus/TARGET/ (all targets when none is named):
#   fuzz_idx     the MNIST files of data/mnist (Fashion-MNIST's when it is absent), cut to their header and first items (raw,
#                gzipped, with the header's count kept (truncated) or set to the items kept),
#                alone and as image/label pairs and dataset folders (the harness's mode byte first)
#   fuzz_config  every shipped experiments/*.ini, and --set lines as the README uses them
#   fuzz_runlog, fuzz_ckpt, fuzz_vlog
#                recipes (tests/fuzz/fuzz_h5.h) over the harness's real templates: each
#                template unmutated (an all-zero recipe) with each flag, and one recipe per
#                mutation kind
# SACCADE_FUZZ_BUILD overrides the build folder. Existing corpus folders are replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${SACCADE_FUZZ_BUILD:-build-fuzz}
ALL="fuzz_idx fuzz_config fuzz_runlog fuzz_ckpt fuzz_vlog"
targets=${*:-$ALL}
# the IDX seeds: MNIST (scripts/setup.sh), else Debian's Fashion-MNIST (the same four file names, gzipped;
# installed by scripts/setup.sh --deps-only, so CI has it)
MNIST=data/mnist
[ -f "$MNIST/train-labels-idx1-ubyte" ] || [ -f "$MNIST/train-labels-idx1-ubyte.gz" ] ||
  MNIST=/usr/share/datasets/fashion-mnist

# bytes HEX... -> raw bytes on stdout ("0c 00" -> \x0c\x00)
bytes() { local h; for h in "$@"; do printf "\\x$h"; done; }
# be32 N -> 4 big-endian bytes
be32() { bytes "$(printf %02x $(( ($1 >> 24) & 255 )))" "$(printf %02x $(( ($1 >> 16) & 255 )))" \
               "$(printf %02x $(( ($1 >> 8) & 255 )))" "$(printf %02x $(( $1 & 255 )))"; }
fnv1a() { local h=2166136261 b; for b in "$@"; do h=$(( ((h ^ 16#$b) * 16777619) & 0xffffffff )); done; echo $h; }
be16() { bytes "$(printf %02x $(( ($1 >> 8) & 255 )))" "$(printf %02x $(( $1 & 255 )))"; }

# mnist_file NAME K MODE -> NAME's header and first K items on stdout: MODE keep = the header's
# count unchanged (a truncated file), fix = the count set to K (a consistent file)
mnist_file() {
  local f=$MNIST/$1 k=$2 mode=$3 hdr item
  [ -f "$f" ] || f=$f.gz
  case $1 in *images*) hdr=16 item=784 ;; *) hdr=8 item=1 ;; esac
  # (zcat || true): head closes the pipe early, and pipefail would count that as a failure
  if [ "$mode" = fix ]; then
    (zcat -f "$f" || true) | head -c 4
    be32 "$k"
    (zcat -f "$f" || true) | head -c $(( hdr + k * item )) | tail -c +9
  else
    (zcat -f "$f" || true) | head -c $(( hdr + k * item ))
  fi
}

corpus_idx() {
  local d=$1 n=0 tmp
  tmp=$(mktemp -d)
  for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$MNIST/$name" ] || [ -f "$MNIST/$name.gz" ] || { echo "fuzz-corpus: $MNIST/$name missing (scripts/setup.sh)" >&2; exit 1; }
    case $name in *images*) rank=03 ;; *) rank=01 ;; esac
    for k in 1 3; do
      for mode in keep fix; do
        mnist_file $name $k $mode > "$tmp/f"
        { bytes 00 $rank; cat "$tmp/f"; } > "$d/$name-$k-$mode"              # raw, its rank
        { bytes 04 00; cat "$tmp/f"; } > "$d/$name-$k-$mode-gzip"            # gzipped by the harness, any rank
        { bytes 00 00; gzip -9cn < "$tmp/f"; } > "$d/$name-$k-$mode.gz"      # a real .gz file
      done
    done
  done
  # image/label pairs (mode 1, 10 classes) and dataset folders (mode 2, 1 validation image)
  for k in 1 3; do
    mnist_file train-images-idx3-ubyte $k fix > "$tmp/i"
    mnist_file train-labels-idx1-ubyte $k fix > "$tmp/l"
    local ni
    ni=$(stat -c %s "$tmp/i")
    for head in "01 09" "0d 09" "02 01" "0e 01"; do
      # shellcheck disable=SC2086
      { bytes $head; be16 "$ni"; cat "$tmp/i" "$tmp/l"; } > "$d/pair-$k-${head// /}"
    done
  done
  rm -rf "$tmp"
}

corpus_config() {
  local d=$1
  for f in experiments/*.ini; do { bytes 00; cat "$f"; } > "$d/$(basename "$f")"; done
  { bytes 01; printf 'train.epochs=1\ndata.max_train=500\nmodel.kind=soft\ntrain.lr=0.003\ndata.data_dir=/tmp/x'; } > "$d/set-lines"
  { bytes 01; printf 'log.glimpse_images=64\ntrain.seed=18446744073709551615\nmodel.loc_std=1e-3'; } > "$d/set-lines-2"
}

# corpus_h5 DIR NHEAD NTEMPLATES: all-zero recipes for header values 0..31 and 0xe4.., and one record of each
# mutation kind (ops 1..8) on a few targets of each template
corpus_h5() {
  local d=$1 nhead=$2 nt=$3
  local h b1 x rec
  for h in $(seq 0 31) 228 229 230 236 252; do
    b1=00
    [ "$h" -ge 228 ] && b1=03
    { bytes "$(printf %02x "$h")"; [ "$nhead" = 2 ] && bytes $b1; bytes 00 00 00 00 00; } > "$d/zero-$h"
    # 0xe4 and up, byte 1 ending 11, an FNV-1a hash of 0 modulo 16: fuzz_runlog also plots; a second
    # record that does nothing (op 0) whose second byte makes the hash
    if [ "$h" -ge 228 ] && [ "$nhead" = 2 ]; then
      for x in $(seq 0 255); do
        rec="$(printf %02x "$h") 03 00 00 00 00 00 00 $(printf %02x "$x") 00 00 00"
        # shellcheck disable=SC2086
        if [ $(( $(fnv1a $rec) % 16 )) = 0 ]; then bytes $rec > "$d/plot-$h"; break; fi
      done
    fi
  done
  for t in $(seq 0 $(( nt - 1 ))); do
    for op in 1 2 3 4 5 6 7 8; do
      for tgt in 1 7 40 90; do
        local head
        head=$(printf %02x "$t")
        { bytes "$head"; [ "$nhead" = 2 ] && bytes 05; bytes 0$op 00 "$(printf %02x $tgt)" "$(printf %02x $(( op * 13 % 256 )))" 0b; } \
          > "$d/op$op-t$t-$tgt"
      done
    done
  done
}

for t in $targets; do
  d=$B/corpus/$t
  rm -rf "$d"
  mkdir -p "$d"
  case $t in
    fuzz_idx) corpus_idx "$d" ;;
    fuzz_config) corpus_config "$d" ;;
    fuzz_runlog|fuzz_vlog) corpus_h5 "$d" 2 4 ;;  # 4 templates (tests/fuzz/fuzz_templates.h)
    fuzz_ckpt) corpus_h5 "$d" 1 3 ;;
    *) echo "fuzz-corpus: unknown target '$t' (expected one of: $ALL)" >&2; exit 2 ;;
  esac
  echo "fuzz-corpus: $d: $(find "$d" -type f | wc -l) inputs, $(du -sk "$d" | cut -f1) KB"
done
