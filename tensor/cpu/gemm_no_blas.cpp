// gemm_no_blas.cpp: gemm_f32 when the build has no BLAS: the built-in blocked kernel of
// gemm_blocked.cpp. CMake compiles this file instead of gemm_cblas.cpp.
#include "tensor/cpu/gemm_f32.h"

namespace fsa {

void gemm_f32(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  gemm_f32_blocked(transpose_a, transpose_b, M, N, K, A, lda, B, ldb, C, ldc);
}

}  // namespace fsa
