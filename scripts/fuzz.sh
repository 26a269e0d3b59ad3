#!/usr/bin/env bash
# scripts/fuzz.sh TARGET|all SECONDS [LIBFUZZER_OPTION...] - fuzz saccade's readers.
#
# Builds the libFuzzer harnesses (tests/fuzz/) with clang, ASan and UBSan in build-fuzz/ (configured
# on first use; SACCADE_FUZZ_BUILD names another folder, CLANG another compiler), makes the seed
# corpus if it is missing (scripts/fuzz-corpus.sh), replays the kept crash inputs of
# tests/fuzz/regress/TARGET/, then fuzzes TARGET for SECONDS under nice -n 19, one process:
# -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048 (and -max_len=42, 41 for fuzz_ckpt, for
# the HDF5 recipes), and any further options given (e.g. -runs=N). A crash, leak, timeout or
# out-of-memory input is kept in build-fuzz/crashes/TARGET/ and the script exits non-zero;
# libFuzzer's log is build-fuzz/logs/TARGET.log. Prints the executions run per target. `all` runs
# every target in turn.
#
# Targets: fuzz_idx fuzz_config fuzz_runlog fuzz_ckpt fuzz_vlog
set -euo pipefail
cd "$(dirname "$0")/.."
ALL="fuzz_idx fuzz_config fuzz_runlog fuzz_ckpt fuzz_vlog"
usage() { echo "usage: scripts/fuzz.sh TARGET|all SECONDS [LIBFUZZER_OPTION...]  (targets: $ALL)" >&2; exit 2; }
[ $# -ge 2 ] || usage
what=$1 secs=$2
shift 2
case $secs in ''|*[!0-9]*) usage ;; esac
if [ "$what" = all ]; then targets=$ALL; else
  case " $ALL " in *" $what "*) targets=$what ;; *) usage ;; esac
fi
B=${SACCADE_FUZZ_BUILD:-build-fuzz}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || { echo "fuzz.sh: $CLANG not found (apt-get install clang)" >&2; exit 1; }

if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -DCMAKE_C_COMPILER="$CLANG" -DSACCADE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSACCADE_BUILD_TESTS=OFF -DSACCADE_WITH_MPI=OFF >/dev/null
fi
# shellcheck disable=SC2086
nice -n 19 cmake --build "$B" -j"$(nproc)" --target $targets >"$B/build.log" 2>&1 || {
  tail -30 "$B/build.log" >&2; echo "fuzz.sh: the fuzz build failed (log: $B/build.log)" >&2; exit 1; }

# A quarantine of 8 MB (256 by default), 8-frame allocation stacks and no giving memory back to the
# OS: HDF5 allocates and frees small blocks by the thousand per input, and with ASan's defaults
# fuzz_runlog ran 115 executions/s against 149 with these (60 s each from the same corpus). A use
# after free is still caught while the block is among the last 8 MB freed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=8:malloc_context_size=8:release_to_os_interval_ms=-1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
mkdir -p "$B/logs"
status=0
for t in $targets; do
  [ -d "$B/corpus/$t" ] || SACCADE_FUZZ_BUILD=$B scripts/fuzz-corpus.sh "$t" >/dev/null
  crashes=$B/crashes/$t
  mkdir -p "$crashes"
  log=$B/logs/$t.log
  # the kept crash inputs first: each must now pass
  mapfile -t regress < <(find "tests/fuzz/regress/$t" -type f ! -name '.*' 2>/dev/null | sort)
  if [ ${#regress[@]} -gt 0 ]; then
    if ! nice -n 19 "$B/$t" -timeout=10 -rss_limit_mb=2048 "${regress[@]}" >"$log" 2>&1; then
      tail -40 "$log" >&2
      echo "fuzz.sh: $t: a kept regression input of tests/fuzz/regress/$t fails again (log: $log)" >&2
      status=1
      continue
    fi
  fi
  # the HDF5 recipes read a header and at most 8 records of 5 bytes (tests/fuzz/fuzz_h5.h): longer
  # inputs only give libFuzzer bytes to mutate that nothing reads
  case $t in
    fuzz_runlog|fuzz_vlog) maxlen=(-max_len=42) ;;
    fuzz_ckpt) maxlen=(-max_len=41) ;;
    *) maxlen=() ;;
  esac
  start=$(date +%s)
  rc=0
  nice -n 19 "$B/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$crashes/" "${maxlen[@]}" "$@" "$B/corpus/$t" >>"$log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 72 ] && grep -q 'libFuzzer: run interrupted' "$log"; then
    # libFuzzer's exit code for SIGINT/SIGTERM (-interrupted_exitcode): stopped, not a finding
    echo "fuzz.sh: $t: interrupted after ${took} s: ${execs:-?} executions (${rate:-?}/s), nothing found before" >&2
    status=1
  elif [ $rc -ne 0 ]; then
    grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|^fuzz: |ALARM|out-of-memory|Test unit written' "$log" | head -12 >&2 || true
    echo "fuzz.sh: $t: FOUND a crash, leak or timeout after ${took} s (exit $rc; input kept in $crashes/, log: $log)" >&2
    status=1
  else
    echo "fuzz.sh: $t: ${execs:-?} executions in ${took} s (${rate:-?}/s), ${#regress[@]} regression input(s) replayed, nothing found"
  fi
done
exit $status
