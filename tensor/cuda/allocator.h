// allocator.h: a caching allocator for device memory. Requests are rounded up to a bucket
// size; deallocate() puts a block on its bucket's free list and allocate() takes it from
// there, so a training loop calls cudaMalloc only in its first iterations. Blocks are
// reused without synchronisation: every kernel runs on the backend's one stream, so work
// that used a freed block finishes before work that reuses it starts.
// Graph recording (tensor/device_graph.h) opens a pool: every block handed out while it is
// open belongs to it for good, since each replay of the graph writes there again. A pool's
// freed blocks serve only that pool; release_pool, when the graph goes, returns them all.
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

  // Opens a new pool for the allocations that follow, until end_pool; returns its id.
  int begin_pool();
  void end_pool();
  // The pool's blocks go back to the shared cache (freed ones now, live ones when freed).
  void release_pool(int pool) noexcept;

 private:
  using FreeLists = std::unordered_map<size_t, std::vector<void*>>;  // bucket size -> blocks
  void* take_block(FreeLists& lists, size_t bucket);
  void* allocate_new(size_t bucket, size_t bytes);
  void release_cached_locked() noexcept;

  mutable std::mutex mutex_;
  FreeLists free_blocks_;
  size_t cached_bytes_ = 0;
  int open_pool_ = 0;  // 0: none
  int next_pool_ = 1;
  std::unordered_map<void*, int> pool_of_;      // blocks handed out while a pool was open
  std::unordered_map<int, FreeLists> pool_free_;  // each pool's freed blocks
};

}  // namespace fsa
