// memory.cpp: CPU memory (the caching host allocator of host_memory.h), casts, fills and
// random fills.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/cpu/host_memory.h"
#include "tensor/random.h"

namespace fsa {

namespace {
constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads
// Blocks from this size up are cached: below it malloc's own free lists are as fast, and
// above it malloc maps fresh pages (page faults, zeroing) on every allocation.
constexpr size_t kSmallestCached = size_t{64} << 10;
// The cache never holds more than this; a block that would overflow it empties it first.
constexpr size_t kCacheCapacity = size_t{2} << 30;

// Sizes are rounded up to a class: multiples of 64 bytes for small blocks, eight classes per
// power of two for cached ones (at most 1/8 wasted), so that shapes that differ slightly
// share blocks.
size_t size_class(size_t bytes) {
  if (bytes < kSmallestCached) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t power = kSmallestCached;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

// Freed blocks by size class, for host_allocate to hand out again.
class HostCache {
 public:
  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = blocks_.find(size);
    if (found == blocks_.end() || found->second.empty()) return nullptr;
    void* data = found->second.back();
    found->second.pop_back();
    cached_bytes_ -= size;
    return data;
  }
  void put(void* data, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ + size > kCacheCapacity) release_locked();
    blocks_[size].push_back(data);
    cached_bytes_ += size;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_locked();
  }
  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

 private:
  void release_locked() {
    for (auto& [size, list] : blocks_) {
      for (void* data : list) std::free(data);
    }
    blocks_.clear();
    cached_bytes_ = 0;
  }
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> blocks_;
  size_t cached_bytes_ = 0;
};

// Bytes handed out and not yet returned, and their most since the last reset.
class InUseCounter {
 public:
  void add(size_t bytes) noexcept {
    const size_t now = in_use_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    size_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  void subtract(size_t bytes) noexcept { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }
  size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  void reset_peak() noexcept { peak_.store(in_use(), std::memory_order_relaxed); }

 private:
  std::atomic<size_t> in_use_{0};
  std::atomic<size_t> peak_{0};
};

InUseCounter& in_use_counter() {
  static InUseCounter* counter = new InUseCounter;  // never destroyed, like the cache
  return *counter;
}

HostCache& host_cache() {
  // Never destroyed: tensors freed during static destruction must still find it.
  static HostCache* cache = new HostCache;
  return *cache;
}

template <typename From, typename To>
void convert(const From* src, To* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<To>(src[i]);
}

template <typename From>
void convert_to(const Tensor& x, const Tensor& out) {
  const From* src = x.data<From>();
  switch (out.dtype()) {
    case DType::f32:
      convert(src, out.data<float>(), x.numel());
      break;
    case DType::f64:
      convert(src, out.data<double>(), x.numel());
      break;
    case DType::i32:
      convert(src, out.data<int32_t>(), x.numel());
      break;
  }
}
}  // namespace

const CpuBackend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

void* host_allocate(size_t bytes) {
  const size_t size = size_class(bytes);
  if (size >= kSmallestCached) {
    if (void* cached = host_cache().take(size)) {
      in_use_counter().add(size);
      return cached;
    }
  }
  void* data = std::aligned_alloc(kAlignment, size);
  if (data == nullptr && size >= kSmallestCached) {  // give the cache back and try again
    host_release_cached();
    data = std::aligned_alloc(kAlignment, size);
  }
  FSA_CHECK(data != nullptr, "[allocate] out of host memory allocating ", bytes, " bytes");
  in_use_counter().add(size);
  return data;
}

void host_free(void* data, size_t bytes) noexcept {
  const size_t size = size_class(bytes);
  in_use_counter().subtract(size);
  if (size < kSmallestCached) return std::free(data);
  host_cache().put(data, size);
}

void host_release_cached() noexcept { host_cache().release(); }

size_t host_cached_bytes() noexcept { return host_cache().cached_bytes(); }

HostMemoryStats host_memory_stats() noexcept {
  return {.in_use = in_use_counter().in_use(),
          .peak_in_use = in_use_counter().peak(),
          .cached = host_cache().cached_bytes()};
}

void host_reset_peak() noexcept { in_use_counter().reset_peak(); }

void* CpuBackend::allocate(size_t bytes) const { return host_allocate(bytes); }

void CpuBackend::deallocate(void* data, size_t bytes) const noexcept { host_free(data, bytes); }

void CpuBackend::copy_from_host(void* dst, const void* host_src, size_t bytes) const {
  std::memcpy(dst, host_src, bytes);
}

void CpuBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) const {
  std::memcpy(host_dst, src, bytes);
}

void CpuBackend::copy_within(void* dst, const void* src, size_t bytes) const {
  std::memcpy(dst, src, bytes);
}

void CpuBackend::synchronize() const {}  // CPU kernels finish before they return

// CPU kernels run as they are called: there is nothing to record.
bool CpuBackend::supports_capture() const { return false; }

std::shared_ptr<CapturedWork> CpuBackend::capture(const std::function<void()>&) const {
  fail("[graph] the cpu backend cannot record work");
}

Tensor CpuBackend::cast(const Tensor& x, DType dtype) const {
  Tensor out = Tensor::empty(x.shape(), dtype, Device::cpu);
  switch (x.dtype()) {
    case DType::f32:
      convert_to<float>(x, out);
      break;
    case DType::f64:
      convert_to<double>(x, out);
      break;
    case DType::i32:
      convert_to<int32_t>(x, out);
      break;
  }
  return out;
}

void CpuBackend::fill(const Tensor& x, double value) const {
  const int64_t n = x.numel();
  switch (x.dtype()) {
    case DType::f32:
      std::fill_n(x.data<float>(), n, static_cast<float>(value));
      break;
    case DType::f64:
      std::fill_n(x.data<double>(), n, value);
      break;
    case DType::i32:
      std::fill_n(x.data<int32_t>(), n, static_cast<int32_t>(value));
      break;
  }
}

void CpuBackend::fill_uniform(const Tensor& x, double lo, double hi, uint64_t seed,
                              uint64_t offset) const {
  dispatch_float(x.dtype(), "fill_uniform", [&]<typename T>() {
    T* out = x.data<T>();
    const int64_t n = x.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      out[i] = static_cast<T>(lo + (hi - lo) * philox_uniform(seed, offset + i));
    }
  });
}

void CpuBackend::fill_normal(const Tensor& x, double mean, double std, uint64_t seed,
                             uint64_t offset) const {
  dispatch_float(x.dtype(), "fill_normal", [&]<typename T>() {
    T* out = x.data<T>();
    const int64_t n = x.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      out[i] = static_cast<T>(mean + std * philox_normal(seed, offset + i));
    }
  });
}

}  // namespace fsa
