// conv2d_relu.cpp: relu(conv2d(x, w, b, p)) as one op, as VGG-19 and the decoders use it: the
// ReLU applied as the convolution stores each output (on the CPU), so that the convolution's
// own output is never written out nor read again. Backward: dy masked by the output (y > 0),
// then the convolution's gradients. It keeps what the two ops kept: x (for the weight
// gradient), w, and the output y.
#include "autograd/ops/conv2d_common.h"
#include "autograd/ops/linear_algebra.h"
#include "autograd/variable.h"

namespace fsa {

namespace {
struct Conv2dReluBackward final : Conv2dNode {
  Tensor y;  // the output: the ReLU's mask (y > 0)
  const char* name() const override { return "conv2d_relu"; }
  std::vector<Tensor> backward(Tensor dy) override {
    const Tensor masked =
        backend_for(dy.device()).unary_backward(UnaryOp::relu, Tensor(), y, dy, {});
    dy = Tensor();  // freed before the convolution's gradients, as between two separate ops
    return gradients(masked);
  }
};
}  // namespace

Tensor conv2d_relu(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  check_conv2d_inputs("conv2d_relu", x, w, b, p);
  Tensor y = backend_for(x.device()).conv2d_relu_forward(x, w, b, p);  // (N, K, P, Q)
  if (auto node = make_node<Conv2dReluBackward>({x, w, b})) {
    node->save(x, w, p);
    node->y = detach(y);  // NOTE: saving y itself would make a cycle y -> node -> y
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
