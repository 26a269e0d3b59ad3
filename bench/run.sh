#!/usr/bin/env bash
# bench/run.sh - saccade's whole benchmark, as README's "Speed" section shows it.
#
#     bench/run.sh [BUILD_DIR] [--quick]        (default build; run from anywhere)
#
#   1. bench_train: the machine, sgemm GFLOP/s at a few shapes and 1024^3 (1 and
#      2 threads), then per experiments/*.ini, each as its own model kind (ram,
#      soft, selfattn, fc): training images/s, GFLOP/s, fraction of the model's
#      sgemm ceiling and of the 1024^3 sgemm, inference images/s and peak RSS
#      with one thread, two OpenBLAS threads and sc_model_set_threads(m, 2)
#      (two data-parallel workers where the kind has them; the row says); the
#      split of a training step (data, forward, backward, optimizer; the RAM's
#      forward also in parts);
#   2. the PyTorch agreement check (bench/ram_torch.py check) on one dumped step
#      of the MNIST RAM, with one worker and with two;
#   3. PyTorch's training and inference speed on the same model and machine
#      (torch defaults; 2 threads with OMP_WAIT_POLICY=PASSIVE), and the ratios.
# It runs with the OpenBLAS kernels of the environment: OPENBLAS_CORETYPE as
# set, or `env -u OPENBLAS_CORETYPE bench/run.sh` for the ones OpenBLAS picks.
# PyTorch is Debian's python3-torch (with python3-h5py), only needed here.
# --quick: shorter timings and only the 28x28 MNIST experiment of each kind
# (quick.ini, soft_mnist.ini, selfattn_mnist.ini, fc_mnist.ini): a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
time_s=2
configs=(experiments/*.ini)
for a in "$@"; do
    case "$a" in
    --quick) time_s=0.5 ;;
    -*) echo "bench/run.sh: unknown option $a" >&2; exit 2 ;;
    *) build=$a ;;
    esac
done
# the paper's MNIST model (ReLU RNN core): quick.ini's (mnist_ram6.ini now has an LSTM core)
mnist=experiments/quick.ini
for a in "$@"; do
    [ "$a" = --quick ] && configs=("$mnist" experiments/soft_mnist.ini experiments/selfattn_mnist.ini experiments/fc_mnist.ini)
done
py=/usr/bin/python3
[ -x "$build/bench_train" ] || { echo "bench/run.sh: no $build/bench_train; build first (cmake --build $build)" >&2; exit 1; }
$py -c 'import torch, h5py' 2>/dev/null || { echo "bench/run.sh: needs Debian's python3-torch and python3-h5py (apt-get install python3-torch python3-h5py)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# bench/run.sh $*: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
"$build/bench_train" --time "$time_s" --tsv "$out/c.tsv" "${configs[@]}"

echo
echo "## agreement with PyTorch (one training step of $(basename "$mnist") after 20 steps, identical weights, inputs and locations)"
for w in 1 2; do
    echo
    "$build/bench_train" --dump "$out/ref$w.h5" --workers "$w" "$mnist" | sed 's/^/# /'
    echo "# saccade with $w worker(s):"
    $py bench/ram_torch.py check "$out/ref$w.h5"
done

echo
echo "## PyTorch on the same machine (the same model: bench/ram_torch.py)"
echo
$py bench/ram_torch.py time --seconds $((${time_s%.*} * 2 + 1)) --tsv "$out/t1.tsv"
OMP_WAIT_POLICY=PASSIVE $py bench/ram_torch.py time --threads 2 --seconds $((${time_s%.*} * 2 + 1)) --tsv "$out/t2.tsv"
OMP_WAIT_POLICY=PASSIVE $py bench/ram_torch.py time --threads 2 --retina loop --seconds $((${time_s%.*} * 2 + 1)) --tsv "$out/t3.tsv"
$py bench/ram_torch.py table "$out/c.tsv" "$out/t1.tsv" "$out/t2.tsv" "$out/t3.tsv" --config "$(basename "$mnist")"
echo
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
