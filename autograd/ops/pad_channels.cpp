// pad_channels.cpp: zero channels before and after x (N,C,H,W), the option-A ResNet
// shortcut's channel growth. Composed as concat with zero blocks along axis 1, so the
// gradient is dy's slice of x's channels.
#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

Tensor pad_channels(const Tensor& x, int64_t before, int64_t after) {
  check_input("pad_channels", "x", x, 4);
  FSA_CHECK(before >= 0 && after >= 0, "[pad_channels] padding must be non-negative, got before ",
            before, " and after ", after, " for input ", x.shape());
  const auto zeros = [&x](int64_t channels) {
    return Tensor::zeros(Shape{x.dim(0), channels, x.dim(2), x.dim(3)}, x.dtype(), x.device());
  };
  std::vector<Tensor> parts;
  if (before > 0) parts.push_back(zeros(before));
  parts.push_back(x);
  if (after > 0) parts.push_back(zeros(after));
  return concat(parts, 1);
}

}  // namespace fsa
