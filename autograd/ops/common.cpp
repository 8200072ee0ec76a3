// common.cpp: helpers shared by the op files.
#include "autograd/ops/common.h"

namespace fsa {

Tensor sum_to_shape(const Tensor& gradient, const Shape& shape) {
  if (gradient.shape() == shape) return gradient;
  const int64_t lead = gradient.ndim() - shape.ndim();
  std::vector<int64_t> axes;
  for (int64_t axis = 0; axis < gradient.ndim(); ++axis) {
    if (axis < lead || shape[axis - lead] == 1) axes.push_back(axis);
  }
  return backend_for(gradient.device()).sum_axes(gradient, axes).reshape_view(shape);
}

void check_input(const char* op, const char* name, const Tensor& x, int64_t ndim) {
  FSA_CHECK(x.defined(), "[", op, "] input '", name, "' is undefined");
  check_floating(op, x);
  FSA_CHECK(ndim < 0 || x.ndim() == ndim, "[", op, "] input '", name, "' must have ", ndim,
            " dimensions, got ", x.shape());
}

}  // namespace fsa
