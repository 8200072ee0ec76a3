// resize.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::resize_bilinear_forward(const Tensor& x, int64_t out_h, int64_t out_w,
                                           ResizeMode mode) const {
  fail("[resize_bilinear_forward] not implemented on cpu yet");
}

Tensor CpuBackend::resize_bilinear_backward(const Tensor& dy, const Shape& x_shape,
                                            ResizeMode mode) const {
  fail("[resize_bilinear_backward] not implemented on cpu yet");
}

}  // namespace fsa
