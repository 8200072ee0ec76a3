// reflection_pad2d.cpp: mirror padding of x (N,C,H,W) by `pad` on all four sides without
// repeating the edge (PyTorch ReflectionPad2d) -> (N,C,H+2pad,W+2pad).
// Backward: each padded position's dy flows back to the pixel it mirrors.
#include "autograd/ops/common.h"
#include "autograd/ops/spatial.h"

namespace fsa {

namespace {
struct ReflectionPad2dBackward final : Node {
  int64_t pad = 0;
  const char* name() const override { return "reflection_pad2d"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).reflection_pad2d_backward(dy, pad)};
  }
};
}  // namespace

Tensor reflection_pad2d(const Tensor& x, int64_t pad) {
  check_input("reflection_pad2d", "x", x, 4);
  FSA_CHECK(pad >= 0, "[reflection_pad2d] pad must be non-negative, got ", pad);
  FSA_CHECK(pad < x.dim(2) && pad < x.dim(3), "[reflection_pad2d] pad ", pad,
            " must be smaller than H and W of input ", x.shape());
  Tensor y = backend_for(x.device()).reflection_pad2d_forward(x, pad);  // (N,C,H+2p,W+2p)
  if (auto node = make_node<ReflectionPad2dBackward>({x})) {
    node->pad = pad;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
