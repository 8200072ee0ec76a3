// conv2d.cpp: 2-D convolution as PyTorch computes it (cross-correlation, zero padding):
// x (N,C,H,W), w (K,C,R,S), b (K) or undefined -> y (N,K,P,Q), P = (H + 2 pad - R) / stride + 1.
// Backward: the backend's conv2d_backward_data / _weight; db sums dy over axes (0, 2, 3).
// x is saved only for the weight gradient (frozen weights: the input may be freed).
#include "autograd/ops/conv2d_common.h"
#include "autograd/ops/linear_algebra.h"

namespace fsa {

namespace {
struct Conv2dBackward final : Conv2dNode {
  const char* name() const override { return "conv2d"; }
  std::vector<Tensor> backward(Tensor dy) override { return gradients(dy); }
};
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  check_conv2d_inputs("conv2d", x, w, b, p);
  Tensor y = backend_for(x.device()).conv2d_forward(x, w, b, p);  // (N, K, P, Q)
  if (auto node = make_node<Conv2dBackward>({x, w, b})) {
    node->save(x, w, p);
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
