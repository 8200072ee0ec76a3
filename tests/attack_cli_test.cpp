// attack_cli_test.cpp: `fsa attack fa|pgd` from the outside, on random weights and a small
// synthetic CIFAR-10 file: the files it writes (metrics.json with config, summary and one
// entry per image; adversarial/*.png; grid.png) and its clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/attack_cli_fixture.h"
#include "tests/cli_runner.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;

TEST(AttackCli, FaWritesMetricsImagesAndGrid) {
  AttackCliFixture f;
  const std::string out = f.dir.file("fa");
  const CommandResult r = run_fsa(
      concat_message("attack fa --model '", f.classifier, "' --encoder '", f.encoder,
                     "' --decoder '", f.decoder, "' --data '", f.data,
                     "' --offset 1 --limit 3 --batch 2 --iterations 2 --grid 2 --out '", out, "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  EXPECT_NE(r.output.find("success rate among clean-correct"), std::string::npos) << r.output;
  const json metrics = read_json(out + "/metrics.json");
  EXPECT_TRUE(metrics["complete"].get<bool>());
  EXPECT_EQ(metrics["samples"].size(), 3u);
  EXPECT_EQ(metrics["samples"][0]["record"], 1);
  EXPECT_EQ(metrics["config"]["attack"]["preset"], "paper");
  EXPECT_EQ(metrics["config"]["attack"]["iterations"], 2);
  EXPECT_EQ(metrics["config"]["images"], 3);
  EXPECT_EQ(metrics["summary"]["images"], 3.0);
  EXPECT_TRUE(metrics["summary"].contains("quantised_success_rate"));
  EXPECT_EQ(metrics["timing"]["iterations_run"], 4);  // 2 batches x 2 iterations
  for (const char* name : {"000001.png", "000002.png", "000003.png"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/adversarial/" + name)) << name;
  }
  EXPECT_TRUE(std::filesystem::exists(out + "/grid.png"));
}

TEST(AttackCli, PgdAndFgsmRun) {
  AttackCliFixture f;
  const std::string out = f.dir.file("pgd");
  const CommandResult r = run_fsa(concat_message(
      "attack pgd --model '", f.classifier, "' --data '", f.data, "' --limit 4 --batch 4 ",
      "--eps 8/255 --step 2/255 --steps 2 --no-images ", "--grid 0 --out '", out, "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  const json metrics = read_json(out + "/metrics.json");
  EXPECT_NEAR(metrics["config"]["attack"]["epsilon"].get<double>(), 8.0 / 255, 1e-12);
  EXPECT_LE(metrics["summary"]["pixel_linf_all"].get<double>(), 8.0 / 255 + 1e-6);
  EXPECT_FALSE(std::filesystem::exists(out + "/adversarial"));
  const CommandResult fgsm =
      run_fsa(concat_message("attack pgd --fgsm --eps 0.01 --model '", f.classifier, "' --data '",
                             f.data, "' --limit 2 --out '", f.dir.file("fgsm"), "'"));
  ASSERT_EQ(fgsm.exit_status, 0) << fgsm.output;
  EXPECT_EQ(read_json(f.dir.file("fgsm") + "/metrics.json")["config"]["attack"]["steps"], 1);
}

TEST(AttackCli, ClearErrors) {
  AttackCliFixture f;
  const std::string decoder11 = random_weights(f.dir, "wct_decoder_relu1_1");
  const auto fa = [&](const std::string& model, const std::string& decoder,
                      const std::string& extra) {
    return run_fsa(concat_message("attack fa --model '", model, "' --encoder '", f.encoder,
                                  "' --decoder '", decoder, "' --data '", f.data, "' --out '",
                                  f.dir.file("x"), "' ", extra));
  };
  expect_clear_error(fa(f.classifier, decoder11, ""), "do not meet at the same layer");
  expect_clear_error(fa(f.encoder, f.decoder, ""), "classifier");
  expect_clear_error(fa(f.classifier, f.decoder, "--batch 0"), "--batch");
  expect_clear_error(fa(f.classifier, f.decoder, "--offset 5"), "offset");
  expect_clear_error(fa(f.classifier, f.decoder, "--eps -1"), "--eps");
  expect_clear_error(fa(f.classifier, f.decoder, "--target given"), "--target-label");
  expect_clear_error(run_fsa(concat_message("attack pgd --model '", f.classifier, "' --data '",
                                            f.data, "' --eps 8/0 --out '", f.dir.file("x"), "'")),
                     "divides by zero");
}

}  // namespace
}  // namespace fsa::testing
