// matmul.cpp: matrix product y = a b, a (M,K), b (K,N) -> (M,N).
// Backward: da = dy b^T, db = a^T dy, both single GEMMs with transposed operands; each
// operand is saved only for the other's gradient.
#include "autograd/ops/common.h"
#include "autograd/ops/linear_algebra.h"

namespace fsa {

namespace {
struct MatmulBackward final : Node {
  Tensor a, b;  // a only when db is needed, b only when da is
  const char* name() const override { return "matmul"; }
  std::vector<Tensor> backward(Tensor dy) override {  // dy (M, N)
    const Backend& backend = backend_for(dy.device());
    return {needs_grad(0) ? backend.gemm(dy, false, b, true) : Tensor(),   // da (M, K)
            needs_grad(1) ? backend.gemm(a, true, dy, false) : Tensor()};  // db (K, N)
  }
};
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_input("matmul", "a", a, 2);
  check_input("matmul", "b", b, 2);
  check_same_device_and_dtype("matmul", a, b);
  FSA_CHECK(a.dim(1) == b.dim(0), "[matmul] inner dimensions differ: a ", a.shape(), " has ",
            a.dim(1), " columns, b ", b.shape(), " has ", b.dim(0), " rows");
  Tensor y = backend_for(a.device()).gemm(a, false, b, false);  // (M, N)
  if (auto node = make_node<MatmulBackward>({a, b})) {
    if (node->needs_grad(1)) node->a = a;
    if (node->needs_grad(0)) node->b = b;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
