// gemm_f32.h: the float32 GEMM kernels behind CpuBackend::gemm and the convolutions.
// Row-major C = op(A) op(B), op(A) (M,K), op(B) (K,N), C (M,N) written, never accumulated;
// lda, ldb, ldc are the row strides of A, B, C as stored (before any transpose).
#pragma once

#include <cstdint>

namespace fsa {

// The build's float32 GEMM: cblas_sgemm when CMake found a CBLAS (gemm_cblas.cpp),
// otherwise the built-in blocked kernel (gemm_no_blas.cpp).
void gemm_f32(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc);

// The built-in cache-blocked, OpenMP-parallel GEMM (gemm_blocked.cpp), built in every
// configuration so that tests can check it against the reference.
void gemm_f32_blocked(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K,
                      const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                      int64_t ldc);

}  // namespace fsa
