// allocator.cpp: the caching device allocator (see allocator.h). Host code only.
#include "tensor/cuda/allocator.h"

#include <iterator>

#include "tensor/check.h"
#include "tensor/cuda/check.h"

namespace fsa {

namespace {
constexpr size_t kSmallStep = 512;
constexpr size_t kLargeStep = size_t{1} << 20;

size_t round_up(size_t bytes, size_t step) { return (bytes + step - 1) / step * step; }
}  // namespace

size_t CachingAllocator::bucket_size(size_t bytes) {
  if (bytes < kLargeStep) return round_up(bytes == 0 ? 1 : bytes, kSmallStep);
  return round_up(bytes, kLargeStep);
}

// A block of `bucket` bytes from `lists`, or nullptr.
void* CachingAllocator::take_block(FreeLists& lists, size_t bucket) {
  auto found = lists.find(bucket);
  if (found == lists.end() || found->second.empty()) return nullptr;
  void* block = found->second.back();
  found->second.pop_back();
  return block;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t bucket = bucket_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* block = nullptr;
  if (open_pool_ != 0) block = take_block(pool_free_[open_pool_], bucket);
  if (block == nullptr) {
    block = take_block(free_blocks_, bucket);
    if (block != nullptr) cached_bytes_ -= bucket;
  }
  if (block == nullptr) block = allocate_new(bucket, bytes);
  if (open_pool_ != 0) pool_of_[block] = open_pool_;
  return block;
}

// cudaMalloc, once more after emptying the cache when the device is full.
void* CachingAllocator::allocate_new(size_t bucket, size_t bytes) {
  void* block = nullptr;
  if (cudaMalloc(&block, bucket) != cudaSuccess) {
    // NOTE: an allocation failure is not sticky; clear it, free the cache and try again.
    (void)cudaGetLastError();
    const size_t cached = cached_bytes_;
    release_cached_locked();
    const cudaError_t status = cudaMalloc(&block, bucket);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      fail("[allocate] out of device memory allocating ", bytes, " bytes (", cached,
           " cached bytes released first): ", cudaGetErrorString(status));
    }
  }
  return block;
}

void CachingAllocator::deallocate(void* data, size_t bytes) noexcept {
  if (data == nullptr) return;
  const size_t bucket = bucket_size(bytes);
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto owner = pool_of_.find(data);
    if (owner != pool_of_.end()) {
      pool_free_[owner->second][bucket].push_back(data);
      return;
    }
    free_blocks_[bucket].push_back(data);
    cached_bytes_ += bucket;
  } catch (...) {
    // The cache could not grow (std::bad_alloc): hand the block straight back instead.
    (void)cudaFree(data);
  }
}

int CachingAllocator::begin_pool() {
  std::lock_guard<std::mutex> lock(mutex_);
  FSA_CHECK(open_pool_ == 0, "[allocate] a graph is already being recorded");
  open_pool_ = next_pool_++;
  return open_pool_;
}

void CachingAllocator::end_pool() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_pool_ = 0;
}

void CachingAllocator::release_pool(int pool) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = pool_of_.begin(); it != pool_of_.end();) {
    it = it->second == pool ? pool_of_.erase(it) : std::next(it);
  }
  const auto freed = pool_free_.find(pool);
  if (freed == pool_free_.end()) return;
  for (auto& [bucket, blocks] : freed->second) {
    for (void* block : blocks) {
      free_blocks_[bucket].push_back(block);
      cached_bytes_ += bucket;
    }
  }
  pool_free_.erase(freed);
}

void CachingAllocator::release_cached() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

size_t CachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

void CachingAllocator::release_cached_locked() noexcept {
  for (auto& [bucket, blocks] : free_blocks_) {
    for (void* block : blocks) (void)cudaFree(block);  // cudaFree waits for pending work
  }
  free_blocks_.clear();
  cached_bytes_ = 0;
}

}  // namespace fsa
