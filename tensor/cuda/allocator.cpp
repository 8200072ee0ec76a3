// allocator.cpp: the caching device allocator (see allocator.h). Host code only.
#include "tensor/cuda/allocator.h"

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

void* CachingAllocator::allocate(size_t bytes) {
  const size_t bucket = bucket_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = free_blocks_.find(bucket);
  if (found != free_blocks_.end() && !found->second.empty()) {
    void* block = found->second.back();
    found->second.pop_back();
    cached_bytes_ -= bucket;
    return block;
  }
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
    free_blocks_[bucket].push_back(data);
    cached_bytes_ += bucket;
  } catch (...) {
    // The cache could not grow (std::bad_alloc): hand the block straight back instead.
    (void)cudaFree(data);
  }
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
