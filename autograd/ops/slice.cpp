// slice.cpp: x[start:stop:step] along one axis (Python semantics, step > 0), and the
// option-A ResNet shortcut's spatial subsampling built from it. Backward: dy scattered
// into zeros of the input's shape.
#include <algorithm>

#include "autograd/ops/common.h"
#include "autograd/ops/shape_ops.h"

namespace fsa {

namespace {

struct SliceBackward final : Node {
  Shape x_shape;
  int64_t axis = 0, start = 0, step = 1;
  const char* name() const override { return "slice"; }
  std::vector<Tensor> backward(Tensor dy) override {
    return {backend_for(dy.device()).slice_backward(dy, x_shape, axis, start, step)};
  }
};

// Python's rule for a slice bound: negative counts from the end, then clamped to [0, extent].
int64_t resolve_bound(int64_t bound, int64_t extent) {
  if (bound < 0) bound += extent;
  return std::clamp<int64_t>(bound, 0, extent);
}

}  // namespace

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step) {
  FSA_CHECK(x.defined(), "[slice] input is undefined");
  const int64_t resolved = x.shape().normalize_axis(axis, "slice");
  FSA_CHECK(step > 0, "[slice] step must be positive, got ", step, " for input ", x.shape());
  const int64_t extent = x.dim(resolved);
  const int64_t first = resolve_bound(start, extent), last = resolve_bound(stop, extent);
  const int64_t count = last > first ? (last - first + step - 1) / step : 0;
  Tensor y = backend_for(x.device()).slice(x, resolved, first, step, count);
  if (auto node = make_node<SliceBackward>({x})) {
    node->x_shape = x.shape();
    node->axis = resolved;
    node->start = first;
    node->step = step;
    attach(y, node);
  }
  return y;
}

Tensor subsample2d(const Tensor& x, int64_t stride) {
  FSA_CHECK(x.defined() && x.ndim() == 4, "[subsample2d] input must be (N,C,H,W), got ",
            x.defined() ? to_string(x.shape()) : "undefined");
  FSA_CHECK(stride >= 1, "[subsample2d] stride must be at least 1, got ", stride, " for input ",
            x.shape());
  const Tensor rows = slice(x, 2, 0, x.dim(2), stride);
  return slice(rows, 3, 0, x.dim(3), stride);
}

}  // namespace fsa
