// mse.cpp: mean squared error mean((a - b)^2) over all elements of two same-shape tensors,
// composed from sub, mul and mean (their nodes give the gradient).
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/losses.h"
#include "autograd/ops/reduction.h"

namespace fsa {

Tensor mse(const Tensor& a, const Tensor& b) {
  check_input("mse", "a", a);
  check_input("mse", "b", b);
  check_same_device_and_dtype("mse", a, b);
  FSA_CHECK(a.shape() == b.shape(), "[mse] shapes ", a.shape(), " and ", b.shape(), " differ");
  FSA_CHECK(a.numel() > 0, "[mse] inputs ", a.shape(), " are empty");
  const Tensor difference = a - b;
  return mean(difference * difference);
}

}  // namespace fsa
