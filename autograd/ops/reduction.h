// reduction.h: sums and means over all or given axes, per-channel spatial statistics
// (AdaIN), and the non-differentiable arg-top-k. Defined in sum.cpp, channel_std.cpp and
// topk.cpp.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// Sum over `axes` (negative axes count from the end); keepdim keeps them as extent 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor sum(const Tensor& x);  // all elements -> shape ()
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);

// Per-sample, per-channel statistics over H and W of x (N,C,H,W), shaped (N,C,1,1):
// mean, and std = sqrt(biased variance + eps) as AdaIN uses (algorithm.md §3).
Tensor channel_mean(const Tensor& x);
Tensor channel_std(const Tensor& x, double eps = 1e-5);

// Repeats x to `shape` along extent-1 (and new leading) dimensions.
Tensor broadcast_to(const Tensor& x, const Shape& shape);

// Not differentiable: int32 (N,k) indices of the k largest entries per row of x (N,M).
Tensor topk_indices(const Tensor& x, int64_t k);
Tensor argmax(const Tensor& x);  // int32 (N)

}  // namespace fsa
