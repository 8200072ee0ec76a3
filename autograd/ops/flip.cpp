// flip.cpp: the order along one axis reversed, and RGB <-> BGR as the flip of the channel
// axis. Backward: dy flipped back (flip is its own inverse).
#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

namespace {

struct FlipBackward final : Node {
  int64_t axis = 0;
  const char* name() const override { return "flip"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).flip(dy, axis)};
  }
};

}  // namespace

Tensor flip(const Tensor& x, int64_t axis) {
  FSA_CHECK(x.defined(), "[flip] input is undefined");
  const int64_t resolved = x.shape().normalize_axis(axis, "flip");
  Tensor y = backend_for(x.device()).flip(x, resolved);
  if (auto node = make_node<FlipBackward>({x})) {
    node->axis = resolved;
    attach(y, node);
  }
  return y;
}

Tensor reverse_channels(const Tensor& x) {
  FSA_CHECK(x.defined() && x.ndim() == 4 && x.dim(1) == 3,
            "[reverse_channels] input must be (N,3,H,W), got ",
            x.defined() ? to_string(x.shape()) : "undefined");
  return flip(x, 1);
}

}  // namespace fsa
