// gemm.cpp: CpuBackend::gemm, C = op(A) op(B) for 2-D tensors. float32 runs the build's
// gemm_f32 (CBLAS or the built-in blocked kernel); float64 runs the plain reference loop
// of gemm.h, which is also the tests' oracle.
#include "tensor/cpu/gemm.h"

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

Tensor CpuBackend::gemm(const Tensor& a, bool transpose_a, const Tensor& b,
                        bool transpose_b) const {
  FSA_CHECK(a.ndim() == 2 && b.ndim() == 2, "[gemm] needs 2-D operands, got ", a.shape(), " and ",
            b.shape());
  FSA_CHECK(a.dtype() == b.dtype(), "[gemm] operands differ in dtype: ", a.dtype(), " and ",
            b.dtype());
  const int64_t M = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t K = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t N = transpose_b ? b.dim(0) : b.dim(1);
  const int64_t b_rows = transpose_b ? b.dim(1) : b.dim(0);
  FSA_CHECK(K == b_rows, "[gemm] inner dimensions differ: op(a) has ", K, " columns, op(b) has ",
            b_rows, " rows (a ", a.shape(), transpose_a ? " transposed" : "", ", b ", b.shape(),
            transpose_b ? " transposed)" : ")");
  Tensor c = Tensor::empty(Shape{M, N}, a.dtype());  // (M, N)
  dispatch_float(a.dtype(), "gemm", [&]<typename T>() {
    gemm_kernel(transpose_a, transpose_b, M, N, K, a.const_data<T>(), a.dim(1), b.const_data<T>(),
                b.dim(1), c.data<T>(), N);
  });
  return c;
}

}  // namespace fsa
