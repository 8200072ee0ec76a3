// pool.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::reflection_pad2d_forward(const Tensor& x, int64_t pad) const {
  fail("[reflection_pad2d_forward] not implemented on cpu yet");
}

Tensor CpuBackend::reflection_pad2d_backward(const Tensor& dy, int64_t pad) const {
  fail("[reflection_pad2d_backward] not implemented on cpu yet");
}

Tensor CpuBackend::max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  fail("[max_pool2d_forward] not implemented on cpu yet");
}

Tensor CpuBackend::max_pool2d_backward(const Tensor& x, const Tensor& dy,
                                       const Pool2dParams& p) const {
  fail("[max_pool2d_backward] not implemented on cpu yet");
}

Tensor CpuBackend::avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  fail("[avg_pool2d_forward] not implemented on cpu yet");
}

Tensor CpuBackend::avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                                       const Pool2dParams& p) const {
  fail("[avg_pool2d_backward] not implemented on cpu yet");
}

Tensor CpuBackend::upsample_nearest_forward(const Tensor& x, int64_t scale) const {
  fail("[upsample_nearest_forward] not implemented on cpu yet");
}

Tensor CpuBackend::upsample_nearest_backward(const Tensor& dy, int64_t scale) const {
  fail("[upsample_nearest_backward] not implemented on cpu yet");
}

}  // namespace fsa
