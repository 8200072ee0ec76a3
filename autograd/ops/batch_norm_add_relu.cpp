// batch_norm_add_relu.cpp: relu(batch_norm(x, ...) + residual) as one op, the end of a ResNet
// block: the normalisation, the residual add and the ReLU in one pass over the values, so that
// neither the normalised values nor their sum with the residual is written out. In backward,
// dy masked by the output (y > 0) is the residual's gradient, and batch norm's backward of it
// gives the rest. It keeps what the three ops kept: x (where batch norm's backward reads it)
// and the output y.
#include "autograd/ops/batch_norm_common.h"
#include "autograd/ops/common.h"
#include "autograd/ops/normalization.h"
#include "autograd/variable.h"

namespace fsa {

namespace {

struct BatchNormAddReluBackward final : BatchNormNode {
  Tensor y;  // the output: the ReLU's mask (y > 0)
  const char* name() const override { return "batch_norm_add_relu"; }
  // Inputs: x, gamma, beta (as batch norm's), then the residual.
  std::vector<Tensor> backward(Tensor dy) override {
    const Backend& backend = backend_for(dy.device());
    const Tensor masked = backend.unary_backward(UnaryOp::relu, Tensor(), y, dy, {});
    dy = Tensor();  // freed before batch norm's gradients, as between separate ops
    const Tensor residual_grad = needs_grad(3) ? masked : Tensor();
    if (!reads_x()) {  // eval with frozen parameters (the attacks): the scale of the mask
      const Tensor dx =
          needs_grad(0) ? frozen_eval_input_gradient(masked, var, gamma, eps) : Tensor();
      return {dx, Tensor(), Tensor(), residual_grad};
    }
    std::vector<Tensor> grads =
        requested(backend.batch_norm_backward(masked, x, mean, var, gamma, eps, training));
    grads.push_back(residual_grad);
    return grads;
  }
};

// Before batch norm's own checks, which update the running statistics once they pass.
void check_residual(const Tensor& x, const Tensor& residual) {
  check_input("batch_norm_add_relu", "x", x);
  check_input("batch_norm_add_relu", "residual", residual);
  check_same_device_and_dtype("batch_norm_add_relu", x, residual);
  FSA_CHECK(residual.shape() == x.shape(), "[batch_norm_add_relu] residual has shape ",
            residual.shape(), " but input has shape ", x.shape());
}

}  // namespace

Tensor batch_norm_add_relu(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                           const Tensor& beta, BatchNormState& state, bool training) {
  check_residual(x, residual);
  const BatchNormStatistics statistics =
      batch_norm_statistics("batch_norm_add_relu", x, gamma, beta, state, training);
  Tensor y = backend_for(x.device())
                 .batch_norm_add_relu_forward(x, residual, statistics.mean, statistics.var, gamma,
                                              beta, state.eps);
  if (auto node = make_node<BatchNormAddReluBackward>({x, gamma, beta, residual})) {
    node->save(x, statistics, gamma, state, training);
    node->y = detach(y);  // NOTE: saving y itself would make a cycle y -> node -> y
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
