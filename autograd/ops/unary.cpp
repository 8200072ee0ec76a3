// unary.cpp: pointwise functions y = f(x) and scalar arithmetic. Backward: the kernel
// applies f'(x) to dy, from x or y, whichever the derivative needs: only that one is saved.
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "tensor/elementwise_math.h"

namespace fsa {

namespace {

struct UnaryBackward final : Node {
  UnaryOp op;
  UnaryArgs args;
  Tensor x, y;  // each only where unary_derivative_reads says so
  const char* name() const override { return "unary"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).unary_backward(op, x, y, dy, args)};
  }
};

Tensor unary(UnaryOp op, const Tensor& x, const UnaryArgs& args = {}) {
  check_input("unary", "x", x);
  Tensor y = backend_for(x.device()).unary_forward(op, x, args);
  if (auto node = make_node<UnaryBackward>({x})) {
    node->op = op;
    node->args = args;
    const UnaryDerivativeReads reads = unary_derivative_reads(op);
    if (reads.x) node->x = x;
    if (reads.y) node->y = detach(y);  // NOTE: saving y itself would make a cycle y -> node -> y
    attach(y, node);
  }
  return y;
}

}  // namespace

Tensor add_scalar(const Tensor& x, double value) { return unary(UnaryOp::add_scalar, x, {.scalar = value}); }
Tensor mul_scalar(const Tensor& x, double value) { return unary(UnaryOp::mul_scalar, x, {.scalar = value}); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
Tensor pow(const Tensor& x, double exponent) { return unary(UnaryOp::pow, x, {.scalar = exponent}); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::sign, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return unary(UnaryOp::leaky_relu, x, {.scalar = negative_slope});
}
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
Tensor clamp(const Tensor& x, double lo, double hi) {
  FSA_CHECK(lo <= hi, "[clamp] lo ", lo, " exceeds hi ", hi, " for input ", x.shape());
  return unary(UnaryOp::clamp, x, {.lo = lo, .hi = hi});
}

}  // namespace fsa
