// elementwise_math.h: the scalar math of the elementwise ops, written once and shared by
// the CPU loops and the CUDA kernels (MLX's unary_ops.h idea).
#pragma once

#include <cmath>

#include "tensor/params.h"

#if defined(__CUDACC__)
#define FSA_HOST_DEVICE __host__ __device__
#else
#define FSA_HOST_DEVICE
#endif

namespace fsa {

template <typename T>
FSA_HOST_DEVICE inline T unary_value(UnaryOp op, T x, const UnaryArgs& args) {
  const T s = static_cast<T>(args.scalar);
  switch (op) {
    case UnaryOp::neg:
      return -x;
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::abs:
      return std::abs(x);
    case UnaryOp::sign:
      return static_cast<T>((x > T(0)) - (x < T(0)));
    case UnaryOp::relu:
      return x > T(0) ? x : T(0);
    case UnaryOp::leaky_relu:
      return x > T(0) ? x : s * x;
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case UnaryOp::pow:
      return std::pow(x, s);
    case UnaryOp::add_scalar:
      return x + s;
    case UnaryOp::mul_scalar:
      return x * s;
    case UnaryOp::clamp: {
      const T lo = static_cast<T>(args.lo), hi = static_cast<T>(args.hi);
      return x < lo ? lo : (x > hi ? hi : x);
    }
  }
  return x;
}

// What unary_derivative reads of x and y = op(x); autograd saves only those, so that an
// op like relu does not keep its input alive (the op before it may then free it).
struct UnaryDerivativeReads {
  bool x;
  bool y;
};
FSA_HOST_DEVICE constexpr UnaryDerivativeReads unary_derivative_reads(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::sign:
    case UnaryOp::add_scalar:
    case UnaryOp::mul_scalar:
      return {false, false};
    case UnaryOp::exp:
    case UnaryOp::sqrt:
    case UnaryOp::relu:
    case UnaryOp::tanh:
    case UnaryOp::sigmoid:
      return {false, true};
    case UnaryOp::log:
    case UnaryOp::abs:
    case UnaryOp::leaky_relu:
    case UnaryOp::pow:
    case UnaryOp::clamp:
      return {true, false};
  }
  return {true, true};
}

// d op(x) / dx times dy, given x and y = op(x); reads only what unary_derivative_reads says.
template <typename T>
FSA_HOST_DEVICE inline T unary_derivative(UnaryOp op, T x, T y, T dy, const UnaryArgs& args) {
  const T s = static_cast<T>(args.scalar);
  switch (op) {
    case UnaryOp::neg:
      return -dy;
    case UnaryOp::exp:
      return dy * y;
    case UnaryOp::log:
      return dy / x;
    case UnaryOp::sqrt:
      return dy / (T(2) * y);
    case UnaryOp::abs:
      return x > T(0) ? dy : (x < T(0) ? -dy : T(0));
    case UnaryOp::sign:
      return T(0);
    case UnaryOp::relu:
      return y > T(0) ? dy : T(0);  // y > 0 exactly where x > 0
    case UnaryOp::leaky_relu:
      return x > T(0) ? dy : s * dy;
    case UnaryOp::tanh:
      return dy * (T(1) - y * y);
    case UnaryOp::sigmoid:
      return dy * y * (T(1) - y);
    case UnaryOp::pow:
      return s == T(0) ? T(0) : dy * s * std::pow(x, s - T(1));
    case UnaryOp::add_scalar:
      return dy;
    case UnaryOp::mul_scalar:
      return dy * s;
    case UnaryOp::clamp:
      return (x >= static_cast<T>(args.lo) && x <= static_cast<T>(args.hi)) ? dy : T(0);
  }
  return dy;
}

template <typename T>
FSA_HOST_DEVICE inline T binary_value(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add:
      return a + b;
    case BinaryOp::sub:
      return a - b;
    case BinaryOp::mul:
      return a * b;
    case BinaryOp::div:
      return a / b;
    case BinaryOp::minimum:
      return a <= b ? a : b;
    case BinaryOp::maximum:
      return a >= b ? a : b;
  }
  return a;
}

// Partial derivatives times dy: writes da and db.
template <typename T>
FSA_HOST_DEVICE inline void binary_derivative(BinaryOp op, T a, T b, T dy, T& da, T& db) {
  switch (op) {
    case BinaryOp::add:
      da = dy;
      db = dy;
      return;
    case BinaryOp::sub:
      da = dy;
      db = -dy;
      return;
    case BinaryOp::mul:
      da = dy * b;
      db = dy * a;
      return;
    case BinaryOp::div:
      da = dy / b;
      db = -dy * a / (b * b);
      return;
    case BinaryOp::minimum:
      da = a <= b ? dy : T(0);
      db = a <= b ? T(0) : dy;
      return;
    case BinaryOp::maximum:
      da = a >= b ? dy : T(0);
      db = a >= b ? T(0) : dy;
      return;
  }
}

}  // namespace fsa
