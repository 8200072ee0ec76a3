// elementwise.h: arithmetic with NumPy broadcasting (e.g. (N,C,H,W) with (N,C,1,1)),
// scalar arithmetic and the pointwise functions. Defined in binary.cpp and unary.cpp.
#pragma once

#include "tensor/tensor.h"

namespace fsa {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);  // gradient of ties goes to a
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient of ties goes to a

Tensor add_scalar(const Tensor& x, double value);
Tensor mul_scalar(const Tensor& x, double value);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor abs(const Tensor& x);    // gradient 0 at 0
Tensor sign(const Tensor& x);   // gradient 0
Tensor relu(const Tensor& x);   // gradient 0 at 0
Tensor leaky_relu(const Tensor& x, double negative_slope);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// min(max(x, lo), hi); the gradient passes only where lo <= x <= hi.
Tensor clamp(const Tensor& x, double lo, double hi);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, double s) { return add_scalar(x, s); }
inline Tensor operator-(const Tensor& x, double s) { return add_scalar(x, -s); }
inline Tensor operator*(const Tensor& x, double s) { return mul_scalar(x, s); }
inline Tensor operator*(double s, const Tensor& x) { return mul_scalar(x, s); }
inline Tensor operator/(const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); }

}  // namespace fsa
