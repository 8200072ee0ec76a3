// optim_test.cpp: SGD and Adam against values computed by hand from the formulas in
// tensor/params.h over three steps of a two-element parameter, the learning-rate
// schedules, element-wise gradient clipping, and option validation.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

#include "autograd/autograd_meta.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/clip_gradients.h"
#include "autograd/optim/lr_schedule.h"
#include "autograd/optim/sgd.h"
#include "autograd/variable.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

using Trajectory = std::vector<std::vector<double>>;

// p starts at {1, -2}; step t sees the gradient c_t of the loss sum(c_t * p) (plus weight
// decay, which the kernels add): c_1 = {0.5, -1}, c_2 = {0.25, 0.5}, c_3 = {-1, 2}.
Tensor start_param(DType dtype = DType::f64) {
  Tensor p = Tensor::from_vector({1.0, -2.0}, {2}, dtype);
  set_requires_grad(p, true);
  return p;
}

Trajectory run_three_steps(Optimizer& optimizer, const Tensor& p) {
  const std::vector<std::vector<double>> coefficients = {{0.5, -1.0}, {0.25, 0.5}, {-1.0, 2.0}};
  Trajectory values;
  for (const auto& c : coefficients) {
    optimizer.zero_grad();
    backward(sum(p * Tensor::from_vector(c, {2}, p.dtype())));
    optimizer.step();
    values.push_back(p.to_vector());
  }
  return values;
}

void expect_trajectory(const Trajectory& actual, const Trajectory& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t t = 0; t < actual.size(); ++t) {
    for (size_t i = 0; i < actual[t].size(); ++i) {
      EXPECT_NEAR(actual[t][i], expected[t][i], tolerance) << "step " << t + 1 << " element " << i;
    }
  }
}

// --- SGD ------------------------------------------------------------------------------------

TEST(Sgd, Plain) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1});
  // p -= 0.1 c_t
  expect_trajectory(run_three_steps(sgd, p), {{0.95, -1.9}, {0.925, -1.95}, {1.025, -2.15}}, 1e-14);
}

TEST(Sgd, Momentum) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1, .momentum = 0.9});
  // v = {0.5,-1}, {0.7,-0.4}, {-0.37,1.64}; p -= 0.1 v
  expect_trajectory(run_three_steps(sgd, p), {{0.95, -1.9}, {0.88, -1.86}, {0.917, -2.024}}, 1e-14);
}

TEST(Sgd, Nesterov) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  // step = c + 0.9 v = {0.95,-1.9}, {0.88,0.14}, {-1.333,3.476}
  expect_trajectory(run_three_steps(sgd, p), {{0.905, -1.81}, {0.817, -1.824}, {0.9503, -2.1716}},
                    1e-14);
}

TEST(Sgd, WeightDecay) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1, .weight_decay = 0.1});
  // g = c + 0.1 p: {0.6,-1.2}, {0.344,0.312}, {-0.90944,1.80888}
  expect_trajectory(run_three_steps(sgd, p),
                    {{0.94, -1.88}, {0.9056, -1.9112}, {0.996544, -2.092088}}, 1e-14);
}

TEST(Sgd, NesterovWithWeightDecayInFloat32) {
  const Tensor p = start_param(DType::f32);
  Sgd sgd({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
  // step 1: g = {0.6,-1.2}, v = g, step = 1.9 g -> p = {0.886, -1.772}
  expect_trajectory(run_three_steps(sgd, p),
                    {{0.886, -1.772}, {0.773066, -1.736132}, {0.877211146, -2.021812292}}, 1e-6);
}

TEST(Sgd, ResetStateForgetsTheVelocity) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1, .momentum = 0.9});
  run_three_steps(sgd, p);
  sgd.reset_state();
  p.copy_from(Tensor::from_vector({1.0, -2.0}, {2}, DType::f64));
  expect_trajectory(run_three_steps(sgd, p), {{0.95, -1.9}, {0.88, -1.86}, {0.917, -2.024}}, 1e-14);
}

// --- Adam -----------------------------------------------------------------------------------

TEST(Adam, PytorchForm) {
  const Tensor p = start_param();
  Adam adam({p}, {.lr = 0.1, .eps = 0.1});
  // step 1: m_hat = c, v_hat = c^2, p -= 0.1 c / (|c| + 0.1) -> {1 - 0.05/0.6, -2 + 0.1/1.1}
  expect_trajectory(run_three_steps(adam, p),
                    {{0.91666666666666663, -1.9090909090909092},
                     {0.84227204413953038, -1.8854482412517928},
                     {0.86019832285554165, -1.9279681369008326}},
                    1e-14);
  EXPECT_EQ(adam.step_count(0), 3);
}

TEST(Adam, Tf1Form) {
  const Tensor p = start_param();
  Adam adam({p}, {.lr = 0.1, .eps = 0.1, .form = AdamForm::tf1});
  // step 1: lr_t = 0.1 sqrt(0.001) / 0.1, m = 0.1 c, sqrt(v) = sqrt(0.001) |c|:
  // eps is not bias-corrected, so the same eps weighs more than in the PyTorch form.
  expect_trajectory(run_three_steps(adam, p),
                    {{0.98634729405041854, -1.9759746926647959},
                     {0.97234874965080764, -1.9690199224811142},
                     {0.97783572272774189, -1.988232098435202}},
                    1e-14);
}

TEST(Adam, Tf1FormAttackBetas) {
  const Tensor p = start_param();
  Adam adam({p}, {.lr = 0.1, .beta1 = 0.5, .form = AdamForm::tf1});
  expect_trajectory(run_three_steps(adam, p),
                    {{0.90000006324551318, -1.9000000316227665},
                     {0.81566004841539885, -1.9000000316227665},
                     {0.88043542169492373, -1.9863672079178198}},
                    1e-14);
}

TEST(Adam, WeightDecay) {
  const Tensor p = start_param();
  Adam adam({p}, {.lr = 0.1, .weight_decay = 0.1});
  // step 1: g = c + 0.1 p = {0.6, -1.2}; p -= 0.1 g / (|g| + 1e-8)
  expect_trajectory(run_three_steps(adam, p),
                    {{0.9000000016666666, -1.9000000008333333},
                     {0.80500976586131989, -1.8537472646427609},
                     {0.81209826077867719, -1.88636311586399}},
                    1e-14);
}

TEST(Adam, Float32MatchesTheFormula) {
  const Tensor p = start_param(DType::f32);
  Adam adam({p}, {.lr = 0.1});
  expect_trajectory(run_three_steps(adam, p),
                    {{0.90000000199999997, -1.900000001},
                     {0.80678204047746238, -1.8733662973709031},
                     {0.82741774288541148, -1.9190994760260234}},
                    1e-6);
}

TEST(Adam, ResetStateRestartsBiasCorrection) {
  const Tensor p = start_param();
  Adam adam({p}, {.lr = 0.1, .eps = 0.1});
  run_three_steps(adam, p);
  adam.reset_state();
  EXPECT_EQ(adam.step_count(0), 0);
  p.copy_from(Tensor::from_vector({1.0, -2.0}, {2}, DType::f64));
  expect_trajectory(run_three_steps(adam, p),
                    {{0.91666666666666663, -1.9090909090909092},
                     {0.84227204413953038, -1.8854482412517928},
                     {0.86019832285554165, -1.9279681369008326}},
                    1e-14);
}

TEST(Optimizer, SkipsParametersWithoutAGradientAndCreatesStateLazily) {
  const Tensor used = start_param();
  const Tensor unused = Tensor::from_vector({3.0, 4.0, 5.0}, {3}, DType::f64);
  set_requires_grad(unused, true);
  Adam adam({used, unused}, {.lr = 0.1});
  run_three_steps(adam, used);
  EXPECT_EQ(adam.step_count(0), 3);
  EXPECT_EQ(adam.step_count(1), 0);
  EXPECT_EQ(unused.to_vector(), (std::vector<double>{3.0, 4.0, 5.0}));
  adam.zero_grad();
  EXPECT_FALSE(grad(used).defined());
}

TEST(Optimizer, StepRecordsNoGraph) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 0.1});
  run_three_steps(sgd, p);
  EXPECT_TRUE(requires_grad(p));
  EXPECT_EQ(p.autograd_meta()->grad_fn, nullptr);
}

TEST(Optimizer, RejectsBadOptions) {
  const Tensor p = start_param();
  expect_error_containing("[sgd] nesterov needs a momentum > 0",
                          [&] { Sgd({p}, {.lr = 0.1, .nesterov = true}); });
  expect_error_containing("[sgd] learning rate must be non-negative, got -1",
                          [&] { Sgd({p}, {.lr = -1.0}); });
  expect_error_containing("[adam] beta1 must be in [0, 1), got 1",
                          [&] { Adam({p}, {.beta1 = 1.0}); });
  expect_error_containing("[optimizer] parameter 0 is undefined", [] { Adam({Tensor()}, {}); });
}

// --- learning-rate schedules ----------------------------------------------------------------

TEST(LrSchedule, ConstantAndStepDecay) {
  EXPECT_DOUBLE_EQ(ConstantLr(0.1).lr(1000), 0.1);
  const StepDecayLr decay(0.1, 3, 0.5);
  EXPECT_DOUBLE_EQ(decay.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(decay.lr(2), 0.1);
  EXPECT_DOUBLE_EQ(decay.lr(3), 0.05);
  EXPECT_DOUBLE_EQ(decay.lr(5), 0.05);
  EXPECT_DOUBLE_EQ(decay.lr(6), 0.025);
}

TEST(LrSchedule, CosineAnnealing) {
  const CosineAnnealingLr cosine(0.1, 10, 0.01);
  EXPECT_DOUBLE_EQ(cosine.lr(0), 0.1);
  EXPECT_NEAR(cosine.lr(5), 0.055, 1e-15);
  EXPECT_NEAR(cosine.lr(10), 0.01, 1e-15);
  EXPECT_NEAR(cosine.lr(20), 0.1, 1e-15);  // the closed form is periodic
  // step 2: 0.01 + 0.09 (1 + cos(pi/5)) / 2
  EXPECT_NEAR(cosine.lr(2), 0.01 + 0.045 * (1.0 + std::cos(std::numbers::pi / 5.0)), 1e-15);
}

TEST(LrSchedule, InverseTimeDecayAsTf1) {
  const InverseTimeDecayLr training(1e-4, 2e-5);  // decoder training (algorithm.md §4.5)
  EXPECT_DOUBLE_EQ(training.lr(0), 1e-4);
  EXPECT_DOUBLE_EQ(training.lr(50000), 5e-5);
  EXPECT_NEAR(training.lr(300000), 1e-4 / 7.0, 1e-18);
  const InverseTimeDecayLr attack(1e-2, 1e-4);  // CIFAR attack (algorithm.md §5.4)
  EXPECT_DOUBLE_EQ(attack.lr(10000), 5e-3);
  EXPECT_DOUBLE_EQ(InverseTimeDecayLr(0.1, 0.5, 10.0).lr(20), 0.05);  // decay_steps = 10
}

TEST(LrSchedule, FeedsTheOptimizer) {
  const Tensor p = start_param();
  Sgd sgd({p}, {.lr = 1.0});
  const StepDecayLr decay(0.1, 1, 0.5);
  sgd.set_lr(decay.lr(2));
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.025);
  expect_error_containing("[step_decay_lr] step counts from 0, got -1", [&] { decay.lr(-1); });
}

// --- gradient clipping ----------------------------------------------------------------------

TEST(ClipGradients, ElementwiseToTheLimit) {
  const Tensor p = Tensor::from_vector({0, 0, 0, 0}, {4}, DType::f64);
  const Tensor no_grad = Tensor::from_vector({0}, {1}, DType::f64);
  set_requires_grad(p, true);
  set_requires_grad(no_grad, true);
  const Tensor c = Tensor::from_vector({-3.0, 0.5, 2.0, -0.2}, {4}, DType::f64);
  backward(sum(p * c));
  const Tensor before = grad(p);
  clip_gradients_elementwise({p, no_grad}, 1.0);
  EXPECT_EQ(grad(p).to_vector(), (std::vector<double>{-1.0, 0.5, 1.0, -0.2}));
  EXPECT_EQ(before.to_vector(), (std::vector<double>{-3.0, 0.5, 2.0, -0.2}));  // not in place
  EXPECT_FALSE(grad(no_grad).defined());
  expect_error_containing("[clip_gradients_elementwise] limit must be non-negative",
                          [&] { clip_gradients_elementwise({p}, -1.0); });
}

}  // namespace
}  // namespace fsa::testing
