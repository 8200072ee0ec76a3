// channel_std.cpp: per-sample, per-channel spatial statistics of x (N,C,H,W), as AdaIN
// uses them: std = sqrt(mean_hw (x - mean)^2 + eps), shaped (N,C,1,1).
// Backward: d std / d x = (x - mean) / (H W std). channel_mean is a mean over (2,3).
#include "autograd/ops/common.h"
#include "autograd/ops/reduction.h"

namespace fsa {

namespace {
struct ChannelStdBackward final : Node {
  Tensor x, std;
  const char* name() const override { return "channel_std"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).channel_std_backward(x, std, dy)};
  }
};
}  // namespace

Tensor channel_std(const Tensor& x, double eps) {
  check_input("channel_std", "x", x, 4);
  FSA_CHECK(eps > 0.0, "[channel_std] eps must be positive, got ", eps);
  Tensor std = backend_for(x.device()).channel_std_forward(x, eps);
  if (auto node = make_node<ChannelStdBackward>({x})) {
    node->x = x;
    node->std = detach(std);  // NOTE: not std itself: that would make a cycle
    attach(std, node);
  }
  return std;
}

Tensor channel_mean(const Tensor& x) {
  check_input("channel_mean", "x", x, 4);
  return mean(x, {2, 3}, true);
}

}  // namespace fsa
