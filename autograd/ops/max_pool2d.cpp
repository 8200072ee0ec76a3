// max_pool2d.cpp: max pooling of x (N,C,H,W) -> (N,C,P,Q) with PyTorch semantics (padding
// counts as -inf, ceil_mode rule of Pool2dParams).
// Backward: dy goes to the first maximum of each window (row-major).
#include "autograd/ops/common.h"
#include "autograd/ops/spatial.h"

namespace fsa {

namespace {
struct MaxPool2dBackward final : Node {
  Tensor x;
  Pool2dParams p;
  const char* name() const override { return "max_pool2d"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).max_pool2d_backward(x, dy, p)};
  }
};
}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  check_pool2d("max_pool2d", x, p);
  Tensor y = backend_for(x.device()).max_pool2d_forward(x, p);  // (N,C,P,Q)
  if (auto node = make_node<MaxPool2dBackward>({x})) {
    node->x = x;
    node->p = p;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
