// elementwise.cu: unary and broadcasting binary ops, forward and backward, the twin of
// cpu/elementwise.cpp, over the same scalar math (tensor/elementwise_math.h): four elements
// per thread for unary ops, one for binary ops.
#include <cstdint>
#include <initializer_list>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/elementwise_math.h"

namespace fsa {

namespace {

// The unary kernels take four elements per thread through 16-byte loads (n / 4 groups, then
// the n % 4 left over by the first threads). Device storage starts where the allocator put
// it, always 16-byte aligned; the check keeps it so.
void check_aligned(const char* op, std::initializer_list<const float*> pointers) {
  for (const float* p : pointers) {
    FSA_CHECK(reinterpret_cast<uintptr_t>(p) % sizeof(float4) == 0, "[", op,
              "] device data is not 16-byte aligned");
  }
}

__global__ void unary_forward_kernel(UnaryOp op, const float* x, float* y, UnaryArgs args,
                                     int64_t n) {
  const int64_t groups = n / 4;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float4* y4 = reinterpret_cast<float4*>(y);
  for (int64_t i = global_thread_index(); i < groups; i += global_thread_count()) {
    const float4 v = x4[i];
    y4[i] = make_float4(unary_value(op, v.x, args), unary_value(op, v.y, args),
                        unary_value(op, v.z, args), unary_value(op, v.w, args));
  }
  const int64_t rest = 4 * groups + global_thread_index();
  if (rest < n) y[rest] = unary_value(op, x[rest], args);
}

__global__ void unary_backward_kernel(UnaryOp op, const float* x, const float* y, const float* dy,
                                      float* dx, UnaryArgs args, int64_t n) {
  const int64_t groups = n / 4;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const float4* y4 = reinterpret_cast<const float4*>(y);
  const float4* dy4 = reinterpret_cast<const float4*>(dy);
  float4* dx4 = reinterpret_cast<float4*>(dx);
  for (int64_t i = global_thread_index(); i < groups; i += global_thread_count()) {
    const float4 a = x4[i], b = y4[i], g = dy4[i];
    dx4[i] = make_float4(
        unary_derivative(op, a.x, b.x, g.x, args), unary_derivative(op, a.y, b.y, g.y, args),
        unary_derivative(op, a.z, b.z, g.z, args), unary_derivative(op, a.w, b.w, g.w, args));
  }
  const int64_t rest = 4 * groups + global_thread_index();
  if (rest < n) dx[rest] = unary_derivative(op, x[rest], y[rest], dy[rest], args);
}

__global__ void binary_forward_kernel(BinaryOp op, const float* a, StridedIndex index_a,
                                      const float* b, StridedIndex index_b, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    y[i] = binary_value(op, a[index_a(i)], b[index_b(i)]);
  }
}

__global__ void binary_backward_kernel(BinaryOp op, const float* a, StridedIndex index_a,
                                       const float* b, StridedIndex index_b, const float* dy,
                                       float* da, float* db, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    binary_derivative(op, a[index_a(i)], b[index_b(i)], dy[i], da[i], db[i]);
  }
}

}  // namespace

Tensor CudaBackend::unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const {
  check_cuda_f32("unary_forward", x);
  Tensor y = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  const int64_t n = x.numel();
  if (n == 0) return y;
  check_aligned("unary_forward", {x.data<float>(), y.data<float>()});
  unary_forward_kernel<<<grid_for((n + 3) / 4), kBlockSize, 0, stream()>>>(
      op, x.data<float>(), y.data<float>(), args, n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                   const UnaryArgs& args) const {
  check_cuda_f32("unary_backward", dy);
  if (x.defined()) check_cuda_f32("unary_backward", x);
  if (y.defined()) check_cuda_f32("unary_backward", y);
  Tensor dx = Tensor::empty(dy.shape(), DType::f32, Device::cuda);
  const int64_t n = dy.numel();
  if (n == 0) return dx;
  // x or y may be undefined where the derivative does not read it; dy stands in.
  const float* xs = x.defined() ? x.const_data<float>() : dy.const_data<float>();
  const float* ys = y.defined() ? y.const_data<float>() : dy.const_data<float>();
  check_aligned("unary_backward", {xs, ys, dy.data<float>(), dx.data<float>()});
  unary_backward_kernel<<<grid_for((n + 3) / 4), kBlockSize, 0, stream()>>>(
      op, xs, ys, dy.data<float>(), dx.data<float>(), args, n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

Tensor CudaBackend::binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const {
  check_cuda_f32("binary_forward", a);
  check_cuda_f32("binary_forward", b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "binary_forward");
  Tensor y = Tensor::empty(shape, DType::f32, Device::cuda);
  const int64_t n = shape.numel();
  if (n == 0) return y;
  binary_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      op, a.data<float>(), broadcast_index(a.shape(), shape, "binary_forward"), b.data<float>(),
      broadcast_index(b.shape(), shape, "binary_forward"), y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

BinaryGrads CudaBackend::binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                                         const Tensor& dy) const {
  check_cuda_f32("binary_backward", a);
  check_cuda_f32("binary_backward", b);
  check_cuda_f32("binary_backward", dy);
  const Shape& shape = dy.shape();
  BinaryGrads grads{Tensor::empty(shape, DType::f32, Device::cuda),
                    Tensor::empty(shape, DType::f32, Device::cuda)};
  const int64_t n = shape.numel();
  if (n == 0) return grads;
  binary_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      op, a.data<float>(), broadcast_index(a.shape(), shape, "binary_backward"), b.data<float>(),
      broadcast_index(b.shape(), shape, "binary_backward"), dy.data<float>(),
      grads.da.data<float>(), grads.db.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return grads;
}

}  // namespace fsa
