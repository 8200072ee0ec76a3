// gemm_blocked.cpp: the built-in float32 GEMM (gemm_f32_blocked) on plain row-major
// matrices: the packed GEMM of gemm_packed.cpp with strided operands. It is the build's
// gemm_f32 unless CMake chose a CBLAS, and built in every configuration for the tests.
#include "tensor/cpu/gemm_f32.h"
#include "tensor/cpu/gemm_packed.h"

namespace fsa {

void gemm_f32_blocked(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                      int64_t ldc) {
  gemm_packed(M, N, K, left_operand(A, lda, transpose_a), right_operand(B, ldb, transpose_b),
              {.data = C, .row_stride = ldc, .columns = {.stride = 1}});
}

}  // namespace fsa
