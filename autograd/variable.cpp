// variable.cpp: leaf marking, gradient access and detaching.
#include "autograd/variable.h"

#include "autograd/node.h"

namespace fsa {

bool requires_grad(const Tensor& x) {
  return x.defined() && x.autograd_meta() != nullptr && x.autograd_meta()->requires_grad;
}

void set_requires_grad(const Tensor& x, bool value) {
  FSA_CHECK(x.defined(), "[set_requires_grad] called on an undefined tensor");
  const auto& meta = x.autograd_meta();
  if (meta == nullptr) {
    if (!value) return;
    auto created = std::make_shared<AutogradMeta>();
    created->requires_grad = true;
    x.set_autograd_meta(std::move(created));
    return;
  }
  FSA_CHECK(meta->grad_fn == nullptr, "[set_requires_grad] tensor ", x.shape(), " was computed by ",
            meta->grad_fn->name(), "; only leaves can be marked (detach() it first)");
  meta->requires_grad = value;
}

Tensor grad(const Tensor& x) {
  const auto& meta = x.autograd_meta();
  return meta == nullptr ? Tensor() : meta->grad;
}

void zero_grad(const Tensor& x) {
  if (const auto& meta = x.autograd_meta()) meta->grad = Tensor();
}

void set_grad(const Tensor& x, const Tensor& gradient) {
  const auto& meta = x.autograd_meta();
  FSA_CHECK(meta != nullptr && meta->requires_grad, "[set_grad] tensor ", x.shape(),
            " does not require a gradient");
  FSA_CHECK(!gradient.defined() || gradient.shape() == x.shape(), "[set_grad] gradient ",
            gradient.shape(), " does not match tensor ", x.shape());
  meta->grad = gradient;
}

Tensor detach(const Tensor& x) { return x.reshape_view(x.shape()); }

}  // namespace fsa
