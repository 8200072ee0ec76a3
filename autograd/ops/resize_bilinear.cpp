// resize_bilinear.cpp: bilinear resize of x (N,C,H,W) -> (N,C,out_h,out_w) with the source
// coordinate rule of ResizeMode (tensor/params.h; legacy_tf is TF-1 resize_images).
// Backward: the adjoint, dy scattered to the four source pixels with the forward weights.
#include "autograd/ops/common.h"
#include "autograd/ops/spatial.h"

namespace fsa {

namespace {
struct ResizeBilinearBackward final : Node {
  Shape x_shape;
  ResizeMode mode = ResizeMode::half_pixel;
  const char* name() const override { return "resize_bilinear"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).resize_bilinear_backward(dy, x_shape, mode)};
  }
};
}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, ResizeMode mode) {
  check_input("resize_bilinear", "x", x, 4);
  FSA_CHECK(x.dim(2) > 0 && x.dim(3) > 0, "[resize_bilinear] empty image in input ", x.shape());
  FSA_CHECK(out_h > 0 && out_w > 0, "[resize_bilinear] output size ", out_h, "x", out_w,
            " must be positive, input ", x.shape());
  Tensor y = backend_for(x.device()).resize_bilinear_forward(x, out_h, out_w, mode);
  if (auto node = make_node<ResizeBilinearBackward>({x})) {
    node->x_shape = x.shape();
    node->mode = mode;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
