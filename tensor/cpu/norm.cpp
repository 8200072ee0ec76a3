// norm.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

BatchNormStats CpuBackend::batch_norm_stats(const Tensor& x) const {
  fail("[batch_norm_stats] not implemented on cpu yet");
}

Tensor CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& gamma, const Tensor& beta, double eps) const {
  fail("[batch_norm_forward] not implemented on cpu yet");
}

BatchNormGrads CpuBackend::batch_norm_backward(const Tensor& dy, const Tensor& x,
                                               const Tensor& mean, const Tensor& var,
                                               const Tensor& gamma, double eps,
                                               bool training) const {
  fail("[batch_norm_backward] not implemented on cpu yet");
}

}  // namespace fsa
