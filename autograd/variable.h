// variable.h: the user-facing side of autograd on a tensor: mark a leaf as requiring a
// gradient (parameters, images, style variables alike), read and clear its gradient,
// and detach a value from the graph.
#pragma once

#include "tensor/tensor.h"

namespace fsa {

bool requires_grad(const Tensor& x);
// Marks a leaf; throws if `x` was computed by a recorded op (use detach() first).
void set_requires_grad(const Tensor& x, bool value);
// The accumulated gradient of a leaf (undefined before the first backward).
Tensor grad(const Tensor& x);
void zero_grad(const Tensor& x);
// Makes `gradient` (shaped like x) the gradient of the leaf x, sharing its storage.
void set_grad(const Tensor& x, const Tensor& gradient);
// The same values as `x` with no history: a new leaf sharing storage.
Tensor detach(const Tensor& x);

// Differentiates the scalar `root` (or, with `seed` shaped like root, the product <seed, root>)
// and accumulates into the .grad of every leaf that requires a gradient.
void backward(const Tensor& root, const Tensor& seed = Tensor());

}  // namespace fsa
