// conv2d_common.h: what conv2d.cpp and conv2d_relu.cpp share: the checks of their inputs and
// what their backward nodes keep and compute.
#pragma once

#include "autograd/node.h"
#include "tensor/backend.h"

namespace fsa {

// Throws unless x (N,C,H,W), w (K,C,R,S) and b (K, or undefined) and p make a convolution;
// errors name `op`.
void check_conv2d_inputs(const char* op, const Tensor& x, const Tensor& w, const Tensor& b,
                         const Conv2dParams& p);

// What a convolution node keeps: x only when the weight gradient is needed (frozen weights:
// the input may be freed), w and the parameters.
struct Conv2dNode : Node {
  Tensor x, w;
  Conv2dParams params;
  void save(const Tensor& input, const Tensor& weight, const Conv2dParams& p) {
    if (needs_grad(1)) x = input;
    w = weight;
    params = p;
  }
  // dx (N,C,H,W), dw (K,C,R,S), db (K) of the output gradient dy (N,K,P,Q): the backend's
  // conv2d_backward_data / _weight, and db summed over axes (0, 2, 3); each only if needed.
  std::vector<Tensor> gradients(const Tensor& dy) const;
};

}  // namespace fsa
