// linear_algebra.h: matrix products and convolution. Defined in matmul.cpp, linear.cpp,
// conv2d.cpp and conv2d_relu.cpp.
#pragma once

#include "tensor/params.h"
#include "tensor/tensor.h"

namespace fsa {

// (M,K) x (K,N) -> (M,N)
Tensor matmul(const Tensor& a, const Tensor& b);
// x (N,I), w (O,I) as PyTorch stores it, b (O) or undefined -> x w^T + b (N,O)
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
// x (N,C,H,W), w (K,C,R,S), b (K) or undefined -> (N,K,P,Q), zero padding.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p);
// relu(conv2d(x, w, b, p)), the same values and gradients, in one pass over the output where
// the backend fuses the two (the CPU's).
Tensor conv2d_relu(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p);

}  // namespace fsa
