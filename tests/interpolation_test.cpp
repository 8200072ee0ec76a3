// interpolation_test.cpp: the feature interpolation attack (FI): one-hot weights are AdaIN to
// that one vertex bit for bit; the simplex projection; gradients through the interpolation
// weights by finite differences; the seeded prototype choice; the FI loop on toy modules;
// and `fsa attack fi` end to end on random networks and synthetic CIFAR-10 files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "attack/feature_interpolation.h"
#include "attack/rows.h"
#include "attack/style_interpolation.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/attack_cli_fixture.h"
#include "tests/attack_toys.h"
#include "tests/cli_runner.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

// P prototypes of C channels, classes 0..classes−1 in turn, σ > 0.
StylePrototypes random_prototypes(int64_t count, int64_t channels, int32_t classes, uint64_t seed,
                                  DType dtype = DType::f32) {
  StylePrototypes p;
  p.mean = random_tensor({count, channels, 1, 1}, seed, 0.0, 2.0, dtype);
  p.std = random_tensor({count, channels, 1, 1}, seed + 1, 0.2, 1.5, dtype);
  for (int64_t i = 0; i < count; ++i) p.labels.push_back(static_cast<int32_t>(i % classes));
  p.records.resize(static_cast<size_t>(count));
  std::iota(p.records.begin(), p.records.end(), 100);
  return p;
}

// Row i of a (P,C,1,1) tensor as (1,C,1,1).
Tensor row(const Tensor& x, int64_t i) { return slice(x, 0, i, i + 1); }

TEST(AttackInterpolation, OneHotWeightsAreAdaInToThatVertexExactly) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const Tensor e = relu(random_tensor({2, 5, 3, 3}, 1, -0.5, 2.0, dtype));
    const Tensor labels = Tensor::from_labels({1, 0});
    const StylePrototypes prototypes = random_prototypes(6, 5, 2, 2, dtype);  // 3 per class
    for (bool shared : {false, true}) {
      StyleInterpolation fi(prototypes, {.include_own = true, .shared_weights = shared});
      fi.begin(e, labels);
      ASSERT_EQ(fi.vertex_count(), 4);
      const ChannelStats own = channel_stats(e);
      const Tensor normalized = (e - own.mean) / own.std;  // AdaIN's content part
      for (int64_t vertex = 0; vertex < 4; ++vertex) {
        std::vector<double> one_hot(8, 0.0);
        one_hot[static_cast<size_t>(vertex)] = one_hot[static_cast<size_t>(4 + vertex)] = 1.0;
        for (const Tensor& w : fi.variables()) w.copy_from(Tensor::from_vector(one_hot, {2, 4, 1}));
        // Sample 0 (class 1): prototypes 1, 3, 5; sample 1 (class 0): 0, 2, 4.
        for (int64_t i = 0; i < 2; ++i) {
          Tensor style_mean = row(own.mean, i), style_std = row(own.std, i);
          if (vertex > 0) {
            const int64_t p = 2 * (vertex - 1) + (i == 0 ? 1 : 0);
            style_mean = row(prototypes.mean, p);
            style_std = row(prototypes.std, p);
          }
          const Tensor adain = row(normalized, i) * style_std + style_mean;
          EXPECT_TRUE(tensors_near(row(fi.perturbed(), i), adain, 0.0, 0.0))
              << "vertex " << vertex << " sample " << i << " shared " << shared;
        }
      }
    }
  }
}

TEST(AttackInterpolation, StartsAtTheOwnStyleOrUniform) {
  const Tensor e = relu(random_tensor({3, 4, 2, 2}, 3, -0.5, 2.0, DType::f32));
  const Tensor labels = Tensor::from_labels({0, 1, 1});
  StyleInterpolation own(random_prototypes(4, 4, 2, 4), {});
  own.begin(e, labels);
  EXPECT_TRUE(tensors_near(own.perturbed(), e, 1e-5, 1e-5));  // the identity transform
  EXPECT_TRUE(tensors_near(own.sigma_factor(), Tensor::ones({3, 4, 1, 1}), 1e-6, 1e-6));
  StyleInterpolation uniform(random_prototypes(4, 4, 2, 4),
                             {.start = InterpolationStart::uniform, .shared_weights = true});
  uniform.begin(e, labels);
  ASSERT_EQ(uniform.variables().size(), 1u);
  for (double w : uniform.variables()[0].to_vector()) EXPECT_NEAR(w, 1.0 / 3.0, 1e-7);
  EXPECT_THROW(StyleInterpolation(random_prototypes(4, 4, 2, 4), {.include_own = false}), Error);
  // A class without prototypes, and prototypes of another layer, are errors.
  EXPECT_THROW(own.begin(e, Tensor::from_labels({0, 1, 2})), Error);
  EXPECT_THROW(own.begin(relu(random_tensor({3, 6, 2, 2}, 5)), labels), Error);
}

TEST(AttackInterpolation, SimplexProjection) {
  const auto near = [](const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12) << i;
  };
  near(project_onto_simplex({0.2, 0.3, 0.5}), {0.2, 0.3, 0.5});
  near(project_onto_simplex({2.0, 0.0}), {1.0, 0.0});
  near(project_onto_simplex({0.5, 0.5, 0.5}), {1.0 / 3, 1.0 / 3, 1.0 / 3});
  near(project_onto_simplex({-1.0, -3.0}), {1.0, 0.0});
  // Two vertices: w1 = clamp((v1 − v2 + 1)/2, 0, 1); and the general case is on the simplex,
  // idempotent, and no farther from v than any vertex.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<double> v = random_tensor({7}, seed, -2.0, 2.0).to_vector();
    const std::vector<double> two = project_onto_simplex({v[0], v[1]});
    EXPECT_NEAR(two[0], std::clamp((v[0] - v[1] + 1) / 2, 0.0, 1.0), 1e-12);
    const std::vector<double> w = project_onto_simplex(v);
    EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-12);
    for (double x : w) EXPECT_GE(x, 0.0);
    near(project_onto_simplex(w), w);
    const auto distance = [&v](const std::vector<double>& p) {
      double d = 0.0;
      for (size_t i = 0; i < v.size(); ++i) d += (p[i] - v[i]) * (p[i] - v[i]);
      return d;
    };
    for (size_t k = 0; k < v.size(); ++k) {
      std::vector<double> vertex(v.size(), 0.0);
      vertex[k] = 1.0;
      EXPECT_LE(distance(w), distance(vertex) + 1e-12);
    }
  }
}

TEST(AttackInterpolation, GradientsThroughTheWeightsMatchFiniteDifferences) {
  // All inputs float64 and checked: the weights, the vertex statistics, the content.
  const Tensor normalized = random_tensor({2, 3, 2, 2}, 7, -1.5, 1.5);
  const Tensor weights_sigma = random_tensor({2, 4, 1}, 8, 0.0, 1.0);
  const Tensor weights_mean = random_tensor({2, 4, 1}, 9, 0.0, 1.0);
  const Tensor vertex_std = random_tensor({2, 4, 3}, 10, 0.2, 1.5);
  const Tensor vertex_mean = random_tensor({2, 4, 3}, 11, 0.0, 2.0);
  expect_gradients_match(
      "interpolate_style",
      [](const std::vector<Tensor>& x) { return interpolate_style(x[0], x[1], x[2], x[3], x[4]); },
      {normalized, weights_sigma, weights_mean, vertex_std, vertex_mean});
}

TEST(AttackInterpolation, SeededPrototypeChoice) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 60; ++i) labels.push_back((i * 7) % 3);
  const std::vector<int64_t> a = choose_prototype_indices(labels, 3, 4, 5);
  ASSERT_EQ(a.size(), 12u);
  EXPECT_EQ(a, choose_prototype_indices(labels, 3, 4, 5));
  EXPECT_NE(a, choose_prototype_indices(labels, 3, 4, 6));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(labels[static_cast<size_t>(a[i])], i / 4) << i;
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 12u);
  EXPECT_THROW(choose_prototype_indices(labels, 3, 21, 5), Error);  // 20 images per class
}

// --- the FI loop on toy modules -----------------------------------------------------------

struct FiToy {
  ToyEncoder encoder;
  ToyDecoder decoder;
  ToyClassifier classifier{3 * 4 * 4, 4, 41};
  Tensor images = random_tensor({5, 3, 4, 4}, 42, 0.2, 0.8, DType::f32);
  Tensor labels;
  StylePrototypes prototypes;
  FiToy() {
    NoGradGuard no_grad;
    labels = Tensor::from_labels(predictions(classifier(images)));  // all initially correct
    prototypes = random_prototypes(24, 3, 4, 44);                   // 6 per class
  }
};

TEST(AttackInterpolation, FiLoopKeepsWeightsOnTheSimplexAndFoolsTheToy) {
  FiToy toy;
  FiOptions options = fi_preset("paper");
  options.attack.iterations = 40;
  options.attack.adv_weight = 100.0;
  options.attack.lr = 0.1;
  FeatureInterpolationAttack attack(toy.encoder, toy.decoder, toy.classifier, options,
                                    toy.prototypes);
  const FaBatchResult r = attack.run(toy.images, toy.labels);
  EXPECT_EQ(r.iterations_run, 40);
  EXPECT_EQ(attack.interpolation().vertex_count(), 7);  // own + 6 of its class
  EXPECT_NEAR(attack.gradient_clip(), std::pow(7.0, 0.25) / std::sqrt(10.0), 1e-12);
  // Starting at the own style, iteration 0 decodes the clean image.
  EXPECT_TRUE(tensors_near(r.decoded, toy.images, 1e-5, 1e-5));
  for (const Tensor& w : attack.interpolation().variables()) {
    const std::vector<double> values = w.to_vector();
    for (size_t row = 0; row < 5; ++row) {
      double total = 0.0;
      for (size_t k = 0; k < 7; ++k) {
        EXPECT_GE(values[row * 7 + k], 0.0);
        total += values[row * 7 + k];
      }
      EXPECT_NEAR(total, 1.0, 1e-5);
    }
  }
  const std::vector<int32_t> predicted = predictions(toy.classifier(r.adversarial));
  const std::vector<int32_t> y = label_vector(toy.labels);
  int64_t successes = 0;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.success[i] != 0, predicted[i] != y[i]) << i;
    successes += r.success[i];
  }
  EXPECT_GT(successes, 0);
  EXPECT_THROW(attack.perturbation(), Error);  // not FA's transform
  EXPECT_THROW(fi_preset("fast"), Error);
  EXPECT_TRUE(fi_preset("official").interpolation.shared_weights);
}

TEST(AttackInterpolation, FiObjectiveGradientMatchesFiniteDifferences) {
  // The whole objective (decoder, classifier, content and CW terms) w.r.t. both weight
  // vectors, in float64, at a random point of the simplex.
  FiToy toy;
  toy.classifier.to(DType::f64);
  StylePrototypes prototypes = toy.prototypes;
  prototypes.mean = prototypes.mean.to(DType::f64);
  prototypes.std = prototypes.std.to(DType::f64);
  FiOptions options = fi_preset("paper");
  options.attack.adv_weight = 3.0;
  FeatureInterpolationAttack attack(toy.encoder, toy.decoder, toy.classifier, options, prototypes);
  attack.begin(toy.images.to(DType::f64), toy.labels);
  for (const Tensor& w : attack.interpolation().variables()) {
    w.copy_from(random_tensor(w.shape(), 77, 0.0, 1.0));
  }
  attack.interpolation().project();
  const std::vector<LeafGradients> gradients = compare_gradients(
      [&attack] { return attack.evaluate().total; }, attack.interpolation().variables());
  ASSERT_EQ(gradients.size(), 2u);
  for (const LeafGradients& g : gradients) {
    EXPECT_EQ(g.indices.size(), 35u);  // 5 samples x 7 vertices
    EXPECT_LT(worst_error(g).relative, 1e-6);
  }
}

// --- `fsa attack fi` ----------------------------------------------------------------------

TEST(AttackInterpolation, CliWritesMetricsAndRecordsThePrototypes) {
  AttackCliFixture f;
  const std::string train = f.dir.file("train");
  std::filesystem::create_directories(train);
  {
    TempDir scratch;  // data_batch_1..5 of 20 records each, two per class
    for (int b = 1; b <= 5; ++b) {
      const std::string name = "data_batch_" + std::to_string(b) + ".bin";
      std::filesystem::copy_file(cifar_file(scratch, 20, name, 7 * b), train + "/" + name);
    }
  }
  const std::string out = f.dir.file("fi");
  const CommandResult r = run_fsa(concat_message(
      "attack fi --model '", f.classifier, "' --encoder '", f.encoder, "' --decoder '", f.decoder,
      "' --data '", f.data, "' --train '", train,
      "' --prototypes 3 --limit 3 --batch 2 --iterations 2 --grid 2 --out '", out, "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  EXPECT_NE(r.output.find("success rate among clean-correct"), std::string::npos) << r.output;
  const nlohmann::json metrics = read_json(out + "/metrics.json");
  EXPECT_EQ(metrics["command"], "fsa attack fi");
  EXPECT_EQ(metrics["samples"].size(), 3u);
  const nlohmann::json& fi = metrics["config"]["attack"]["interpolation"];
  EXPECT_EQ(fi["prototypes_per_class"], 3);
  EXPECT_EQ(fi["vertices"], 4);
  EXPECT_EQ(fi["prototype_records"].size(), 30u);
  EXPECT_EQ(metrics["config"]["attack"]["iterations"], 2);
  EXPECT_FALSE(metrics["config"]["attack"].contains("epsilon"));
  EXPECT_TRUE(std::filesystem::exists(out + "/grid.png"));
  EXPECT_TRUE(std::filesystem::exists(out + "/adversarial/000002.png"));
  // The same seed picks the same prototypes; too many per class is a clear error.
  const CommandResult again = run_fsa(
      concat_message("attack fi --model '", f.classifier, "' --encoder '", f.encoder,
                     "' --decoder '", f.decoder, "' --data '", f.data, "' --train '", train,
                     "' --prototypes 11 --limit 1 --iterations 1 --out '", f.dir.file("x"), "'"));
  EXPECT_EQ(again.exit_status, 1) << again.output;
  EXPECT_NE(again.output.find("fewer than the 11 prototypes"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace fsa::testing
