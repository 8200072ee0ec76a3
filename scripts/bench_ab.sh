#!/usr/bin/env bash
# bench_ab.sh: compares builds of fsa_bench on a noisy machine by alternating them (one build:
# its benchmarks alternated, e.g. the methods of one convolution).
#   scripts/bench_ab.sh FILTER ROUNDS BENCH [BENCH...]
# Each round runs every build once on the benchmarks matching FILTER (a regex, as for
# --benchmark_filter), 5 repetitions of at least 0.1 s, and keeps their median. Prints one
# line per benchmark and build, named by the build's folder, with the round medians in order.
# Example: two builds of the engine, before and after a change:
#   git stash && cmake --build build-bench --target fsa_bench && mkdir -p /tmp/before &&
#   cp build-bench/bench/fsa_bench /tmp/before/ && git stash pop && ...
#   scripts/bench_ab.sh 'BM_gemm/cpu/2048' 3 /tmp/before/fsa_bench build-bench/bench/fsa_bench
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
filter=$1 rounds=$2
shift 2
labels=()
for bench in "$@"; do
  [ -x "$bench" ] || { echo "bench_ab.sh: $bench is not an executable" >&2; exit 2; }
  labels+=("$(basename "$(dirname "$bench")")")
done
if [ "$(printf '%s\n' "${labels[@]}" | sort | uniq -d)" != "" ]; then
  echo "bench_ab.sh: the builds must lie in folders of different names (they label the" \
    "output), got: ${labels[*]}" >&2
  exit 2
fi
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
builds=("$@")
for _ in $(seq "$rounds"); do
  for i in "${!builds[@]}"; do
    bench=${builds[$i]} label=${labels[$i]}
    "$bench" --benchmark_filter="$filter" --benchmark_min_time=0.1 --benchmark_repetitions=5 \
      --benchmark_report_aggregates_only=true 2> /dev/null |
      awk -v label="$label" '$1 ~ /_median$/ {sub(/_median$/, "", $1); print $1, label, $2, $3}'
  done
done | awk '{key = $1 " " $2; medians[key] = medians[key] " " $3; unit[key] = $4}
            END {for (key in medians) print key ":" medians[key], unit[key]}' | sort
