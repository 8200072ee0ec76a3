// elementwise.cpp: unary and broadcasting binary ops, forward and backward, as plain loops
// over the scalar math of tensor/elementwise_math.h. The op is made a compile-time constant
// (with_unary_op / with_binary_op) so that its switch folds away and the loops vectorise,
// and a broadcast is walked as runs of contiguous output (broadcast_runs.h) in which each
// operand is either contiguous or one repeated value.
#include "tensor/cpu/broadcast_runs.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"
#include "tensor/elementwise_math.h"

namespace fsa {

namespace {

constexpr int64_t kParallelElements = 32768;  // below this, loops stay on one thread

// body.template operator()<kOp>() for the runtime op.
template <typename Body>
void with_unary_op(UnaryOp op, Body&& body) {
  switch (op) {
    case UnaryOp::neg:
      return body.template operator()<UnaryOp::neg>();
    case UnaryOp::exp:
      return body.template operator()<UnaryOp::exp>();
    case UnaryOp::log:
      return body.template operator()<UnaryOp::log>();
    case UnaryOp::sqrt:
      return body.template operator()<UnaryOp::sqrt>();
    case UnaryOp::abs:
      return body.template operator()<UnaryOp::abs>();
    case UnaryOp::sign:
      return body.template operator()<UnaryOp::sign>();
    case UnaryOp::relu:
      return body.template operator()<UnaryOp::relu>();
    case UnaryOp::leaky_relu:
      return body.template operator()<UnaryOp::leaky_relu>();
    case UnaryOp::tanh:
      return body.template operator()<UnaryOp::tanh>();
    case UnaryOp::sigmoid:
      return body.template operator()<UnaryOp::sigmoid>();
    case UnaryOp::pow:
      return body.template operator()<UnaryOp::pow>();
    case UnaryOp::add_scalar:
      return body.template operator()<UnaryOp::add_scalar>();
    case UnaryOp::mul_scalar:
      return body.template operator()<UnaryOp::mul_scalar>();
    case UnaryOp::clamp:
      return body.template operator()<UnaryOp::clamp>();
  }
  fail("[elementwise] unknown unary op ", static_cast<int>(op));
}

template <typename Body>
void with_binary_op(BinaryOp op, Body&& body) {
  switch (op) {
    case BinaryOp::add:
      return body.template operator()<BinaryOp::add>();
    case BinaryOp::sub:
      return body.template operator()<BinaryOp::sub>();
    case BinaryOp::mul:
      return body.template operator()<BinaryOp::mul>();
    case BinaryOp::div:
      return body.template operator()<BinaryOp::div>();
    case BinaryOp::minimum:
      return body.template operator()<BinaryOp::minimum>();
    case BinaryOp::maximum:
      return body.template operator()<BinaryOp::maximum>();
  }
  fail("[elementwise] unknown binary op ", static_cast<int>(op));
}

// out[i] = op(a[i * a_step], b[i * b_step]) for i < n, steps 0 or 1: one loop per case so
// that each vectorises.
template <BinaryOp kOp, typename T>
void binary_run(const T* a, int64_t a_step, const T* b, int64_t b_step, T* out, int64_t n) {
  if (a_step == 1 && b_step == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = binary_value(kOp, a[i], b[i]);
  } else if (a_step == 1) {
    const T b0 = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = binary_value(kOp, a[i], b0);
  } else if (b_step == 1) {
    const T a0 = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = binary_value(kOp, a0, b[i]);
  } else {
    const T value = binary_value(kOp, a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = value;
  }
}

// da[i], db[i] = the partial derivatives at (a[i * a_step], b[i * b_step]) times dy[i].
template <BinaryOp kOp, typename T>
void binary_derivative_run(const T* a, int64_t a_step, const T* b, int64_t b_step, const T* dy,
                           T* da, T* db, int64_t n) {
  if (a_step == 1 && b_step == 1) {
    for (int64_t i = 0; i < n; ++i) binary_derivative(kOp, a[i], b[i], dy[i], da[i], db[i]);
  } else if (a_step == 1) {
    const T b0 = b[0];
    for (int64_t i = 0; i < n; ++i) binary_derivative(kOp, a[i], b0, dy[i], da[i], db[i]);
  } else if (b_step == 1) {
    const T a0 = a[0];
    for (int64_t i = 0; i < n; ++i) binary_derivative(kOp, a0, b[i], dy[i], da[i], db[i]);
  } else {
    const T a0 = a[0], b0 = b[0];
    for (int64_t i = 0; i < n; ++i) binary_derivative(kOp, a0, b0, dy[i], da[i], db[i]);
  }
}

}  // namespace

Tensor CpuBackend::unary_forward(UnaryOp op, const Tensor& x, const UnaryArgs& args) const {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "unary_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
    const int64_t n = x.numel();
    with_unary_op(op, [&]<UnaryOp kOp>() {
      if (kOp == UnaryOp::pow && args.scalar == 2.0) {  // squares: a multiply, not a pow call
#pragma omp parallel for if (n > kParallelElements)
        for (int64_t i = 0; i < n; ++i) out[i] = in[i] * in[i];
        return;
      }
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) out[i] = unary_value(kOp, in[i], args);
    });
  });
  return y;
}

Tensor CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                  const UnaryArgs& args) const {
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype());
  dispatch_float(dy.dtype(), "unary_backward", [&]<typename T>() {
    const T* dys = dy.const_data<T>();
    // x or y may be undefined where the derivative does not read it; dy stands in.
    const T* xs = x.defined() ? x.const_data<T>() : dys;
    const T* ys = y.defined() ? y.const_data<T>() : dys;
    T* dxs = dx.data<T>();
    const int64_t n = dy.numel();
    with_unary_op(op, [&]<UnaryOp kOp>() {
      if (kOp == UnaryOp::pow && args.scalar == 2.0) {  // d(x^2) = 2 x dy
#pragma omp parallel for if (n > kParallelElements)
        for (int64_t i = 0; i < n; ++i) dxs[i] = dys[i] * T(2) * xs[i];
        return;
      }
#pragma omp parallel for if (n > kParallelElements)
      for (int64_t i = 0; i < n; ++i) dxs[i] = unary_derivative(kOp, xs[i], ys[i], dys[i], args);
    });
  });
  return dx;
}

Tensor CpuBackend::binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) const {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "binary_forward");
  Tensor y = Tensor::empty(shape, a.dtype());
  dispatch_float(a.dtype(), "binary_forward", [&]<typename T>() {
    const T* as = a.const_data<T>();
    const T* bs = b.const_data<T>();
    T* out = y.data<T>();
    const BroadcastRuns runs(shape, {a.shape(), b.shape()});
    with_binary_op(op, [&]<BinaryOp kOp>() {
#pragma omp parallel for if (shape.numel() > kParallelElements)
      for (int64_t run = 0; run < runs.count(); ++run) {
        const int64_t first = run * runs.length();
        binary_run<kOp>(as + runs.offset(0, first), runs.step(0), bs + runs.offset(1, first),
                        runs.step(1), out + first, runs.length());
      }
    });
  });
  return y;
}

BinaryGrads CpuBackend::binary_backward(BinaryOp op, const Tensor& a, const Tensor& b,
                                        const Tensor& dy) const {
  const Shape& shape = dy.shape();
  BinaryGrads grads{Tensor::empty(shape, a.dtype()), Tensor::empty(shape, a.dtype())};
  dispatch_float(a.dtype(), "binary_backward", [&]<typename T>() {
    const T* as = a.const_data<T>();
    const T* bs = b.const_data<T>();
    const T* dys = dy.const_data<T>();
    T* das = grads.da.data<T>();
    T* dbs = grads.db.data<T>();
    const BroadcastRuns runs(shape, {a.shape(), b.shape()});
    with_binary_op(op, [&]<BinaryOp kOp>() {
#pragma omp parallel for if (shape.numel() > kParallelElements)
      for (int64_t run = 0; run < runs.count(); ++run) {
        const int64_t first = run * runs.length();
        binary_derivative_run<kOp>(as + runs.offset(0, first), runs.step(0),
                                   bs + runs.offset(1, first), runs.step(1), dys + first,
                                   das + first, dbs + first, runs.length());
      }
    });
  });
  return grads;
}

}  // namespace fsa
