// node.h: a recorded operation in the graph. Each op file defines a Node subclass with its
// saved state as named members, next to the op's forward function.
//
// An op records itself like this (see autograd/ops/*.cpp):
//   Tensor y = backend_for(x.device()).some_forward(x);
//   if (auto node = make_node<SomeBackward>({x})) { node->x = x; attach(y, node); }
//   return y;
// A node that needs its own output saves detach(y): y points at the node, so keeping y
// itself would make a reference cycle and the graph would never be freed.
#pragma once

#include <memory>
#include <vector>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "tensor/tensor.h"

namespace fsa {

class Node {
 public:
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Gradients with respect to each input, given dy (shaped like the output). An entry may
  // be undefined when !needs_grad(i). Runs with graph recording off. dy is handed over: a
  // fused op's node frees it once it has used it, as the engine would between two ops.
  virtual std::vector<Tensor> backward(Tensor dy) = 0;

  bool needs_grad(size_t input) const { return inputs_[input] != nullptr; }
  const std::vector<std::shared_ptr<AutogradMeta>>& inputs() const { return inputs_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

 private:
  template <typename NodeType>
  friend std::shared_ptr<NodeType> make_node(const std::vector<Tensor>& inputs);

  std::vector<std::shared_ptr<AutogradMeta>> inputs_;  // null where no gradient is needed
  std::vector<Shape> input_shapes_;
};

// A node for an op on `inputs` (undefined inputs allowed), or null when recording is off
// or no input requires a gradient: then the op saves nothing.
template <typename NodeType>
std::shared_ptr<NodeType> make_node(const std::vector<Tensor>& inputs) {
  bool any = false;
  for (const Tensor& x : inputs) any = any || requires_grad(x);
  if (!any || !grad_enabled()) return nullptr;
  auto node = std::make_shared<NodeType>();
  for (const Tensor& x : inputs) {
    node->inputs_.push_back(requires_grad(x) ? x.autograd_meta() : nullptr);
    node->input_shapes_.push_back(x.defined() ? x.shape() : Shape{});
  }
  return node;
}

// Marks `y` as the output of `node`.
void attach(const Tensor& y, std::shared_ptr<Node> node);

}  // namespace fsa
