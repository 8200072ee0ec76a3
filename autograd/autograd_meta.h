// autograd_meta.h: what autograd attaches to a tensor. A leaf (grad_fn null) that requires
// a gradient receives it in `grad`; a computed tensor points at the node that made it.
#pragma once

#include <memory>

#include "tensor/tensor.h"

namespace fsa {

class Node;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // accumulated by the engine into leaves only
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

}  // namespace fsa
