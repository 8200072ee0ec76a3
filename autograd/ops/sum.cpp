// sum.cpp: sum and mean over axes. Backward: dy is broadcast back over the summed axes
// (and scaled by 1/count for the mean, which is the sum times a scalar).
#include <algorithm>

#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduction.h"

namespace fsa {

namespace {

struct SumBackward final : Node {
  Shape x_shape, kept_shape;  // kept_shape: x_shape with the summed axes at extent 1
  const char* name() const override { return "sum"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).broadcast_to(dy.reshape_view(kept_shape), x_shape)};
  }
};

std::vector<int64_t> normalized_axes(const Tensor& x, const std::vector<int64_t>& axes) {
  std::vector<int64_t> result;
  for (int64_t axis : axes) result.push_back(x.shape().normalize_axis(axis, "sum"));
  std::sort(result.begin(), result.end());
  FSA_CHECK(std::adjacent_find(result.begin(), result.end()) == result.end(), "[sum] repeated axis for input ",
            x.shape());
  return result;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  check_input("sum", "x", x);
  const std::vector<int64_t> sorted = normalized_axes(x, axes);
  Tensor kept = backend_for(x.device()).sum_axes(x, sorted);
  std::vector<int64_t> out_dims;
  for (int64_t axis = 0; axis < x.ndim(); ++axis) {
    const bool summed = std::binary_search(sorted.begin(), sorted.end(), axis);
    if (!summed || keepdim) out_dims.push_back(summed ? 1 : x.dim(axis));
  }
  Tensor y = kept.reshape_view(Shape(out_dims));
  if (auto node = make_node<SumBackward>({x})) {
    node->x_shape = x.shape();
    node->kept_shape = kept.shape();
    attach(y, node);
  }
  return y;
}

Tensor sum(const Tensor& x) {
  std::vector<int64_t> all(static_cast<size_t>(x.ndim()));
  for (int64_t axis = 0; axis < x.ndim(); ++axis) all[static_cast<size_t>(axis)] = axis;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  int64_t count = 1;
  for (int64_t axis : normalized_axes(x, axes)) count *= x.dim(axis);
  return mul_scalar(sum(x, axes, keepdim), 1.0 / static_cast<double>(count));
}

Tensor mean(const Tensor& x) { return mul_scalar(sum(x), 1.0 / static_cast<double>(x.numel())); }

}  // namespace fsa
