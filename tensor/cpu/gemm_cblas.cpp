// gemm_cblas.cpp: gemm_f32 through CBLAS (OpenBLAS). CMake compiles this file instead of
// gemm_no_blas.cpp when it finds a CBLAS.
#include <cblas.h>

#include <algorithm>
#include <limits>

#include "tensor/check.h"
#include "tensor/cpu/gemm_f32.h"

namespace fsa {

namespace {
int blas_int(int64_t value) {
  FSA_CHECK(value <= std::numeric_limits<int>::max(), "[gemm] extent ", value,
            " is too large for BLAS");
  return static_cast<int>(value);
}
}  // namespace

void gemm_f32(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // NOTE: BLAS rejects lda = 0, which an empty inner dimension can give
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, blas_int(M), blas_int(N), blas_int(K), 1.0f,
              A, blas_int(lda), B, blas_int(ldb), 0.0f, C, blas_int(ldc));
}

}  // namespace fsa
