#!/usr/bin/env bash
# peak_memory.sh: the peak resident memory of one benchmark row, engine against PyTorch
# (issue 6's memory goal), each side in its own process. The bare process is measured too
# (the benchmark binary running nothing; Python with torch imported), so that the row's own
# memory is the difference. Needs GNU time (/usr/bin/time) and python3-torch.
# Usage: scripts/peak_memory.sh [ROW (default BM_fa_iteration/cpu/100x32)] [BENCH (default
#        build-bench/bench/fsa_bench)]
set -euo pipefail
cd "$(dirname "$0")/.."
ROW=${1:-BM_fa_iteration/cpu/100x32}
BENCH=${2:-build-bench/bench/fsa_bench}

peak_mib() {  # the command's peak resident set, MiB
  local kib
  kib=$( (/usr/bin/time -f %M "$@" 2>&1 > /dev/null || true) | tail -1)
  echo $((kib / 1024))
}

torch_row="import sys; sys.path.insert(0, 'scripts'); import bench_compare as b
step = b.torch_work('$ROW')
for _ in range(5): step()"
engine=$(peak_mib "$BENCH" "--benchmark_filter=^${ROW}\$" --benchmark_min_time=1)
engine_bare=$(peak_mib "$BENCH" --benchmark_filter=^no_such_row$)
torch=$(peak_mib /usr/bin/python3 -c "$torch_row")
torch_bare=$(peak_mib /usr/bin/python3 -c "import sys; sys.path.insert(0, 'scripts'); import bench_compare")
echo "| row | engine peak MiB (bare process) | PyTorch peak MiB (bare process) | engine row / PyTorch row |"
echo "|---|---|---|---|"
echo "| $ROW | $engine ($engine_bare) | $torch ($torch_bare) | $(( (engine - engine_bare) * 100 / (torch - torch_bare) )) % |"
