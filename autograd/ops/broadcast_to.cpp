// broadcast_to.cpp: repeat x along extent-1 (and new leading) axes. Backward: sum back.
#include "autograd/ops/common.h"
#include "autograd/ops/reduction.h"

namespace fsa {

namespace {
struct BroadcastToBackward final : Node {
  Shape x_shape;
  const char* name() const override { return "broadcast_to"; }
  std::vector<Tensor> backward(Tensor dy) override { return {sum_to_shape(dy, x_shape)}; }
};
}  // namespace

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  check_input("broadcast_to", "x", x);
  FSA_CHECK(broadcast_shapes(x.shape(), shape, "broadcast_to") == shape, "[broadcast_to] ", x.shape(),
            " cannot be broadcast to ", shape);
  Tensor y = backend_for(x.device()).broadcast_to(x, shape);
  if (auto node = make_node<BroadcastToBackward>({x})) {
    node->x_shape = x.shape();
    attach(y, node);
  }
  return y;
}

}  // namespace fsa
