// gradcheck.h: auditing gradients by finite differences in float64. The quantity checked is
// <r, f> with a seeded random cotangent r in [−1, 1) (a plain sum can hide transposition
// bugs): one backward pass gives the analytic gradient of every leaf, central differences
// (f(x + h) − f(x − h)) / 2h at chosen elements the numeric one. Used by the tests
// (tests/gradcheck.h, per-op tolerances) and by `fsa gradcheck` (whole networks).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

struct GradcheckSettings {
  double step = 1e-6;         // h of the central differences
  int64_t max_elements = -1;  // per leaf; −1: every element, else that many spread evenly
  uint64_t seed = 12345;      // of the cotangent
};

// The two gradients of one leaf at its checked elements (flat indices, ascending).
struct LeafGradients {
  int64_t elements = 0;  // of the whole leaf
  double scale = 0.0;    // max |analytic| over the whole leaf
  std::vector<int64_t> indices;
  std::vector<double> analytic, numeric;
};

// `f` computes the output from the current values of `leaves`: float64 autograd leaves
// (requires_grad set) on any device. Runs f once with gradients and backward(<r, f>), then
// 2 evaluations per checked element without gradients; every leaf's value is restored
// (their .grad stays filled with the analytic gradient).
std::vector<LeafGradients> compare_gradients(const std::function<Tensor()>& f,
                                             const std::vector<Tensor>& leaves,
                                             const GradcheckSettings& settings = {});

// The worst element of a leaf by relative error |a − n| / max(|a|, |n|, floor), where the
// floor 1e-3 · (the leaf's scale, or max_j |n_j| if larger; at least 1e-300) keeps elements
// far below the leaf's own scale from dominating through rounding noise.
struct GradcheckWorst {
  int64_t checked = 0;
  double relative = 0.0, absolute = 0.0;
  int64_t index = -1;  // flat element index of the worst relative error
  double analytic = 0.0, numeric = 0.0;
};
GradcheckWorst worst_error(const LeafGradients& gradients);

}  // namespace fsa
