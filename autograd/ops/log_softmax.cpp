// log_softmax.cpp: log softmax(z) per row of logits (N,M), (z - m) - log Σ_j exp(z_j - m),
// composed from sub, exp, sum and log (their nodes give the gradient, dz = dy - softmax Σ dy).
#include <algorithm>

#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/losses.h"
#include "autograd/ops/reduction.h"

namespace fsa {

namespace {

// The maximum of each row of x (N,M) as a constant (N,1) on x's device: no history.
Tensor row_max_constant(const Tensor& x) {
  const int64_t rows = x.dim(0), columns = x.dim(1);
  const std::vector<double> values = x.to_vector();
  std::vector<double> maxima(static_cast<size_t>(rows));
  for (int64_t n = 0; n < rows; ++n) {
    const auto row = values.begin() + n * columns;
    maxima[static_cast<size_t>(n)] = *std::max_element(row, row + columns);
  }
  return Tensor::from_vector(maxima, Shape{rows, 1}, x.dtype(), x.device());
}

}  // namespace

Tensor log_softmax(const Tensor& logits) {
  check_input("log_softmax", "logits", logits, 2);
  FSA_CHECK(logits.dim(0) >= 1 && logits.dim(1) >= 1, "[log_softmax] logits ", logits.shape(),
            " are empty");
  // NOTE: m, each row's maximum, keeps exp() from overflowing; it cancels in the value and,
  // being a constant, adds nothing to the gradient.
  const Tensor shifted = logits - row_max_constant(logits);  // (N,M), every entry <= 0
  return shifted - log(sum(exp(shifted), {1}, true));
}

}  // namespace fsa
