// cw_margin.cpp: the per-sample Carlini-Wagner margin hinge of logits (N,M) and int32
// labels (N) (formula in tensor/params.h). Targeted uses the single largest wrong logit and
// ignores top_k. Ties among wrong logits go to the lower index. Backward: each active
// hinge sends +dy to the logit it raises and -dy to the one it lowers (0 at the kink).
#include "autograd/ops/common.h"
#include "autograd/ops/labels.h"
#include "autograd/ops/losses.h"

namespace fsa {

namespace {

struct CwMarginBackward final : Node {
  Tensor logits, labels;
  CwMarginParams params;
  const char* name() const override { return "cw_margin"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).cw_margin_backward(logits, labels, dy, params)};
  }
};

}  // namespace

Tensor cw_margin(const Tensor& logits, const Tensor& labels, const CwMarginParams& p) {
  check_logits_and_labels("cw_margin", logits, labels);
  const int64_t classes = logits.dim(1);
  FSA_CHECK(classes >= 2, "[cw_margin] needs at least 2 classes, logits ", logits.shape());
  FSA_CHECK(p.targeted || (p.top_k >= 1 && p.top_k < classes), "[cw_margin] top_k = ", p.top_k,
            " must lie in [1, ", classes - 1, "] (the wrong classes) for logits ", logits.shape());
  Tensor loss = backend_for(logits.device()).cw_margin_forward(logits, labels, p);
  if (auto node = make_node<CwMarginBackward>({logits})) {
    node->logits = logits;
    node->labels = labels;
    node->params = p;
    attach(loss, node);
  }
  return loss;
}

}  // namespace fsa
