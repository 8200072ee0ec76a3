// clip_gradients.cpp: element-wise gradient clipping. The clipped gradient is a new tensor
// (the backend's clamp) stored in the parameter's gradient slot: the old gradient may share
// storage with other tensors, so it is never modified in place.
#include "autograd/optim/clip_gradients.h"

#include "autograd/autograd_meta.h"
#include "tensor/backend.h"

namespace fsa {

void clip_gradients_elementwise(const std::vector<Tensor>& params, double c) {
  FSA_CHECK(c >= 0.0, "[clip_gradients_elementwise] limit must be non-negative, got ", c);
  for (const Tensor& param : params) {
    if (!param.defined()) continue;
    const auto& meta = param.autograd_meta();
    if (meta == nullptr || !meta->grad.defined()) continue;
    meta->grad = backend_for(meta->grad.device())
                     .unary_forward(UnaryOp::clamp, meta->grad, {.lo = -c, .hi = c});
  }
}

}  // namespace fsa
