// binary.cpp: broadcasting arithmetic a (op) b for add, sub, mul, div, minimum, maximum.
// Backward: the kernel gives both partials in the broadcast shape; each is summed back
// down to its input's shape. add and sub need no kernel (dy and -dy), and save no inputs.
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"

namespace fsa {

namespace {

bool partials_read_inputs(BinaryOp op) { return op != BinaryOp::add && op != BinaryOp::sub; }

struct BinaryBackward final : Node {
  BinaryOp op;
  Tensor a, b;  // only where partials_read_inputs(op)
  const char* name() const override { return "binary"; }
  std::vector<Tensor> backward(Tensor dy) override {
    const Shape& a_shape = input_shapes()[0];
    const Shape& b_shape = input_shapes()[1];
    if (!partials_read_inputs(op)) {
      const Tensor db = op == BinaryOp::sub && needs_grad(1)
                            ? backend_for(dy.device()).unary_forward(UnaryOp::neg, dy, {})
                            : dy;
      return {needs_grad(0) ? sum_to_shape(dy, a_shape) : Tensor(),
              needs_grad(1) ? sum_to_shape(db, b_shape) : Tensor()};
    }
    const BinaryGrads grads = backend_for(dy.device()).binary_backward(op, a, b, dy);
    return {needs_grad(0) ? sum_to_shape(grads.da, a_shape) : Tensor(),
            needs_grad(1) ? sum_to_shape(grads.db, b_shape) : Tensor()};
  }
};

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::minimum: return "minimum";
    case BinaryOp::maximum: return "maximum";
  }
  return "binary";
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  check_input(name, "a", a);
  check_input(name, "b", b);
  check_same_device_and_dtype(name, a, b);
  broadcast_shapes(a.shape(), b.shape(), name);  // throws on a clash
  Tensor y = backend_for(a.device()).binary_forward(op, a, b);
  if (auto node = make_node<BinaryBackward>({a, b})) {
    node->op = op;
    if (partials_read_inputs(op)) {
      node->a = a;
      node->b = b;
    }
    attach(y, node);
  }
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }

}  // namespace fsa
