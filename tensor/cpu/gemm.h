// gemm.h: pointer-level GEMM for the CPU kernels. gemm_reference is the plain triple loop,
// the oracle for every faster path; gemm_kernel picks the kernel for a type (float32: the
// build's gemm_f32, float64: the reference). Conventions as in gemm_f32.h.
#pragma once

#include <cstdint>

#include "tensor/cpu/gemm_f32.h"

namespace fsa {

// C = op(A) op(B) with the products summed in double.
template <typename T>
void gemm_reference(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, const T* A,
                    int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc) {
  // op(A)(i,p) = A[i * a_row + p * a_col], and likewise for B.
  const int64_t a_row = transpose_a ? 1 : lda, a_col = transpose_a ? lda : 1;
  const int64_t b_row = transpose_b ? 1 : ldb, b_col = transpose_b ? ldb : 1;
#pragma omp parallel for if (M * N * K > 100000)
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double total = 0.0;
      for (int64_t p = 0; p < K; ++p) {
        total += static_cast<double>(A[i * a_row + p * a_col]) * B[p * b_row + j * b_col];
      }
      C[i * ldc + j] = static_cast<T>(total);
    }
  }
}

inline void gemm_kernel(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                        int64_t ldc) {
  gemm_f32(transpose_a, transpose_b, M, N, K, A, lda, B, ldb, C, ldc);
}

inline void gemm_kernel(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K,
                        const double* A, int64_t lda, const double* B, int64_t ldb, double* C,
                        int64_t ldc) {
  gemm_reference(transpose_a, transpose_b, M, N, K, A, lda, B, ldb, C, ldc);
}

}  // namespace fsa
