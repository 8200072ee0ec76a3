// avg_pool2d.cpp: average pooling of x (N,C,H,W) -> (N,C,P,Q) with PyTorch semantics
// (count_include_pad=True, ceil_mode rule of Pool2dParams), and global average pooling.
// Backward: each window's dy is shared equally by the elements it averaged.
#include "autograd/ops/common.h"
#include "autograd/ops/reduction.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/spatial.h"

namespace fsa {

namespace {
struct AvgPool2dBackward final : Node {
  Shape x_shape;
  Pool2dParams p;
  const char* name() const override { return "avg_pool2d"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).avg_pool2d_backward(dy, x_shape, p)};
  }
};
}  // namespace

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  check_pool2d("avg_pool2d", x, p);
  Tensor y = backend_for(x.device()).avg_pool2d_forward(x, p);  // (N,C,P,Q)
  if (auto node = make_node<AvgPool2dBackward>({x})) {
    node->x_shape = x.shape();
    node->p = p;
    attach(y, node);
  }
  return y;
}

// Composed from mean and its recorded gradient: (N,C,H,W) -> (N,C).
Tensor global_avg_pool2d(const Tensor& x) {
  check_input("global_avg_pool2d", "x", x, 4);
  FSA_CHECK(x.dim(2) > 0 && x.dim(3) > 0, "[global_avg_pool2d] empty image in input ", x.shape());
  return mean(x, {2, 3}, false);
}

}  // namespace fsa
