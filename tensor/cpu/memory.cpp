// memory.cpp: CPU memory (the host allocator of host_memory.h), casts, fills and random fills.
// Blocks under 64 KiB come from malloc as they are; larger ones are ranges of mapped segments,
// from a best-fit arena that splits and merges them (host_arena.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/cpu/host_arena.h"
#include "tensor/cpu/host_memory.h"
#include "tensor/random.h"

namespace fsa {

namespace {
// Sizes are rounded up to a class: multiples of 64 bytes for small blocks, eight classes per
// power of two for large ones (at most 1/8 wasted), so that shapes that differ slightly
// share ranges.
size_t size_class(size_t bytes) {
  if (bytes < kSmallestCached) {
    return (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  }
  size_t power = kSmallestCached;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

// The bytes handed out and not yet returned, and their peak.
PeakCounter& in_use_counter() {
  static PeakCounter* counter = new PeakCounter;  // never destroyed, like the arena
  return *counter;
}

// The bytes taken from the system and not yet given back: small blocks, and segments (in use
// or free).
PeakCounter& held_counter() {
  static PeakCounter* counter = new PeakCounter;
  return *counter;
}

HostArena& host_arena() {
  // Never destroyed: tensors freed during static destruction must still find it.
  static HostArena* arena = new HostArena(held_counter());
  return *arena;
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

// Small blocks come from malloc as they are; large ones from the arena.
void* host_allocate(size_t bytes) {
  const size_t size = size_class(bytes);
  if (size >= kSmallestCached) {
    const HostArena::Block block = host_arena().allocate(size);
    FSA_CHECK(block.data != nullptr, "[allocate] out of host memory allocating ", bytes, " bytes");
    in_use_counter().add(block.size);
    return block.data;
  }
  void* data = std::aligned_alloc(kHostAlignment, size);
  FSA_CHECK(data != nullptr, "[allocate] out of host memory allocating ", bytes, " bytes");
  in_use_counter().add(size);
  held_counter().add(size);
  return data;
}

void host_free(void* data, size_t bytes) noexcept {
  const size_t requested = size_class(bytes);
  if (requested >= kSmallestCached) return in_use_counter().subtract(host_arena().free(data));
  in_use_counter().subtract(requested);
  held_counter().subtract(requested);
  std::free(data);
}

void host_release_cached() noexcept { host_arena().release(); }

size_t host_cached_bytes() noexcept { return host_arena().free_bytes(); }

HostMemoryStats host_memory_stats() noexcept {
  return {.in_use = in_use_counter().now(),
          .peak_in_use = in_use_counter().peak(),
          .cached = host_arena().free_bytes(),
          .held = held_counter().now(),
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
