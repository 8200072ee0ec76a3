// permute.cpp: axes rearranged (output axis i is input axis order[i]); copies.
// Backward: dy permuted by the inverse order.
#include <algorithm>

#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

namespace {

struct PermuteBackward final : Node {
  std::vector<int64_t> inverse_order;
  const char* name() const override { return "permute"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).permute(dy, inverse_order)};
  }
};

// The order with negative axes resolved; throws unless it is a permutation of x's axes.
std::vector<int64_t> checked_order(const Tensor& x, const std::vector<int64_t>& order) {
  FSA_CHECK(static_cast<int64_t>(order.size()) == x.ndim(), "[permute] order ", Shape(order),
            " has ", order.size(), " axes, input ", x.shape(), " has ", x.ndim());
  std::vector<int64_t> resolved;
  for (int64_t axis : order) resolved.push_back(x.shape().normalize_axis(axis, "permute"));
  std::vector<int64_t> sorted = resolved;
  std::sort(sorted.begin(), sorted.end());
  FSA_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "[permute] order ",
            Shape(order), " repeats an axis of input ", x.shape());
  return resolved;
}

}  // namespace

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  FSA_CHECK(x.defined(), "[permute] input is undefined");
  const std::vector<int64_t> resolved = checked_order(x, order);
  Tensor y = backend_for(x.device()).permute(x, resolved);
  if (auto node = make_node<PermuteBackward>({x})) {
    node->inverse_order.resize(resolved.size());
    for (size_t i = 0; i < resolved.size(); ++i)
      node->inverse_order[static_cast<size_t>(resolved[i])] = static_cast<int64_t>(i);
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
