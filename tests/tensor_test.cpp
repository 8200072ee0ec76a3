// tensor_test.cpp: tensor construction, views, copies, dtype casts and the RNG.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "tensor/backend.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

TEST(Tensor, FactoriesAndMetadata) {
  const Tensor x = Tensor::full({2, 3}, 1.5);
  EXPECT_EQ(x.shape(), (Shape{2, 3}));
  EXPECT_EQ(x.numel(), 6);
  EXPECT_EQ(x.dtype(), DType::f32);
  EXPECT_EQ(x.to_vector(), std::vector<double>(6, 1.5));
  EXPECT_EQ(to_string(x.shape()), "(2,3)");
}

TEST(Tensor, ReshapeViewSharesAndCloneCopies) {
  const Tensor x = Tensor::zeros({2, 2});
  const Tensor view = x.reshape_view({4});
  const Tensor copy = x.clone();
  view.data<float>()[3] = 7.0f;
  EXPECT_EQ(x.to_vector()[3], 7.0);
  EXPECT_EQ(copy.to_vector()[3], 0.0);
  EXPECT_THROW(x.reshape_view({3}), Error);
}

TEST(Tensor, CastsRoundTrip) {
  const Tensor x = Tensor::from_vector({0.5, -2.0, 3.0}, {3}, DType::f64);
  EXPECT_EQ(x.to(DType::f32).to(DType::f64).to_vector(), x.to_vector());
  EXPECT_EQ(x.to(DType::i32).to_vector(), (std::vector<double>{0, -2, 3}));
}

TEST(Tensor, WrongTypedAccessAndUndefinedThrow) {
  const Tensor x = Tensor::zeros({2});
  EXPECT_THROW(x.data<double>(), Error);
  EXPECT_THROW(Tensor().shape(), Error);
  EXPECT_THROW(Tensor::from_vector({1, 2}, {3}), Error);
}

TEST(Tensor, CudaWithoutBackendIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(Tensor::zeros({2}, DType::f32, Device::cuda), Error);
}

TEST(Random, CounterBasedStreamsAreReproducibleAndOffsettable) {
  const Tensor a = Tensor::empty({1000});
  const Tensor b = Tensor::empty({500});
  backend_for(Device::cpu).fill_uniform(a, 0, 1, 42, 0);
  backend_for(Device::cpu).fill_uniform(b, 0, 1, 42, 500);  // the second half of a
  const std::vector<double> va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < vb.size(); ++i) ASSERT_EQ(va[500 + i], vb[i]);
  double total = 0;
  for (double v : va) total += v;
  EXPECT_NEAR(total / 1000, 0.5, 0.05);
}

TEST(Random, NormalMoments) {
  const Tensor x = Tensor::empty({20000}, DType::f64);
  backend_for(Device::cpu).fill_normal(x, 1.0, 2.0, 7, 0);
  double m = 0, s = 0;
  for (double v : x.to_vector()) m += v;
  m /= 20000;
  for (double v : x.to_vector()) s += (v - m) * (v - m);
  EXPECT_NEAR(m, 1.0, 0.05);
  EXPECT_NEAR(std::sqrt(s / 20000), 2.0, 0.05);
}

}  // namespace
}  // namespace fsa::testing
