#!/usr/bin/env bash
# gpu-check.sh: the checks that need an NVIDIA GPU, in one command. Builds fsa with the CUDA
# backend (or takes a prebuilt bundle from scripts/gpu-bundle.sh), runs the CUDA-vs-CPU
# parity suites (every Backend kernel, a ResNet-20 training step, FA attack iterations),
# then the GPU benchmarks against PyTorch on the same card, and prints a short table.
# Exits non-zero when a build step or a parity test fails.
#
# Environment:
#   JOBS (default: all cores), CUDA_ARCH (default 90: H100/H200)
#   FSA_PREBUILT=DIR   use the bundle in DIR (fsa, tests/fsa_tests, bench/fsa_bench, lib/) that
#                      scripts/gpu-bundle.sh made, instead of building
#   LOGS=DIR           where logs, the XML test report and the table go (default build-gpu/gpu-check)
#   FSA_GPU_CHECK_ALL=1  run the whole test binary on the GPU machine, not only the CUDA suites
#   BENCH_ROUNDS (default 2), BENCH_MIN_TIME (default 0.2 s); BENCH=0 skips the benchmarks
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
CUDA_ARCH=${CUDA_ARCH:-90}
LOGS=${LOGS:-build-gpu/gpu-check}
mkdir -p "$LOGS"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader ||
  echo "warning: nvidia-smi sees no GPU; the CUDA suites will skip"

if [ -n "${FSA_PREBUILT:-}" ]; then
  echo "== prebuilt binaries from $FSA_PREBUILT"
  BIN=$FSA_PREBUILT
  source scripts/gpu-env.sh || { echo "FAIL: the bundle cannot run here"; exit 1; }
else
  BUILD_DIR=build-gpu
  echo "== build ($BUILD_DIR, -j$JOBS, sm_$CUDA_ARCH)"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFSA_WITH_CUDA=ON -DFSA_BUILD_BENCH=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCH" >"$LOGS/configure.log" 2>&1 ||
    { cat "$LOGS/configure.log"; echo "FAIL configure"; exit 1; }
  cmake --build "$BUILD_DIR" -j "$JOBS" >"$LOGS/build.log" 2>&1 ||
    { tail -n 60 "$LOGS/build.log"; echo "FAIL build"; exit 1; }
  BIN=$BUILD_DIR
  echo "build ok"
fi

echo "== parity tests"
FILTER='*Cuda*:DeviceGraph*'
[ "${FSA_GPU_CHECK_ALL:-0}" = 1 ] && FILTER='*'
REPORT="$LOGS/tests.xml"
"$BIN/tests/fsa_tests" --gtest_filter="$FILTER" --gtest_output="xml:$REPORT" >"$LOGS/tests.log" 2>&1
status=$?
# One line per suite from the XML report: name, tests, failures, skipped, seconds.
grep -o '<testsuite name="[^"]*" tests="[0-9]*" failures="[0-9]*" disabled="[0-9]*" skipped="[0-9]*" errors="[0-9]*" time="[^"]*"' \
  "$REPORT" 2>/dev/null |
  sed -E 's/<testsuite name="([^"]*)" tests="([0-9]*)" failures="([0-9]*)" disabled="[0-9]*" skipped="([0-9]*)" errors="[0-9]*" time="([^"]*)"/\1: \2 tests, \3 failed, \4 skipped, \5 s/'
if [ "$status" -ne 0 ]; then
  grep -E '^\[  FAILED  \]' "$LOGS/tests.log" | sort -u | head -n 60
  echo "FAIL tests (full log: $LOGS/tests.log)"
fi
grep -q 'skipped="[1-9]' "$REPORT" 2>/dev/null && echo "warning: some tests skipped (no GPU visible?)"

if [ "${BENCH:-1}" != 0 ]; then
  echo "== benchmarks: engine vs PyTorch on the same GPU (full float32 on both sides)"
  python3 scripts/bench_compare.py --bench "$BIN/bench/fsa_bench" --device cuda \
    --rounds "${BENCH_ROUNDS:-2}" --min-time "${BENCH_MIN_TIME:-0.2}" 2>"$LOGS/bench.err" |
    tee "$LOGS/bench.md"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { tail -n 20 "$LOGS/bench.err"; echo "FAIL benchmarks"; }
fi

[ "$status" -eq 0 ] && echo "ok"
exit "$status"
