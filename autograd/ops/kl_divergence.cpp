// kl_divergence.cpp: KL(softmax(p) ‖ softmax(q)) per sample from two logit tensors (N,M),
// Σ_j softmax(p)_j (log_softmax(p)_j - log_softmax(q)_j), composed from log_softmax, exp,
// sub, mul and sum; both arguments get a gradient (TRADES differentiates through both).
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/losses.h"
#include "autograd/ops/reduction.h"

namespace fsa {

Tensor kl_divergence_logits(const Tensor& p_logits, const Tensor& q_logits) {
  check_input("kl_divergence_logits", "p_logits", p_logits, 2);
  check_input("kl_divergence_logits", "q_logits", q_logits, 2);
  check_same_device_and_dtype("kl_divergence_logits", p_logits, q_logits);
  FSA_CHECK(p_logits.shape() == q_logits.shape(), "[kl_divergence_logits] logits ",
            p_logits.shape(), " and ", q_logits.shape(), " differ in shape");
  const Tensor log_p = log_softmax(p_logits);  // (N,M)
  const Tensor log_q = log_softmax(q_logits);  // (N,M)
  return sum(exp(log_p) * (log_p - log_q), {1});
}

}  // namespace fsa
