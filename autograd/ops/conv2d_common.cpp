// conv2d_common.cpp: the input checks and gradients of conv2d_common.h.
#include "autograd/ops/conv2d_common.h"

#include "autograd/ops/common.h"

namespace fsa {

void check_conv2d_inputs(const char* op, const Tensor& x, const Tensor& w, const Tensor& b,
                         const Conv2dParams& p) {
  check_input(op, "x", x, 4);
  check_input(op, "weight", w, 4);
  check_same_device_and_dtype(op, x, w);
  FSA_CHECK(w.dim(1) == x.dim(1), "[", op, "] weight ", w.shape(), " expects ", w.dim(1),
            " input channels, input ", x.shape(), " has ", x.dim(1));
  if (b.defined()) {
    check_input(op, "bias", b, 1);
    check_same_device_and_dtype(op, x, b);
    FSA_CHECK(b.dim(0) == w.dim(0), "[", op, "] bias ", b.shape(), " should have ", w.dim(0),
              " entries, one per output channel of weight ", w.shape());
  }
  FSA_CHECK(p.stride >= 1, "[", op, "] stride must be at least 1, got ", p.stride);
  FSA_CHECK(p.padding >= 0, "[", op, "] padding must be non-negative, got ", p.padding);
  const int64_t padded_h = x.dim(2) + 2 * p.padding, padded_w = x.dim(3) + 2 * p.padding;
  FSA_CHECK(w.dim(2) <= padded_h && w.dim(3) <= padded_w, "[", op, "] kernel ", w.dim(2), "x",
            w.dim(3), " of weight ", w.shape(), " is larger than the padded input ", padded_h, "x",
            padded_w, " (input ", x.shape(), ", padding ", p.padding, ")");
}

std::vector<Tensor> Conv2dNode::gradients(const Tensor& dy) const {
  const Backend& backend = backend_for(dy.device());
  const int64_t out_channels = w.dim(0);
  return {
      needs_grad(0) ? backend.conv2d_backward_data(dy, w, input_shapes()[0], params) : Tensor(),
      needs_grad(1) ? backend.conv2d_backward_weight(dy, x, w.shape(), params) : Tensor(),
      needs_grad(2) ? backend.sum_axes(dy, {0, 2, 3}).reshape_view(Shape{out_channels}) : Tensor()};
}

}  // namespace fsa
