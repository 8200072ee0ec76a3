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

void check_pool2d(const char* op, const Tensor& x, const Pool2dParams& p) {
  check_input(op, "x", x, 4);
  FSA_CHECK(x.dim(2) > 0 && x.dim(3) > 0, "[", op, "] empty image in input ", x.shape());
  FSA_CHECK(p.kernel > 0 && p.stride > 0, "[", op, "] kernel ", p.kernel, " and stride ", p.stride,
            " must be positive, input ", x.shape());
  FSA_CHECK(p.padding >= 0 && 2 * p.padding <= p.kernel, "[", op, "] padding ", p.padding,
            " must be between 0 and half the kernel ", p.kernel, ", input ", x.shape());
  FSA_CHECK(x.dim(2) + 2 * p.padding >= p.kernel && x.dim(3) + 2 * p.padding >= p.kernel, "[", op,
            "] kernel ", p.kernel, " does not fit input ", x.shape(), " with padding ", p.padding);
}

}  // namespace fsa
