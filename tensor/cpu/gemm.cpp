// gemm.cpp: NOT YET IMPLEMENTED (placeholders that throw).
#include "tensor/cpu/cpu_backend.h"

namespace fsa {

Tensor CpuBackend::gemm(const Tensor& a, bool transpose_a, const Tensor& b,
                        bool transpose_b) const {
  fail("[gemm] not implemented on cpu yet");
}

}  // namespace fsa
