// host_arena.cpp: the host allocator's best-fit store for large blocks (host_arena.h).
#include "tensor/cpu/host_arena.h"

#include <sys/mman.h>

#include <iterator>

namespace fsa {

namespace {
// A segment of `size` bytes mapped from the system (page aligned), or nullptr when it has none.
// Segments are mapped rather than taken from malloc so that one given back leaves the resident
// set at once: malloc keeps freed blocks below its (moving) mmap threshold in its own lists.
// They are offered to the kernel for transparent huge pages (where it only grants them on
// request, as on Debian): the ResNet-20 step takes 5,000 page faults instead of 65,000 and
// runs as fast as with the whole-block cache before the arena, which it did not with 4 KiB
// pages (docs/PERFORMANCE.md, change 25).
char* map_segment(size_t size) {
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return nullptr;
  madvise(data, size, MADV_HUGEPAGE);
  return static_cast<char*>(data);
}

void unmap_segment(char* segment, size_t size) noexcept { munmap(segment, size); }
}  // namespace

void PeakCounter::add(size_t bytes) noexcept {
  const size_t now = now_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  size_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

HostArena::Block HostArena::allocate(size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Block reused = take_free_range(size);
  if (reused.data != nullptr) return reused;
  return take_new_segment(size);
}

size_t HostArena::free(void* data) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  const RangeMap::iterator range = ranges_.find(static_cast<char*>(data));
  const size_t size = range->second.size;
  mark_free(merge_with_neighbours(range));
  if (free_bytes_ > kCacheCapacity) release_locked();
  return size;
}

void HostArena::release() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  release_locked();
}

size_t HostArena::free_bytes() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_bytes_;
}

// The front of the smallest free range of at least `size` bytes, or {} when none is that
// large. The rest stays free unless it is smaller than kSmallestCached: then it goes along.
HostArena::Block HostArena::take_free_range(size_t size) {
  const auto best = free_ranges_.lower_bound({size, nullptr});
  if (best == free_ranges_.end()) return {};
  const RangeMap::iterator range = ranges_.find(best->second);
  mark_used(range);
  if (range->second.size - size >= kSmallestCached) split(range, size);
  return {range->first, range->second.size};
}

// A new segment of exactly `size` bytes, handed out whole; {} when the system has none. No free
// range is that large, so no entirely free segment can serve the request: they are given
// back first, and the memory held grows by the difference only.
HostArena::Block HostArena::take_new_segment(size_t size) {
  release_locked();
  char* segment = map_segment(size);
  if (segment == nullptr) return {};
  held_.add(size);
  ranges_.emplace(segment, Range{.size = size, .segment = segment, .free = false});
  return {segment, size};
}

// Cuts the range in use after its first `size` bytes; the rest becomes a free range.
void HostArena::split(RangeMap::iterator range, size_t size) {
  const Range rest{.size = range->second.size - size, .segment = range->second.segment};
  const RangeMap::iterator rest_range =
      ranges_.emplace_hint(std::next(range), range->first + size, rest);
  range->second.size = size;
  mark_free(rest_range);
}

// Indexes the range by size as free.
void HostArena::mark_free(RangeMap::iterator range) {
  range->second.free = true;
  free_ranges_.emplace(range->second.size, range->first);
  free_bytes_ += range->second.size;
}

// Takes the free range out of the size index.
void HostArena::mark_used(RangeMap::iterator range) {
  range->second.free = false;
  free_ranges_.erase({range->second.size, range->first});
  free_bytes_ -= range->second.size;
}

// Joins the range (in use, about to be freed) with the free ranges just before and after it in
// its segment; returns the joined range.
HostArena::RangeMap::iterator HostArena::merge_with_neighbours(RangeMap::iterator range) {
  const RangeMap::iterator next = std::next(range);
  if (next != ranges_.end() && can_merge(range, next)) {
    mark_used(next);
    range->second.size += next->second.size;
    ranges_.erase(next);
  }
  if (range == ranges_.begin()) return range;
  const RangeMap::iterator previous = std::prev(range);
  if (!can_merge(range, previous)) return range;
  mark_used(previous);
  previous->second.size += range->second.size;
  ranges_.erase(range);
  return previous;
}

// Whether the range's neighbour (the range just before or after it) is free and lies in the
// same segment: ranges of different segments are never joined, each is freed on its own.
bool HostArena::can_merge(RangeMap::iterator range, RangeMap::iterator neighbour) const {
  return neighbour->second.free && neighbour->second.segment == range->second.segment;
}

// Whether the range covers its whole segment (nothing else of the segment is left).
bool HostArena::is_whole_segment(RangeMap::iterator range) const {
  if (range->first != range->second.segment) return false;
  const RangeMap::iterator next = std::next(range);
  return next == ranges_.end() || next->second.segment != range->second.segment;
}

// Unmaps every segment that is one free range; the caller holds the mutex.
void HostArena::release_locked() noexcept {
  for (auto free_range = free_ranges_.begin(); free_range != free_ranges_.end();) {
    const RangeMap::iterator range = ranges_.find(free_range->second);
    if (!is_whole_segment(range)) {
      ++free_range;
      continue;
    }
    unmap_segment(range->first, range->second.size);
    held_.subtract(range->second.size);
    free_bytes_ -= range->second.size;
    ranges_.erase(range);
    free_range = free_ranges_.erase(free_range);
  }
}

}  // namespace fsa
