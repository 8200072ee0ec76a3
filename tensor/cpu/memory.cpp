// memory.cpp: CPU memory, casts, fills and random fills.
#include <cstdlib>
#include <cstring>
#include <new>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/random.h"

namespace fsa {

namespace {
constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads

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

void* CpuBackend::allocate(size_t bytes) const {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded);
  FSA_CHECK(data != nullptr, "[allocate] out of host memory allocating ", bytes, " bytes");
  return data;
}

void CpuBackend::deallocate(void* data, size_t) const noexcept { std::free(data); }

void CpuBackend::copy_from_host(void* dst, const void* host_src, size_t bytes) const {
  std::memcpy(dst, host_src, bytes);
}

void CpuBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) const {
  std::memcpy(host_dst, src, bytes);
}

void CpuBackend::copy_within(void* dst, const void* src, size_t bytes) const {
  std::memcpy(dst, src, bytes);
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
