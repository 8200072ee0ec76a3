// init.h: parameter initialisers, each drawing from an explicit seed (Philox streams, so the
// values do not depend on threads or devices).
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace fsa {

// PyTorch's default for Conv2d/Linear weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void init_uniform_fan_in(const Tensor& x, int64_t fan_in, uint64_t seed);
// Kaiming normal, fan-out mode, ReLU gain (torchvision ResNets): N(0, 2/fan_out).
void init_kaiming_normal_fan_out(const Tensor& x, int64_t fan_out, uint64_t seed);
// TF-1 xavier_initializer(uniform=False): truncated normal (re-drawn outside 2 sigma) with
// sigma = sqrt(1.3 / fan_avg); applied to decoder kernels and biases (algorithm.md §2.4).
void init_xavier_truncated_normal(const Tensor& x, double fan_avg, uint64_t seed);

}  // namespace fsa
