// reshape.cpp: a new shape over the same elements (shares storage). Backward: dy viewed
// in the input's shape.
#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

namespace {

struct ReshapeBackward final : Node {
  Shape x_shape;
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(Tensor dy) override { return {dy.reshape_view(x_shape)}; }
};

Shape resolve_shape(const Tensor& x, std::vector<int64_t> dims) {
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      FSA_CHECK(inferred < 0, "[reshape] more than one -1 in the target shape for ", x.shape());
      inferred = static_cast<int64_t>(i);
    } else {
      FSA_CHECK(dims[i] >= 0, "[reshape] negative extent ", dims[i], " for input ", x.shape());
      known *= dims[i];
    }
  }
  if (inferred >= 0) {
    FSA_CHECK(known > 0 && x.numel() % known == 0, "[reshape] cannot infer -1 reshaping ", x.shape());
    dims[static_cast<size_t>(inferred)] = x.numel() / known;
  }
  Shape shape(dims);
  FSA_CHECK(shape.numel() == x.numel(), "[reshape] cannot reshape ", x.shape(), " (", x.numel(),
            " elements) to ", shape);
  return shape;
}

}  // namespace

Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape) {
  FSA_CHECK(x.defined(), "[reshape] input is undefined");
  Tensor y = x.reshape_view(resolve_shape(x, shape));
  if (auto node = make_node<ReshapeBackward>({x})) {
    node->x_shape = x.shape();
    attach(y, node);
  }
  return y;
}

Tensor flatten(const Tensor& x) {
  FSA_CHECK(x.defined() && x.ndim() >= 1, "[flatten] needs a tensor with a batch axis");
  return reshape(x, {x.dim(0), -1});
}

}  // namespace fsa
