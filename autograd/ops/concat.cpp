// concat.cpp: tensors joined along one axis; they agree on every other axis.
// Backward: each part's gradient is its slice of dy.
#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

namespace {

struct ConcatBackward final : Node {
  int64_t axis = 0;
  std::vector<int64_t> extents;  // each part's extent along axis, in order
  const char* name() const override { return "concat"; }
  std::vector<Tensor> backward(Tensor dy) override {
    const Backend& backend = backend_for(dy.device());
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (size_t i = 0; i < extents.size(); ++i) {
      grads.push_back(needs_grad(i) ? backend.slice(dy, axis, start, 1, extents[i]) : Tensor());
      start += extents[i];
    }
    return grads;
  }
};

// Throws unless every part is defined, matches the first in device, dtype and rank, and
// agrees with it on every axis but `axis`.
void check_parts(const std::vector<Tensor>& parts, int64_t axis) {
  const Tensor& first = parts.front();
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& part = parts[i];
    FSA_CHECK(part.defined(), "[concat] part ", i, " is undefined");
    check_same_device_and_dtype("concat", first, part);
    FSA_CHECK(part.ndim() == first.ndim(), "[concat] part ", i, " has shape ", part.shape(),
              ", part 0 has ", first.shape(), ": ranks differ");
    for (int64_t d = 0; d < first.ndim(); ++d) {
      FSA_CHECK(d == axis || part.dim(d) == first.dim(d), "[concat] along axis ", axis, " part ", i,
                " has shape ", part.shape(), ", part 0 has ", first.shape());
    }
  }
}

}  // namespace

Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  FSA_CHECK(!parts.empty(), "[concat] needs at least one part");
  FSA_CHECK(parts.front().defined(), "[concat] part 0 is undefined");
  const int64_t resolved = parts.front().shape().normalize_axis(axis, "concat");
  check_parts(parts, resolved);
  Tensor y = backend_for(parts.front().device()).concat(parts, resolved);
  if (auto node = make_node<ConcatBackward>(parts)) {
    node->axis = resolved;
    for (const Tensor& part : parts) node->extents.push_back(part.dim(resolved));
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
