// attack_toys.h: tiny hand-made modules for the attack tests: a linear classifier, an
// invertible toy encoder/decoder pair and the identity. Used by attack_test.cpp and
// interpolation_test.cpp.
#pragma once

#include <cstdint>

#include "autograd/ops.h"
#include "layers/module.h"
#include "tests/test_util.h"

namespace fsa::testing {

// logits_k = Σ_d x_d W_kd: a linear classifier made of broadcasting ops only.
class ToyClassifier : public Module {
 public:
  ToyClassifier(int64_t features, int64_t classes, uint64_t seed) {
    weight = random_tensor({1, classes, features}, seed, -1.0, 1.0, DType::f32);
    register_parameter("weight", &weight);
  }
  Tensor forward(const Tensor& x) override {
    return sum(reshape(x, {x.dim(0), 1, -1}) * weight, {2});  // (N,K)
  }
  Tensor weight;
};

// An invertible toy "encoder" (positive features) and its decoder.
class ToyEncoder : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x * 2.0 + 0.5; }
};
class ToyDecoder : public Module {
 public:
  Tensor forward(const Tensor& t) override { return (t - 0.5) * 0.5; }
};
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace fsa::testing
