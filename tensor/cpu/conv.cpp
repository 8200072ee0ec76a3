// conv.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                  const Conv2dParams& p) const {
  fail("[conv2d_forward] not implemented on cpu yet");
}

Tensor CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                        const Conv2dParams& p) const {
  fail("[conv2d_backward_data] not implemented on cpu yet");
}

Tensor CpuBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                          const Conv2dParams& p) const {
  fail("[conv2d_backward_weight] not implemented on cpu yet");
}

}  // namespace fsa
