// elementwise.cu: unary and broadcasting binary ops, forward and backward, the twin of
// cpu/elementwise.cpp: one thread per element over the same scalar math
// (tensor/elementwise_math.h).
#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/elementwise_math.h"

namespace fsa {

namespace {

__global__ void unary_forward_kernel(UnaryOp op, const float* x, float* y, UnaryArgs args,
                                     int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    y[i] = unary_value(op, x[i], args);
  }
}

__global__ void unary_backward_kernel(UnaryOp op, const float* x, const float* y, const float* dy,
                                      float* dx, UnaryArgs args, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    dx[i] = unary_derivative(op, x[i], y[i], dy[i], args);
  }
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
  unary_forward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(op, x.data<float>(),
                                                                 y.data<float>(), args, n);
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
  const float* xs = x.defined() ? x.data<float>() : dy.data<float>();
  const float* ys = y.defined() ? y.data<float>() : dy.data<float>();
  unary_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(op, xs, ys, dy.data<float>(),
                                                                  dx.data<float>(), args, n);
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
