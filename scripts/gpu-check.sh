#!/usr/bin/env bash
# gpu-check.sh: the checks that need an NVIDIA GPU. Builds fsa with the CUDA backend in
# build-cuda, runs the CUDA-vs-CPU parity suite (every Backend kernel) and prints one line
# per test suite. Exits non-zero when a build step or a test fails.
# Environment: JOBS (default 16), CUDA_ARCH (default 90), FSA_GPU_CHECK_ALL=1 to run the
# whole test binary on the GPU machine, not only the CUDA suites.
# TODO: the benchmarks part (bench/, FSA_BUILD_BENCH) is added later.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-16}
CUDA_ARCH=${CUDA_ARCH:-90}
BUILD_DIR=build-cuda
LOGS=$BUILD_DIR/gpu-check  # configure, build and test logs, and the XML report
mkdir -p "$LOGS"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader ||
  echo "warning: nvidia-smi sees no GPU; the CUDA suites will skip"

echo "== build ($BUILD_DIR, -j$JOBS, sm_$CUDA_ARCH)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFSA_WITH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" >"$LOGS/configure.log" 2>&1 ||
  { cat "$LOGS/configure.log"; echo "FAIL configure"; exit 1; }
cmake --build "$BUILD_DIR" -j "$JOBS" >"$LOGS/build.log" 2>&1 ||
  { tail -n 60 "$LOGS/build.log"; echo "FAIL build"; exit 1; }
echo "build ok"

echo "== tests"
FILTER='*CudaParity*:CudaBackend.*'
[ "${FSA_GPU_CHECK_ALL:-0}" = 1 ] && FILTER='*'
REPORT="$LOGS/tests.xml"
"$BUILD_DIR/tests/fsa_tests" --gtest_filter="$FILTER" --gtest_output="xml:$REPORT" \
  >"$LOGS/tests.log" 2>&1
status=$?
# One line per suite from the XML report: name, tests, failures, skipped, seconds.
grep -o '<testsuite name="[^"]*" tests="[0-9]*" failures="[0-9]*" disabled="[0-9]*" skipped="[0-9]*" errors="[0-9]*" time="[^"]*"' \
  "$REPORT" 2>/dev/null |
  sed -E 's/<testsuite name="([^"]*)" tests="([0-9]*)" failures="([0-9]*)" disabled="[0-9]*" skipped="([0-9]*)" errors="[0-9]*" time="([^"]*)"/\1: \2 tests, \3 failed, \4 skipped, \5 s/'
if [ "$status" -ne 0 ]; then
  grep -E '^\[  FAILED  \]|Failure|error' "$LOGS/tests.log" | head -n 40
  echo "FAIL tests (full log: $LOGS/tests.log)"
  exit "$status"
fi
grep -q 'skipped="[1-9]' "$REPORT" && echo "warning: some tests skipped (no GPU visible?)"
echo "ok"
