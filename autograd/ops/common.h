// common.h: small helpers shared by the op files: input validation and the reduction of
// a broadcast gradient back to the shape of its input.
#pragma once

#include "autograd/node.h"
#include "tensor/backend.h"

namespace fsa {

// Sums a gradient of a broadcast result down to `shape` (the adjoint of broadcasting).
Tensor sum_to_shape(const Tensor& gradient, const Shape& shape);

// Throws unless `x` is defined, floating and of rank `ndim` (ndim < 0: any rank).
void check_input(const char* op, const char* name, const Tensor& x, int64_t ndim = -1);

// Throws unless x is (N,C,H,W) floating and the pooling window of `p` is valid for it:
// non-empty H and W, positive kernel and stride, 0 <= padding <= kernel/2, and the
// kernel fits the padded input.
void check_pool2d(const char* op, const Tensor& x, const Pool2dParams& p);

}  // namespace fsa
