// o2_detector_test.cpp: the "Odds are Odd" detector's library parts on tiny models and
// synthetic numbers: the linear-head split of the ResNets, noise specs and noisy copies, the
// alignment against its logit-difference form, batched against unbatched statistics, the
// calibration statistics, the score, the z cut-off, FPR thresholds and ROC-AUC.
#include "attack/o2_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attack/o2_statistics.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "models/registry.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A small CIFAR-style ResNet (depth 8) with non-trivial batch-norm statistics, wrapped to
// take RGB in [0,1]; 8x8 images keep it fast.
std::shared_ptr<NormalizedClassifier> toy_classifier(uint64_t seed = 3) {
  auto network = std::make_shared<CifarResNet>(8, 10, seed);
  auto model = std::make_shared<NormalizedClassifier>(
      network, Preprocessing{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}});
  // Spread the final layer so that classes differ clearly.
  Linear& head = model->final_layer();
  head.weight = random_tensor(head.weight.shape(), seed + 7, -2.0, 2.0, DType::f32);
  model->eval();
  return model;
}

Tensor toy_images(int64_t n, uint64_t seed) {
  return random_tensor({n, 3, 8, 8}, seed, 0.0, 1.0, DType::f32);
}

TEST(O2LinearHead, ForwardIsTheLinearLayerOfThePenultimateFeatures) {
  NoGradGuard no_grad;
  for (const char* architecture : {"cifar_resnet20", "cifar_resnet2b", "imagenet_resnet18"}) {
    auto model = make_model(architecture, Preprocessing{{0.4, 0.5, 0.6}, {0.2, 0.25, 0.3}});
    model->eval();
    auto* head = dynamic_cast<LinearHeadClassifier*>(model.get());
    ASSERT_NE(head, nullptr) << architecture;
    const Tensor x = random_tensor({2, 3, 32, 32}, 5, 0.0, 1.0, DType::f32);
    const Tensor features = head->penultimate(x);
    EXPECT_EQ(features.ndim(), 2) << architecture;
    EXPECT_EQ(features.dim(1), head->final_layer().weight.dim(1)) << architecture;
    const Tensor logits = linear(features, head->final_layer().weight, head->final_layer().bias);
    EXPECT_TRUE(tensors_near(model->forward(x), logits, 1e-6, 1e-6)) << architecture;
  }
}

TEST(O2Noise, SpecsParseAndPrint) {
  const std::vector<NoiseSpec> detection = o2_detection_specs();
  EXPECT_EQ(to_string(detection), "n0.003,s0.003,u0.003,n0.005,s0.005,u0.005,n0.008,s0.008,u0.008");
  EXPECT_EQ(to_string(o2_correction_specs()),
            "n0.01,s0.01,u0.01,n0.02,s0.02,u0.02,n0.03,s0.03,u0.03");
  const std::vector<NoiseSpec> parsed = parse_noise_specs(to_string(detection));
  ASSERT_EQ(parsed.size(), detection.size());
  for (size_t i = 0; i < parsed.size(); ++i) {
    EXPECT_EQ(parsed[i].kind, detection[i].kind);
    EXPECT_EQ(parsed[i].epsilon, detection[i].epsilon);
  }
  EXPECT_TRUE(parse_noise_specs("none").empty());
  EXPECT_THROW(parse_noise_spec("x0.1"), Error);
  EXPECT_THROW(parse_noise_spec("n"), Error);
  EXPECT_THROW(parse_noise_spec("n-0.1"), Error);
  EXPECT_THROW(parse_noise_spec("n0.1abc"), Error);
  EXPECT_THROW(parse_noise_specs("n0.1,,u0.2"), Error);
}

TEST(O2Noise, NoisyCopiesFollowTheirKindAndAreClipped) {
  const Tensor image = Tensor::full({1, 3, 8, 8}, 0.5);
  const double eps = 0.1;
  const std::vector<double> sign =
      o2_noisy_copies(image, {NoiseKind::sign, eps}, 1, 2, 0, 4).to_vector();
  for (double v : sign) EXPECT_NEAR(std::abs(v - 0.5), eps, 1e-6);
  const std::vector<double> uniform =
      o2_noisy_copies(image, {NoiseKind::uniform, eps}, 1, 2, 0, 4).to_vector();
  for (double v : uniform) EXPECT_LE(std::abs(v - 0.5), eps + 1e-6);
  const std::vector<double> normal =
      o2_noisy_copies(image, {NoiseKind::gaussian, eps}, 1, 2, 0, 64).to_vector();
  double sum_squares = 0.0;
  for (double v : normal) sum_squares += (v - 0.5) * (v - 0.5);
  EXPECT_NEAR(std::sqrt(sum_squares / normal.size()), eps, 0.01);
  // Large noise is clipped to [0,1].
  for (double v : o2_noisy_copies(image, {NoiseKind::gaussian, 3.0}, 1, 2, 0, 4).to_vector()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  // Draw m is the same whether made alone or within a run of draws; keys and seeds differ.
  const Tensor run = o2_noisy_copies(image, {NoiseKind::gaussian, eps}, 1, 2, 0, 4);
  const Tensor third = o2_noisy_copies(image, {NoiseKind::gaussian, eps}, 1, 2, 2, 1);
  EXPECT_TRUE(tensors_near(slice(run, 0, 2, 3), third, 0, 0));
  const Tensor other_key = o2_noisy_copies(image, {NoiseKind::gaussian, eps}, 1, 3, 2, 1);
  EXPECT_FALSE(tensors_near(other_key, third, 0, 1e-3));
}

TEST(O2Alignments, EqualLogitDifferenceForm) {
  auto model = toy_classifier();
  const Tensor x = toy_images(1, 11);
  const NoiseSpec spec{NoiseKind::uniform, 0.2};
  const int64_t draws = 3;
  const O2Alignments a =
      o2_alignments(*model, x, {42}, {.specs = {spec}, .samples = draws, .seed = 9});
  NoGradGuard no_grad;
  const std::vector<double> clean = model->forward(x).to_vector();  // (1,K)
  int32_t y = 0;
  for (int32_t k = 1; k < 10; ++k) y = clean[k] > clean[y] ? k : y;
  EXPECT_EQ(a.predicted[0], y);
  const std::vector<double> noisy =
      model->forward(o2_noisy_copies(x, spec, 9, 42, 0, draws)).to_vector();  // (M,K)
  double largest = 0.0;
  for (int32_t z = 0; z < 10; ++z) {
    double expected = 0.0;  // mean_m [f_y(x) − f_z(x)] − [f_y(x+η_m) − f_z(x+η_m)]
    for (int64_t m = 0; m < draws; ++m) {
      expected += ((clean[y] - clean[z]) - (noisy[m * 10 + y] - noisy[m * 10 + z])) / draws;
    }
    EXPECT_NEAR(a.at(0, 0, z), expected, 1e-4 * (1.0 + std::abs(expected))) << "z = " << z;
    largest = std::max(largest, std::abs(expected));
  }
  EXPECT_GT(largest, 1e-3);  // the noise moves the logits: the comparison is not vacuous
}

TEST(O2Alignments, BatchedEqualsUnbatched) {
  auto model = toy_classifier();
  const Tensor x = toy_images(3, 12);
  const std::vector<uint64_t> keys = {5, 6, 7};
  O2AlignmentOptions options{
      .specs = {{NoiseKind::gaussian, 0.05}, {NoiseKind::sign, 0.1}}, .samples = 8, .seed = 4};
  const O2Alignments reference = o2_alignments_unbatched(*model, x, keys, options);
  // One unit per forward; several units (crossing images) per forward; draws split.
  for (int64_t rows : {8, 40, 3}) {
    options.rows_per_forward = rows;
    const O2Alignments batched = o2_alignments(*model, x, keys, options);
    EXPECT_EQ(batched.predicted, reference.predicted) << rows;
    ASSERT_EQ(batched.values.size(), reference.values.size());
    for (size_t i = 0; i < batched.values.size(); ++i) {
      EXPECT_NEAR(batched.values[i], reference.values[i],
                  1e-4 * (1 + std::abs(reference.values[i])))
          << "rows " << rows << " entry " << i;
    }
  }
  // An image's alignments do not depend on the other images of the batch.
  options.rows_per_forward = 40;
  const O2Alignments alone = o2_alignments(*model, slice(x, 0, 1, 2), {6}, options);
  for (int64_t e = 0; e < 2; ++e)
    for (int64_t z = 0; z < 10; ++z)
      EXPECT_NEAR(alone.at(0, e, z), reference.at(1, e, z),
                  1e-4 * (1 + std::abs(alone.at(0, e, z))));
}

// Alignments of 1 spec and 3 classes from rows {predicted, a_0, a_1, a_2}.
O2Alignments synthetic(const std::vector<std::vector<double>>& rows) {
  O2Alignments a{.specs = 1, .classes = 3, .predicted = {}, .values = {}};
  for (const auto& r : rows) {
    a.predicted.push_back(static_cast<int32_t>(r[0]));
    a.values.insert(a.values.end(), r.begin() + 1, r.end());
  }
  return a;
}

TEST(O2Statistics, MeanAndPopulationStdPerClass) {
  const O2Alignments a = synthetic({{0, 0, 1, 10}, {0, 0, 2, 20}, {0, 0, 6, 30}, {1, 4, 0, 5}});
  const O2Statistics s = fit_o2_statistics(a);
  ASSERT_EQ(s.per_class.size(), 3u);
  EXPECT_EQ(s.per_class[0].count, 3);
  EXPECT_TRUE(s.per_class[0].usable());
  EXPECT_FALSE(s.per_class[1].usable());  // one image: fewer than 3
  EXPECT_FALSE(s.per_class[2].usable());
  EXPECT_DOUBLE_EQ(s.per_class[0].mean[1], 3.0);
  EXPECT_DOUBLE_EQ(s.per_class[0].mean[2], 20.0);
  EXPECT_NEAR(s.per_class[0].std[1], std::sqrt(14.0 / 3.0), 1e-12);  // population std
  EXPECT_NEAR(s.per_class[0].std[2], std::sqrt(200.0 / 3.0), 1e-12);
}

TEST(O2Statistics, ScoreIsTheLargestSpecAveragedZ) {
  O2Statistics s{.specs = 2, .classes = 3, .per_class = {}};
  // Class 0: μ and σ per (spec, z); z = 0 unused.
  s.per_class.push_back({5, {0, 1, 2, 0, 3, 4}, {0, 1, 2, 0, 1, 4}});
  s.per_class.push_back({2, std::vector<double>(6, 0.0), std::vector<double>(6, 1.0)});
  s.per_class.push_back({3, std::vector<double>(6, 0.0), std::vector<double>(6, 1.0)});
  O2Alignments a{.specs = 2, .classes = 3, .predicted = {0, 1, 2}, .values = {}};
  a.values = {0, 3,  2, 0, 5,  8,   // image 0: z1 = mean(2, 2) = 2; z2 = mean(0, 1) = 0.5
              0, 9,  9, 0, 9,  9,   // image 1: class 1 unusable (2 images)
              1, -2, 0, 3, -1, 0};  // image 2: z0 = mean(1, 3) = 2, z1 = mean(-2, -1)
  const std::vector<double> scores = o2_scores(s, a);
  EXPECT_DOUBLE_EQ(scores[0], 2.0);
  EXPECT_EQ(scores[1], -kInf);
  EXPECT_DOUBLE_EQ(scores[2], 2.0);
  const double cutoff = normal_quantile(kO2DefaultCutoffProbability);
  EXPECT_EQ(fraction_above(scores, cutoff), 0.0);
  EXPECT_DOUBLE_EQ(fraction_above(scores, 1.5), 2.0 / 3.0);
}

TEST(O2Statistics, CorrectionVotesForTheMostUnusualSource) {
  // 3 specs, 3 classes; PGD images moved to t = 0 from s = 1 (3 images) and s = 2 (3), one
  // moved to t = 1 from s = 0 (too few for statistics). Alignment toward s: rows below.
  O2Alignments pgd{.specs = 3, .classes = 3, .predicted = {0, 0, 0, 0, 0, 0, 1}, .values = {}};
  const std::vector<int32_t> sources = {1, 1, 1, 2, 2, 2, 0};
  for (int n = 0; n < 7; ++n) {
    for (int e = 0; e < 3; ++e) {
      for (int z = 0; z < 3; ++z) {
        const double toward_source = sources[n] == 1 ? 1 + n + 10 * e : 4 + (n - 3);
        pgd.values.push_back(z == sources[n] ? toward_source : 100.0);
      }
    }
  }
  const O2CorrectionStatistics c = fit_o2_correction(pgd, sources);
  EXPECT_TRUE(c.usable(0, 1));
  EXPECT_TRUE(c.usable(0, 2));
  EXPECT_FALSE(c.usable(1, 0));
  EXPECT_DOUBLE_EQ(c.mean_at(0, 1, 2), 22.0);
  EXPECT_DOUBLE_EQ(c.mean_at(0, 2, 1), 5.0);
  const double sigma = std::sqrt(2.0 / 3.0);
  EXPECT_NEAR(c.std_at(0, 1, 0), sigma, 1e-12);
  // Input predicted 0: z toward 1 per spec (1, 0, 2), toward 2 (0, 1, 1): votes 1, 2, 1 -> 1.
  // Input predicted 1: no usable source, so it keeps its class.
  O2Alignments test{.specs = 3, .classes = 3, .predicted = {0, 1}, .values = {}};
  const double z1[] = {1, 0, 2}, z2[] = {0, 1, 1};
  for (int e = 0; e < 3; ++e) {
    test.values.insert(test.values.end(), {0.0, 2 + 10 * e + z1[e] * sigma, 5 + z2[e] * sigma});
  }
  for (int e = 0; e < 3; ++e) test.values.insert(test.values.end(), {7.0, 0.0, 7.0});
  EXPECT_EQ(o2_corrected_classes(c, test), (std::vector<int32_t>{1, 1}));
  // Spec 2 now favours source 2 as well: votes 1, 2, 2 -> 2.
  test.values[2 * 3 + 2] = 5 + 3 * sigma;
  EXPECT_EQ(o2_corrected_classes(c, test)[0], 2);
}

TEST(O2Rules, NormalQuantile) {
  EXPECT_NEAR(normal_quantile(0.999), 3.090232306167813, 1e-12);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(normal_quantile(0.01), -2.326347874040841, 1e-12);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-9);
  EXPECT_THROW(normal_quantile(20.0), Error);  // the reference library's default: not a p
  EXPECT_THROW(normal_quantile(1.0), Error);
}

TEST(O2Rules, ThresholdsMeetTheTargetFalsePositiveRate) {
  std::vector<double> scores;
  for (int i = 1; i <= 100; ++i) scores.push_back(i);
  EXPECT_EQ(threshold_for_fpr(scores, 0.05), 95.0);
  EXPECT_DOUBLE_EQ(fraction_above(scores, 95.0), 0.05);
  EXPECT_EQ(threshold_for_fpr(scores, 0.01), 99.0);
  EXPECT_EQ(threshold_for_fpr(scores, 0.0), 100.0);
  EXPECT_EQ(fraction_above(scores, 100.0), 0.0);
  EXPECT_EQ(threshold_for_fpr(scores, 1.0), -kInf);
  EXPECT_EQ(threshold_for_fpr(scores, 0.07), 93.0);  // 0.07 · 100 is 7, not 6.999...
  // Ties never push the rate above the target; unscored (−inf) images count as clean.
  const std::vector<double> tied = {3, 3, 3, 3, 1, 1, 0, 0, -kInf, -kInf};
  const double tau = threshold_for_fpr(tied, 0.2);
  EXPECT_EQ(tau, 3.0);
  EXPECT_EQ(fraction_above(tied, tau), 0.0);
  EXPECT_DOUBLE_EQ(fraction_above(tied, threshold_for_fpr(tied, 0.4)), 0.4);
  EXPECT_DOUBLE_EQ(fraction_above(tied, threshold_for_fpr(tied, 0.5)), 0.4);
  EXPECT_DOUBLE_EQ(fraction_above(tied, threshold_for_fpr(tied, 0.6)), 0.6);
  EXPECT_THROW(threshold_for_fpr({}, 0.01), Error);
  EXPECT_THROW(threshold_for_fpr(scores, 1.5), Error);
}

TEST(O2Rules, RocAucOnHandComputedCases) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4}, {0.35, 0.8}), 0.75);  // sklearn's example
  EXPECT_DOUBLE_EQ(roc_auc({1, 2}, {3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({3, 4}, {1, 2}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 1}, {1, 1}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({1, 2}, {2, 3}), 0.875);          // (1 + ½ + 1 + 1) / 4
  EXPECT_DOUBLE_EQ(roc_auc({-kInf, 0}, {-kInf, 5}), 0.625);  // (½ + 0 + 1 + 1) / 4
  EXPECT_TRUE(std::isnan(roc_auc({}, {1})));
}

}  // namespace
}  // namespace fsa::testing
