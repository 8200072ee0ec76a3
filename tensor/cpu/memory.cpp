// memory.cpp: CPU memory (the caching host allocator of host_memory.h), casts, fills and
// random fills.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
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

// A count of bytes and its most since the last reset: those handed out and not yet returned
// (in use), and those taken from malloc and not yet given back (held: in use or cached).
class PeakCounter {
 public:
  void add(size_t bytes) noexcept {
    const size_t now = now_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    size_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  void subtract(size_t bytes) noexcept { now_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t now() const noexcept { return now_.load(std::memory_order_relaxed); }
  size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }
  void reset_peak() noexcept { peak_.store(now(), std::memory_order_relaxed); }

 private:
  std::atomic<size_t> now_{0};
  std::atomic<size_t> peak_{0};
};

PeakCounter& in_use_counter() {
  static PeakCounter* counter = new PeakCounter;  // never destroyed, like the cache
  return *counter;
}

PeakCounter& held_counter() {
  static PeakCounter* counter = new PeakCounter;
  return *counter;
}

// A cached block may serve a request this many times smaller than itself at most. Reusing a
// larger block beats holding one more block for each size a loop needs at different moments
// (the attack iteration's peak resident memory: 575 -> 445 MiB), and the bound keeps the
// waste inside a lent block small.
constexpr size_t kLargestReuse = 2;

// Freed blocks by size, for host_allocate to hand out again: the smallest one that fits.
// A block keeps its own size while it is handed out for a smaller request (`lent_`), so that
// host_free, which gets the request's size, returns it whole.
class HostCache {
 public:
  struct Block {
    void* data = nullptr;
    size_t size = 0;
  };
  // A cached block of `size` to kLargestReuse * `size` bytes, or {} when there is none.
  Block take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = blocks_.lower_bound(size);
    if (found == blocks_.end() || found->first >= kLargestReuse * size) return {};
    const Block block{found->second, found->first};
    blocks_.erase(found);
    cached_bytes_ -= block.size;
    if (block.size != size) lent_[block.data] = block.size;
    return block;
  }
  // Takes back a block host_allocate handed out for a request of `size` bytes (a size
  // class); returns the block's own size.
  size_t put(void* data, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto lent = lent_.find(data);
    if (lent != lent_.end()) {
      size = lent->second;
      lent_.erase(lent);
    }
    if (cached_bytes_ + size > kCacheCapacity) release_locked();
    blocks_.emplace(size, data);
    cached_bytes_ += size;
    return size;
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
    for (auto& [size, data] : blocks_) {
      std::free(data);
      held_counter().subtract(size);
    }
    blocks_.clear();
    cached_bytes_ = 0;
  }
  std::mutex mutex_;
  std::multimap<size_t, void*> blocks_;     // size -> block
  std::unordered_map<void*, size_t> lent_;  // handed-out blocks larger than their request
  size_t cached_bytes_ = 0;
};

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
  const From* src = x.const_data<From>();
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
    const HostCache::Block cached = host_cache().take(size);
    if (cached.data != nullptr) {
      in_use_counter().add(cached.size);
      return cached.data;
    }
  }
  void* data = std::aligned_alloc(kAlignment, size);
  if (data == nullptr && size >= kSmallestCached) {  // give the cache back and try again
    host_release_cached();
    data = std::aligned_alloc(kAlignment, size);
  }
  FSA_CHECK(data != nullptr, "[allocate] out of host memory allocating ", bytes, " bytes");
  in_use_counter().add(size);
  held_counter().add(size);
  return data;
}

void host_free(void* data, size_t bytes) noexcept {
  const size_t requested = size_class(bytes);
  if (requested < kSmallestCached) {
    in_use_counter().subtract(requested);
    held_counter().subtract(requested);
    return std::free(data);
  }
  in_use_counter().subtract(host_cache().put(data, requested));
}

void host_release_cached() noexcept { host_cache().release(); }

size_t host_cached_bytes() noexcept { return host_cache().cached_bytes(); }

HostMemoryStats host_memory_stats() noexcept {
  return {.in_use = in_use_counter().now(),
          .peak_in_use = in_use_counter().peak(),
          .cached = host_cache().cached_bytes(),
          .peak_held = held_counter().peak()};
}

void host_reset_peak() noexcept {
  in_use_counter().reset_peak();
  held_counter().reset_peak();
}

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
