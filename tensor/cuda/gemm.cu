// gemm.cu: C = op(A) op(B) through cuBLAS, the twin of cpu/gemm.cpp. No device code of its
// own; it keeps the .cu stem of its CPU twin's directory mirror.
//
// The row-major trick, once: cuBLAS is column-major, and a row-major (r x c) matrix read
// column-major is its transpose (c x r). So a row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T: call cuBLAS with B first and A second, keep each operand's own
// transpose flag, give each its row-major row length as leading dimension, and swap
// m and n. No data moves.
#include "tensor/cuda/cuda_backend.h"

namespace fsa {

Tensor CudaBackend::gemm(const Tensor& a, bool transpose_a, const Tensor& b,
                         bool transpose_b) const {
  check_cuda_f32("gemm", a);
  check_cuda_f32("gemm", b);
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t k_b = transpose_b ? b.dim(1) : b.dim(0);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  FSA_CHECK(k == k_b, "[gemm] inner dimensions differ: ", a.shape(),
            transpose_a ? " (transposed)" : "", " x ", b.shape(),
            transpose_b ? " (transposed)" : "");
  const int64_t limit = int64_t{1} << 31;
  FSA_CHECK(m < limit && n < limit && k < limit, "[gemm] extents too large for cuBLAS: ", a.shape(),
            " x ", b.shape());
  Tensor c = Tensor::empty(Shape{m, n}, DType::f32, Device::cuda);  // (M, N)
  if (m == 0 || n == 0) return c;
  if (k == 0) {
    fill(c, 0.0);
    return c;
  }
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cublas(), transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                           transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                           static_cast<int>(m), static_cast<int>(k), &one, b.data<float>(),
                           static_cast<int>(b.dim(1)), a.data<float>(), static_cast<int>(a.dim(1)),
                           &zero, c.data<float>(), static_cast<int>(n)));
  return c;
}

}  // namespace fsa
