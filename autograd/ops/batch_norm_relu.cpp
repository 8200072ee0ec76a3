// batch_norm_relu.cpp: relu(batch_norm(x, ...)) as one op, as ResNet blocks use it: the
// normalisation and the ReLU in one pass over the values, and in backward the ReLU's mask
// applied inside batch norm's two passes, so that neither the normalised values nor their
// gradient is ever written out (two passes over the activation fewer each way). It keeps
// what the two ops kept: x (where batch norm's backward reads it) and the output y.
#include "autograd/ops/batch_norm_common.h"
#include "autograd/ops/normalization.h"
#include "autograd/variable.h"

namespace fsa {

namespace {

struct BatchNormReluBackward final : BatchNormNode {
  Tensor y;  // the output: the ReLU's mask (y > 0)
  const char* name() const override { return "batch_norm_relu"; }
  std::vector<Tensor> backward(Tensor dy) override {
    const Backend& backend = backend_for(dy.device());
    if (!reads_x()) {  // eval with frozen parameters (the attacks): the mask, then the scale
      const Tensor masked = backend.unary_backward(UnaryOp::relu, Tensor(), y, dy, {});
      return {frozen_eval_input_gradient(masked, var, gamma, eps), Tensor(), Tensor()};
    }
    const BatchNormGrads grads =
        backend.batch_norm_relu_backward(dy, y, x, mean, var, gamma, eps, training);
    return requested(grads);
  }
};

}  // namespace

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       BatchNormState& state, bool training) {
  const BatchNormStatistics statistics =
      batch_norm_statistics("batch_norm_relu", x, gamma, beta, state, training);
  Tensor y =
      backend_for(x.device())
          .batch_norm_relu_forward(x, statistics.mean, statistics.var, gamma, beta, state.eps);
  if (auto node = make_node<BatchNormReluBackward>({x, gamma, beta})) {
    node->save(x, statistics, gamma, state, training);
    node->y = detach(y);  // NOTE: saving y itself would make a cycle y -> node -> y
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
