// topk.cpp: indices of the largest entries per row. Not differentiable (integer output).
#include "autograd/ops/common.h"
#include "autograd/ops/reduction.h"

namespace fsa {

Tensor topk_indices(const Tensor& x, int64_t k) {
  check_input("topk_indices", "x", x, 2);
  FSA_CHECK(k >= 1 && k <= x.dim(1), "[topk_indices] k = ", k, " is out of range for ", x.shape());
  return backend_for(x.device()).topk_indices(x, k);
}

Tensor argmax(const Tensor& x) { return topk_indices(x, 1).reshape_view(Shape{x.dim(0)}); }

}  // namespace fsa
