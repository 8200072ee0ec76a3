// clip_gradients.h: element-wise gradient clipping, as the feature-space attack applies it
// before each Adam step (algorithm.md §5.4): every gradient entry is clamped to [-c, c].
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// Replaces the gradient of each parameter that has one by min(max(grad, -c), c); c >= 0.
void clip_gradients_elementwise(const std::vector<Tensor>& params, double c);

}  // namespace fsa
