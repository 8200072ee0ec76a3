// upsample_nearest.cpp: nearest-neighbour upsampling by an integer factor, each pixel of
// x (N,C,H,W) copied into a scale x scale block -> (N,C,H*scale,W*scale).
// Backward: dx sums dy over each block.
#include "autograd/ops/common.h"
#include "autograd/ops/spatial.h"

namespace fsa {

namespace {
struct UpsampleNearestBackward final : Node {
  int64_t scale = 1;
  const char* name() const override { return "upsample_nearest"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).upsample_nearest_backward(dy, scale)};
  }
};
}  // namespace

Tensor upsample_nearest(const Tensor& x, int64_t scale) {
  check_input("upsample_nearest", "x", x, 4);
  FSA_CHECK(scale >= 1, "[upsample_nearest] scale must be a positive integer, got ", scale,
            " for input ", x.shape());
  Tensor y = backend_for(x.device()).upsample_nearest_forward(x, scale);  // (N,C,H*s,W*s)
  if (auto node = make_node<UpsampleNearestBackward>({x})) {
    node->scale = scale;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
