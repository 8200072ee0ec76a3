// losses.h: classification and regression losses. Labels are int32 (N) tensors.
// Defined in cross_entropy.cpp, cw_margin.cpp, mse.cpp, log_softmax.cpp and
// kl_divergence.cpp. Per-sample forms return (N).
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
// log softmax(z) of each row, computed stably: (N,M) -> (N,M)
Tensor log_softmax(const Tensor& logits);
// KL(softmax(p) ‖ softmax(q)) per sample, Σ_j softmax(p)_j (log_softmax(p)_j - log_softmax(q)_j),
// differentiable in both: (N,M), (N,M) -> (N)
Tensor kl_divergence_logits(const Tensor& p_logits, const Tensor& q_logits);

}  // namespace fsa
