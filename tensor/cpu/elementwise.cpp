// elementwise.cpp: unary and broadcasting binary ops, forward and backward, as plain loops
// over the scalar math of tensor/elementwise_math.h.
#include "tensor/broadcast.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/elementwise_math.h"

namespace fsa {

Tensor CpuBackend::unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "unary_forward", [&]<typename T>() {
    const T* in = x.data<T>();
    T* out = y.data<T>();
    const int64_t n = x.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) out[i] = unary_value(op, in[i], args);
  });
  return y;
}

Tensor CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                  const UnaryArgs& args) const {
  Tensor dx = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "unary_backward", [&]<typename T>() {
    const T* xs = x.data<T>();
    const T* ys = y.data<T>();
    const T* dys = dy.data<T>();
    T* dxs = dx.data<T>();
    const int64_t n = x.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) dxs[i] = unary_derivative(op, xs[i], ys[i], dys[i], args);
  });
  return dx;
}

Tensor CpuBackend::binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "binary_forward");
  Tensor y = Tensor::empty(shape, a.dtype());
  dispatch_float(a.dtype(), "binary_forward", [&]<typename T>() {
    const T* as = a.data<T>();
    const T* bs = b.data<T>();
    T* out = y.data<T>();
    const int64_t n = shape.numel();
    if (a.shape() == shape && b.shape() == shape) {
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i) out[i] = binary_value(op, as[i], bs[i]);
      return;
    }
    const BroadcastIndexer index_a(a.shape(), shape), index_b(b.shape(), shape);
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) out[i] = binary_value(op, as[index_a(i)], bs[index_b(i)]);
  });
  return y;
}

BinaryGrads CpuBackend::binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                                        const Tensor& dy) const {
  const Shape& shape = dy.shape();
  BinaryGrads grads{Tensor::empty(shape, a.dtype()), Tensor::empty(shape, a.dtype())};
  dispatch_float(a.dtype(), "binary_backward", [&]<typename T>() {
    const T* as = a.data<T>();
    const T* bs = b.data<T>();
    const T* dys = dy.data<T>();
    T* das = grads.da.data<T>();
    T* dbs = grads.db.data<T>();
    const BroadcastIndexer index_a(a.shape(), shape), index_b(b.shape(), shape);
    const int64_t n = shape.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      binary_derivative(op, as[index_a(i)], bs[index_b(i)], dys[i], das[i], dbs[i]);
    }
  });
  return grads;
}

}  // namespace fsa
