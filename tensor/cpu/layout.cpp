// layout.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::permute(const Tensor& x, const std::vector<int64_t>& order) const {
  fail("[permute] not implemented on cpu yet");
}

Tensor CpuBackend::flip(const Tensor& x, int64_t axis) const {
  fail("[flip] not implemented on cpu yet");
}

Tensor CpuBackend::concat(const std::vector<Tensor>& parts, int64_t axis) const {
  fail("[concat] not implemented on cpu yet");
}

Tensor CpuBackend::slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
                         int64_t count) const {
  fail("[slice] not implemented on cpu yet");
}

Tensor CpuBackend::slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis,
                                  int64_t start, int64_t step) const {
  fail("[slice_backward] not implemented on cpu yet");
}

}  // namespace fsa
