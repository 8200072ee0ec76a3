// gradcheck_command_test.cpp: the finite-difference audit (autograd/gradcheck.h) catches a
// wrong gradient, checks the elements asked for and restores the values; `fsa gradcheck`
// passes on random networks and a synthetic CIFAR-10 file, and fails (exit 1) above its
// tolerance.
#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tests/attack_cli_fixture.h"
#include "tests/cli_runner.h"
#include "tests/test_util.h"

namespace fsa::testing {
namespace {

TEST(Gradcheck, CatchesAWrongGradientAndRestoresTheValues) {
  const Tensor x = random_tensor({3, 4}, 1, 0.5, 1.5);
  set_requires_grad(x, true);
  const std::vector<double> before = x.to_vector();
  // x · detach(x): the engine sees half of d(x²)/dx = 2x.
  const std::vector<LeafGradients> wrong = compare_gradients([&x] { return x * detach(x); }, {x});
  EXPECT_NEAR(worst_error(wrong[0]).relative, 0.5, 1e-6);
  const std::vector<LeafGradients> right = compare_gradients([&x] { return x * x; }, {x});
  EXPECT_LT(worst_error(right[0]).relative, 1e-8);
  EXPECT_EQ(x.to_vector(), before);
  // max_elements: evenly spread, first and last included.
  const std::vector<LeafGradients> some =
      compare_gradients([&x] { return exp(x); }, {x}, {.max_elements = 4});
  EXPECT_EQ(some[0].indices, (std::vector<int64_t>{0, 3, 7, 11}));
  EXPECT_EQ(some[0].elements, 12);
  EXPECT_THROW(compare_gradients([&x] { return x; }, {detach(x)}), Error);  // not a leaf
}

TEST(Gradcheck, WorstErrorUsesTheLeafScaleAsFloor) {
  LeafGradients g;
  g.indices = {0, 1};
  g.analytic = {1.0, 1e-9};
  g.numeric = {1.0, 2e-9};  // relative 0.5 on its own, 1e-6 against the leaf's scale
  const GradcheckWorst worst = worst_error(g);
  EXPECT_NEAR(worst.relative, 1e-6, 1e-12);
  EXPECT_EQ(worst.index, 1);
  g.scale = 10.0;  // the analytic gradient's largest entry, checked or not
  EXPECT_NEAR(worst_error(g).relative, 1e-7, 1e-13);
}

TEST(GradcheckCli, PassesOnRandomNetworksAndFailsAboveTheTolerance) {
  AttackCliFixture f;
  const std::string json = f.dir.file("fa.json");
  const CommandResult fa =
      run_fsa(concat_message("gradcheck fa --model '", f.classifier, "' --encoder '", f.encoder,
                             "' --decoder '", f.decoder, "' --data '", f.data,
                             "' --record 2 --elements 1 --adv-weight 1 --json '", json, "'"));
  ASSERT_EQ(fa.exit_status, 0) << fa.output;
  EXPECT_NE(fa.output.find("tau_sigma"), std::string::npos) << fa.output;
  const nlohmann::json report = read_json(json);
  EXPECT_TRUE(report["pass"].get<bool>());
  ASSERT_EQ(report["groups"].size(), 2u);
  EXPECT_EQ(report["groups"][1]["group"], "tau_mu");
  EXPECT_EQ(report["groups"][1]["checked"], 1);

  const CommandResult strict =
      run_fsa(concat_message("gradcheck classifier --model '", f.classifier, "' --data '", f.data,
                             "' --elements 3 --tolerance 1e-300"));
  EXPECT_EQ(strict.exit_status, 1) << strict.output;
  EXPECT_NE(strict.output.find("pixels"), std::string::npos) << strict.output;
  EXPECT_NE(strict.output.find("above the tolerance"), std::string::npos) << strict.output;

  const CommandResult missing = run_fsa(concat_message(
      "gradcheck classifier --model '", f.dir.file("none.h5"), "' --data '", f.data, "'"));
  EXPECT_EQ(missing.exit_status, 1) << missing.output;
  EXPECT_NE(missing.output.find("--model"), std::string::npos) << missing.output;
}

TEST(GradcheckCli, FiWeightsThroughTheNetworks) {
  AttackCliFixture f;
  const std::string train = f.dir.file("train");
  std::filesystem::create_directories(train);
  for (int b = 1; b <= 5; ++b) {
    cifar_file(f.dir, 10, "train/data_batch_" + std::to_string(b) + ".bin", b);
  }
  const CommandResult fi = run_fsa(
      concat_message("gradcheck fi --preset official --model '", f.classifier, "' --encoder '",
                     f.encoder, "' --decoder '", f.decoder, "' --data '", f.data, "' --train '",
                     train, "' --prototypes 1 --elements 1 --adv-weight 1"));
  ASSERT_EQ(fi.exit_status, 0) << fi.output;
  EXPECT_NE(fi.output.find("weights"), std::string::npos) << fi.output;
  EXPECT_NE(fi.output.find("pass"), std::string::npos) << fi.output;
}

}  // namespace
}  // namespace fsa::testing
