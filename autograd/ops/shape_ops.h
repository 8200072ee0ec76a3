// shape_ops.h: reshaping and rearranging without arithmetic. Defined in reshape.cpp,
// permute.cpp, concat.cpp, slice.cpp, flip.cpp and pad_channels.cpp.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// Same elements, new shape (one extent may be -1: inferred). Shares storage.
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);
// (N, ...) -> (N, product of the rest)
Tensor flatten(const Tensor& x);
// Axes rearranged: output axis i is input axis order[i]. Copies.
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
// Joins tensors that agree on every axis but `axis`.
Tensor concat(const std::vector<Tensor>& parts, int64_t axis);
// Elements start, start+step, ... below stop along `axis` (Python's x[start:stop:step], step > 0).
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step = 1);
// x[:, :, ::stride, ::stride] of (N,C,H,W): the option-A ResNet shortcut's subsampling.
Tensor subsample2d(const Tensor& x, int64_t stride);
// Reverses the order along `axis`.
Tensor flip(const Tensor& x, int64_t axis);
// RGB <-> BGR of (N,3,H,W): flip(x, 1).
Tensor reverse_channels(const Tensor& x);
// Zero channels added before and after: (N,C,H,W) -> (N,before+C+after,H,W) (option A).
Tensor pad_channels(const Tensor& x, int64_t before, int64_t after);

}  // namespace fsa
