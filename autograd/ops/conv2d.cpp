// conv2d.cpp: 2-D convolution as PyTorch computes it (cross-correlation, zero padding):
// x (N,C,H,W), w (K,C,R,S), b (K) or undefined -> y (N,K,P,Q), P = (H + 2 pad - R) / stride + 1.
// Backward: the backend's conv2d_backward_data / _weight; db sums dy over axes (0, 2, 3).
// x is saved only for the weight gradient (frozen weights: the input may be freed).
#include "autograd/ops/common.h"
#include "autograd/ops/linear_algebra.h"

namespace fsa {

namespace {
struct Conv2dBackward final : Node {
  Tensor x, w;  // x only when the weight gradient is needed
  Conv2dParams params;
  const char* name() const override { return "conv2d"; }
  std::vector<Tensor> backward(const Tensor& dy) override {  // dy (N, K, P, Q)
    const Backend& backend = backend_for(dy.device());
    const int64_t out_channels = w.dim(0);
    return {needs_grad(0) ? backend.conv2d_backward_data(dy, w, input_shapes()[0], params)
                          : Tensor(),
            needs_grad(1) ? backend.conv2d_backward_weight(dy, x, w.shape(), params) : Tensor(),
            needs_grad(2) ? backend.sum_axes(dy, {0, 2, 3}).reshape_view(Shape{out_channels})
                          : Tensor()};  // dx (N,C,H,W), dw (K,C,R,S), db (K)
  }
};

void check_conv2d_inputs(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  check_input("conv2d", "x", x, 4);
  check_input("conv2d", "weight", w, 4);
  check_same_device_and_dtype("conv2d", x, w);
  FSA_CHECK(w.dim(1) == x.dim(1), "[conv2d] weight ", w.shape(), " expects ", w.dim(1),
            " input channels, input ", x.shape(), " has ", x.dim(1));
  if (b.defined()) {
    check_input("conv2d", "bias", b, 1);
    check_same_device_and_dtype("conv2d", x, b);
    FSA_CHECK(b.dim(0) == w.dim(0), "[conv2d] bias ", b.shape(), " should have ", w.dim(0),
              " entries, one per output channel of weight ", w.shape());
  }
  FSA_CHECK(p.stride >= 1, "[conv2d] stride must be at least 1, got ", p.stride);
  FSA_CHECK(p.padding >= 0, "[conv2d] padding must be non-negative, got ", p.padding);
  const int64_t padded_h = x.dim(2) + 2 * p.padding, padded_w = x.dim(3) + 2 * p.padding;
  FSA_CHECK(w.dim(2) <= padded_h && w.dim(3) <= padded_w, "[conv2d] kernel ", w.dim(2), "x",
            w.dim(3), " of weight ", w.shape(), " is larger than the padded input ", padded_h, "x",
            padded_w, " (input ", x.shape(), ", padding ", p.padding, ")");
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  check_conv2d_inputs(x, w, b, p);
  Tensor y = backend_for(x.device()).conv2d_forward(x, w, b, p);  // (N, K, P, Q)
  if (auto node = make_node<Conv2dBackward>({x, w, b})) {
    if (node->needs_grad(1)) node->x = x;
    node->w = w;
    node->params = p;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
