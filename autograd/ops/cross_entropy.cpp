// cross_entropy.cpp: per-sample softmax cross-entropy -log softmax(z)_y of logits (N,M)
// and int32 labels (N), via a stable log-sum-exp. Backward: dy * (softmax(z) - onehot(y)).
#include "autograd/ops/common.h"
#include "autograd/ops/labels.h"
#include "autograd/ops/losses.h"

namespace fsa {

namespace {

struct SoftmaxCrossEntropyBackward final : Node {
  Tensor logits, labels;
  const char* name() const override { return "softmax_cross_entropy"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).softmax_cross_entropy_backward(logits, labels, dy)};
  }
};

}  // namespace

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  check_logits_and_labels("softmax_cross_entropy", logits, labels);
  FSA_CHECK(logits.dim(1) >= 1, "[softmax_cross_entropy] logits ", logits.shape(),
            " have no classes");
  Tensor loss = backend_for(logits.device()).softmax_cross_entropy_forward(logits, labels);
  if (auto node = make_node<SoftmaxCrossEntropyBackward>({logits})) {
    node->logits = logits;
    node->labels = labels;
    attach(loss, node);
  }
  return loss;
}

}  // namespace fsa
