// loss.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels) const {
  fail("[softmax_cross_entropy_forward] not implemented on cpu yet");
}

Tensor CpuBackend::softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                                  const Tensor& dy) const {
  fail("[softmax_cross_entropy_backward] not implemented on cpu yet");
}

Tensor CpuBackend::cw_margin_forward(const Tensor& logits, const Tensor& labels,
                                     const CwMarginParams& p) const {
  fail("[cw_margin_forward] not implemented on cpu yet");
}

Tensor CpuBackend::cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                                      const CwMarginParams& p) const {
  fail("[cw_margin_backward] not implemented on cpu yet");
}

}  // namespace fsa
