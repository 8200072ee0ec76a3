// optim.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

void CpuBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                            const SgdParams& p) const {
  fail("[sgd_update] not implemented on cpu yet");
}

void CpuBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& m,
                             const Tensor& v, const AdamParams& p) const {
  fail("[adam_update] not implemented on cpu yet");
}

}  // namespace fsa
