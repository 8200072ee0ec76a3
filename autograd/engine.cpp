// engine.cpp: reverse-mode differentiation. An iterative depth-first search orders the
// nodes reachable from the root (children before parents), then the nodes run in reverse
// order, each once, with the sum of the gradients that reached its output.
// accumulate() is the only place where gradients are added up.
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/variable.h"
#include "tensor/backend.h"

namespace fsa {

namespace {

void accumulate(Tensor& slot, const Tensor& gradient) {
  slot = slot.defined() ? backend_for(slot.device()).binary_forward(BinaryOp::add, slot, gradient)
                        : gradient;
}

// Nodes reachable from `root`, each after every node that consumes its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};  // (node, next input to visit)
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next == node->inputs().size()) {
      order.push_back(node);
      stack.pop_back();
      continue;
    }
    const auto& input = node->inputs()[next++];
    Node* child = input ? input->grad_fn.get() : nullptr;
    if (child != nullptr && visited.insert(child).second) stack.emplace_back(child, 0);
  }
  return {order.rbegin(), order.rend()};
}

void check_gradient(const Node& node, size_t input, const Tensor& gradient) {
  FSA_CHECK(gradient.shape() == node.input_shapes()[input], "[backward] ", node.name(),
            " returned a gradient of shape ", gradient.shape(), " for input ", input, " of shape ",
            node.input_shapes()[input]);
}

}  // namespace

void backward(const Tensor& root, const Tensor& seed) {
  FSA_CHECK(requires_grad(root), "[backward] the root ", root.shape(),
            " does not require a gradient: no input of its graph was marked");
  FSA_CHECK(seed.defined() || root.numel() == 1, "[backward] root ", root.shape(),
            " is not a scalar: pass a seed of the same shape");
  Tensor start = seed.defined() ? seed : Tensor::ones(root.shape(), root.dtype(), root.device());
  FSA_CHECK(start.shape() == root.shape(), "[backward] seed ", start.shape(),
            " does not match root ", root.shape());
  NoGradGuard no_grad;
  const auto& root_meta = root.autograd_meta();
  if (root_meta->grad_fn == nullptr) {
    accumulate(root_meta->grad, start);
    return;
  }
  std::unordered_map<Node*, Tensor> pending{{root_meta->grad_fn.get(), start}};
  for (Node* node : topological_order(root_meta->grad_fn.get())) {
    Tensor dy = std::move(pending[node]);
    pending.erase(node);
    if (!dy.defined()) continue;  // no gradient reached this node
    // Handed over: a node may free its output gradient once it has used it.
    const std::vector<Tensor> grads = node->backward(std::move(dy));
    FSA_CHECK(grads.size() == node->inputs().size(), "[backward] ", node->name(), " returned ",
              grads.size(), " gradients for ", node->inputs().size(), " inputs");
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      const auto& input = node->inputs()[i];
      if (input == nullptr || !grads[i].defined()) continue;
      check_gradient(*node, i, grads[i]);
      if (input->grad_fn) {
        accumulate(pending[input->grad_fn.get()], grads[i]);
      } else {
        accumulate(input->grad, grads[i]);
      }
    }
  }
}

void attach(const Tensor& y, std::shared_ptr<Node> node) {
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(node);
  y.set_autograd_meta(std::move(meta));
}

}  // namespace fsa
