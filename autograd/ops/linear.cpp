// linear.cpp: fully connected layer y = x w^T + b, x (N,I), w (O,I) as PyTorch stores it,
// b (O) or undefined -> (N,O).
// Backward: dx = dy w, dw = dy^T x, db = sum of dy over the batch (x saved only for dw).
#include "autograd/ops/common.h"
#include "autograd/ops/linear_algebra.h"

namespace fsa {

namespace {
struct LinearBackward final : Node {
  Tensor x, w;  // x only when dw is needed
  const char* name() const override { return "linear"; }
  std::vector<Tensor> backward(Tensor dy) override {  // dy (N, O)
    const Backend& backend = backend_for(dy.device());
    const int64_t outputs = dy.dim(1);
    return {needs_grad(0) ? backend.gemm(dy, false, w, false) : Tensor(),  // dx (N, I)
            needs_grad(1) ? backend.gemm(dy, true, x, false) : Tensor(),   // dw (O, I)
            needs_grad(2) ? backend.sum_axes(dy, {0}).reshape_view(Shape{outputs})
                          : Tensor()};  // db (O)
  }
};
}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_input("linear", "x", x, 2);
  check_input("linear", "weight", w, 2);
  check_same_device_and_dtype("linear", x, w);
  FSA_CHECK(w.dim(1) == x.dim(1), "[linear] weight ", w.shape(), " expects ", w.dim(1),
            " input features, input ", x.shape(), " has ", x.dim(1));
  if (b.defined()) {
    check_input("linear", "bias", b, 1);
    check_same_device_and_dtype("linear", x, b);
    FSA_CHECK(b.dim(0) == w.dim(0), "[linear] bias ", b.shape(), " should have ", w.dim(0),
              " entries, one per output of weight ", w.shape());
  }
  const Backend& backend = backend_for(x.device());
  Tensor y = backend.gemm(x, false, w, true);                        // (N, O)
  if (b.defined()) y = backend.binary_forward(BinaryOp::add, y, b);  // b broadcast over N
  if (auto node = make_node<LinearBackward>({x, w, b})) {
    if (node->needs_grad(1)) node->x = x;
    node->w = w;
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
