// memory.cu: device memory, copies, casts, fills and random fills, the twin of
// cpu/memory.cpp. Random fills call the same Philox functions (tensor/random.h) as the
// CPU, so element i gets the value of (seed, offset + i) on either device.
#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/random.h"

namespace fsa {

namespace {

template <typename From, typename To>
__global__ void convert_kernel(const From* in, To* out, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    out[i] = static_cast<To>(in[i]);
  }
}

template <typename T>
__global__ void fill_kernel(T* out, T value, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) out[i] = value;
}

// NOTE: __dmul_rn / __dadd_rn forbid nvcc's fused multiply-add, so each value rounds as in
// the CPU loop: uniform fills match the CPU bit for bit (normal fills up to the last bits
// of the device's log and cos).
__global__ void fill_uniform_kernel(float* out, double lo, double hi, uint64_t seed,
                                    uint64_t offset, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    out[i] =
        static_cast<float>(__dadd_rn(lo, __dmul_rn(hi - lo, philox_uniform(seed, offset + i))));
  }
}

__global__ void fill_normal_kernel(float* out, double mean, double std, uint64_t seed,
                                   uint64_t offset, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    out[i] = static_cast<float>(__dadd_rn(mean, __dmul_rn(std, philox_normal(seed, offset + i))));
  }
}

template <typename From, typename To>
void launch_convert(const Tensor& x, const Tensor& out, cudaStream_t stream) {
  const int64_t n = x.numel();
  convert_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(static_cast<const From*>(x.raw_data()),
                                                         static_cast<To*>(out.raw_data()), n);
  CUDA_CHECK_LAUNCH();
}

template <typename From>
void convert_to(const Tensor& x, const Tensor& out, cudaStream_t stream) {
  switch (out.dtype()) {
    case DType::f32:
      launch_convert<From, float>(x, out, stream);
      break;
    case DType::f64:
      launch_convert<From, double>(x, out, stream);
      break;
    case DType::i32:
      launch_convert<From, int32_t>(x, out, stream);
      break;
  }
}

template <typename T>
void launch_fill(const Tensor& x, T value, cudaStream_t stream) {
  const int64_t n = x.numel();
  fill_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(static_cast<T*>(x.raw_data()), value, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void* CudaBackend::allocate(size_t bytes) const { return allocator_.allocate(bytes); }

void CudaBackend::deallocate(void* data, size_t bytes) const noexcept {
  allocator_.deallocate(data, bytes);
}

// NOTE: host memory here is pageable (the CPU backend never pins), and an asynchronous copy
// from pageable memory returns only once the source is staged: the caller may free it.
void CudaBackend::copy_from_host(void* dst, const void* host_src, size_t bytes) const {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream()));
}

// The one place the host waits for the GPU: it is about to read the values.
void CudaBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) const {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void CudaBackend::copy_within(void* dst, const void* src, size_t bytes) const {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

void CudaBackend::synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream())); }

// Casts move data and accept float64 too (Tensor::copy_from casts on the source's
// device); only arithmetic is float32-only.
Tensor CudaBackend::cast(const Tensor& x, DType dtype) const {
  Tensor out = Tensor::empty(x.shape(), dtype, Device::cuda);
  if (x.numel() == 0) return out;
  switch (x.dtype()) {
    case DType::f32:
      convert_to<float>(x, out, stream());
      break;
    case DType::f64:
      convert_to<double>(x, out, stream());
      break;
    case DType::i32:
      convert_to<int32_t>(x, out, stream());
      break;
  }
  return out;
}

void CudaBackend::fill(const Tensor& x, double value) const {
  if (x.numel() == 0) return;
  if (value == 0.0) {  // all-zero bits are 0 in every dtype
    CUDA_CHECK(cudaMemsetAsync(x.raw_data(), 0, x.nbytes(), stream()));
    return;
  }
  switch (x.dtype()) {
    case DType::f32:
      launch_fill<float>(x, static_cast<float>(value), stream());
      break;
    case DType::f64:
      launch_fill<double>(x, value, stream());
      break;
    case DType::i32:
      launch_fill<int32_t>(x, static_cast<int32_t>(value), stream());
      break;
  }
}

void CudaBackend::fill_uniform(const Tensor& x, double lo, double hi, uint64_t seed,
                               uint64_t offset) const {
  check_cuda_f32("fill_uniform", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  fill_uniform_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), lo, hi, seed,
                                                                offset, n);
  CUDA_CHECK_LAUNCH();
}

void CudaBackend::fill_normal(const Tensor& x, double mean, double std, uint64_t seed,
                              uint64_t offset) const {
  check_cuda_f32("fill_normal", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  fill_normal_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), mean, std, seed,
                                                               offset, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fsa
