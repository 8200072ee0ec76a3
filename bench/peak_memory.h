// peak_memory.h: the host allocator's peaks as benchmark counters, for the CPU network rows:
// peak_MiB, the most memory in use at once, and held_MiB, the most taken from the system at
// once (in use plus cached). docs/PERFORMANCE.md ("Memory") compares them with the resident set.
#pragma once

#include <benchmark/benchmark.h>

#include "tensor/cpu/host_memory.h"

namespace fsa {

// Call host_reset_peak() before the row's loop and this after it.
inline void report_host_peaks(benchmark::State& state) {
  const HostMemoryStats stats = host_memory_stats();
  state.counters["peak_MiB"] = static_cast<double>(stats.peak_in_use) / (1 << 20);
  state.counters["held_MiB"] = static_cast<double>(stats.peak_held) / (1 << 20);
}

}  // namespace fsa
