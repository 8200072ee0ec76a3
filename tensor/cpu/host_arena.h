// host_arena.h: the host allocator's store for large blocks (host_arena.cpp), used by
// memory.cpp. Segments mapped from the system are split into ranges: a request takes the front of
// the smallest free range that fits, and a freed range merges with its free neighbours in the
// same segment, so the memory held stays close to the most in use at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace fsa {

// One cache line; enough for AVX-512 loads. Every block and range starts on one (segments on a
// page, and ranges at multiples of a size class's step inside them).
inline constexpr size_t kHostAlignment = 64;
// Requests from this size up are served from segments: below it malloc's own free lists are as
// fast, and above it malloc maps fresh pages (page faults, zeroing) on every allocation. No free
// range is smaller.
inline constexpr size_t kSmallestCached = size_t{64} << 10;
// The free ranges never hold more than this; a free that would overflow it gives back the
// entirely free segments.
inline constexpr size_t kCacheCapacity = size_t{2} << 30;

// A count of bytes and its most since the last reset (bytes in use, bytes held).
class PeakCounter {
 public:
  void add(size_t bytes) noexcept;
  void subtract(size_t bytes) noexcept { now_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t now() const noexcept { return now_.load(std::memory_order_relaxed); }
  size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  void reset_peak() noexcept { peak_.store(now(), std::memory_order_relaxed); }

 private:
  std::atomic<size_t> now_{0};
  std::atomic<size_t> peak_{0};
};

// Segments mapped from the system (mmap), cut into ranges that are handed out or free. Free ranges
// are indexed by size (best fit) and every range by address (to find a freed range's size and
// its neighbours). A request no free range fits gives back the entirely free segments (all too
// small for it) and takes a new segment of its own size. Thread safe: one mutex.
class HostArena {
 public:
  struct Block {
    void* data = nullptr;
    size_t size = 0;
  };
  // `held` counts the bytes of the segments mapped and not yet given back.
  explicit HostArena(PeakCounter& held) : held_(held) {}

  // A range of at least `size` bytes (a multiple of kHostAlignment, at least kSmallestCached),
  // more when the rest of a free range would be smaller than kSmallestCached; {} when the
  // system has no memory left, even after the entirely free segments are given back.
  Block allocate(size_t size);
  // Takes back the range that starts at `data`; returns its size, as allocate handed it out.
  size_t free(void* data) noexcept;
  // Gives back every entirely free segment; segments with a range in use stay.
  void release() noexcept;
  // Bytes in free ranges.
  size_t free_bytes() noexcept;

 private:
  struct Range {
    size_t size = 0;
    char* segment = nullptr;  // where the range's segment starts
    bool free = false;
  };
  using RangeMap = std::map<char*, Range>;

  Block take_free_range(size_t size);
  Block take_new_segment(size_t size);
  void split(RangeMap::iterator range, size_t size);
  void mark_free(RangeMap::iterator range);
  void mark_used(RangeMap::iterator range);
  RangeMap::iterator merge_with_neighbours(RangeMap::iterator range);
  bool can_merge(RangeMap::iterator range, RangeMap::iterator neighbour) const;
  bool is_whole_segment(RangeMap::iterator range) const;
  void release_locked() noexcept;

  PeakCounter& held_;
  std::mutex mutex_;
  RangeMap ranges_;                                 // address -> every range, in use or free
  std::set<std::pair<size_t, char*>> free_ranges_;  // (size, address) of the free ranges
  size_t free_bytes_ = 0;
};

}  // namespace fsa
