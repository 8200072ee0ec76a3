// allocator.h: a caching allocator for device memory. Requests are rounded up to a bucket
// size; deallocate() puts a block on its bucket's free list and allocate() takes it from
// there, so a training loop calls cudaMalloc only in its first iterations. Blocks are
// reused without synchronisation: every kernel runs on the backend's one stream, so work
// that used a freed block finishes before work that reuses it starts.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace fsa {

class CachingAllocator {
 public:
  CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes`; on out-of-memory the cache is emptied and cudaMalloc
  // retried once before throwing.
  void* allocate(size_t bytes);
  // Returns the block of allocate(bytes) to the cache. Never throws.
  void deallocate(void* data, size_t bytes) noexcept;
  // Gives every cached block back to the driver (cudaFree).
  void release_cached() noexcept;
  size_t cached_bytes() const;

  // The bucket a request falls into: 512-byte steps below 1 MiB, 1 MiB steps above.
  static size_t bucket_size(size_t bytes);

 private:
  void release_cached_locked() noexcept;

  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;  // bucket size -> blocks
  size_t cached_bytes_ = 0;
};

}  // namespace fsa
