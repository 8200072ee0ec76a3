// losses.h: classification and regression losses. Labels are int32 (N) tensors.
// Defined in cross_entropy.cpp, cw_margin.cpp and mse.cpp. Per-sample forms return (N).
#pragma once

#include "tensor/params.h"
#include "tensor/tensor.h"

namespace fsa {

// -log softmax(z)_y per sample, computed stably: (N,M) -> (N)
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// The Carlini-Wagner hinge per sample (tensor/params.h has the formula): (N,M) -> (N)
Tensor cw_margin(const Tensor& logits, const Tensor& labels, const CwMarginParams& p);
// mean((a - b)^2) over all elements -> ()
Tensor mse(const Tensor& a, const Tensor& b);

}  // namespace fsa
