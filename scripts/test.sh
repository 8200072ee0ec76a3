#!/usr/bin/env bash
# test.sh: the README's test command. Builds the engine and runs the whole suite, then runs
# it again built with AddressSanitizer + UndefinedBehaviorSanitizer, then (when nvcc is
# present) checks that the CUDA backend compiles and links. Each build has its own folder.
#   scripts/test.sh            everything above
#   FSA_TEST_QUICK=1 scripts/test.sh    the Release build and suite only
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests check results, not speed: keep OpenMP threads from spin-waiting against OpenBLAS's
# own threads on small shared machines (docs/RESULTS.md, "Note on threads").
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
jobs=$(nproc)

run_suite() {  # build-dir, extra cmake args...
  local dir=$1
  shift
  echo "== configure $dir $*"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

mkdir -p build
run_suite build
[ "${FSA_TEST_QUICK:-0}" = 1 ] && exit 0
mkdir -p build-sanitize
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_suite build-sanitize -DFSA_SANITIZE=ON
if command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  mkdir -p build-cuda
  echo "== configure build-cuda (compile and link only: no GPU needed)"
  cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DFSA_WITH_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" \
    -DCMAKE_CUDA_ARCHITECTURES=90 > build-cuda.configure.log 2>&1 || { cat build-cuda.configure.log; exit 1; }
  cmake --build build-cuda -j "$jobs"
  echo "== CUDA backend compiled and linked"
fi
