// detect_cli_test.cpp: `fsa detect calibrate|eval` from the outside on a random-weight
// ResNet-20 and a tiny synthetic CIFAR-10 folder whose labels are the model's own
// predictions (so calibration has correctly classified images): the detector file, the
// evaluation JSON on a `fsa attack pgd` folder, and clear errors for bad inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "data/cifar10.h"
#include "models/registry.h"
#include "tests/cli_runner.h"
#include "tests/temp_dir.h"
#include "weights/module_weights.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;

const WeightAttributes kClassifierAttributes{.architecture = "cifar_resnet20",
                                             .source = "",
                                             .input_range = "0-1",
                                             .mean = {0.5, 0.5, 0.5},
                                             .stddev = {0.25, 0.25, 0.25},
                                             .channel_order = "RGB"};

std::vector<uint8_t> record_pixels(int n) {
  std::vector<uint8_t> pixels(kCifarPixelBytes);
  for (int i = 0; i < kCifarPixelBytes; ++i) {
    pixels[i] = static_cast<uint8_t>((37 * n + 3 * i + (i / 1024) * 50 * (n % 3)) % 256);
  }
  return pixels;
}

// Records first..first+count-1 labelled with the model's predictions.
void write_cifar_file(const std::string& path, Module& model, int first, int count) {
  std::vector<double> values;
  for (int n = first; n < first + count; ++n) {
    for (uint8_t p : record_pixels(n)) values.push_back(p / 255.0);
  }
  std::vector<int32_t> labels;
  {
    NoGradGuard no_grad;
    labels = predictions(model.forward(Tensor::from_vector(values, {count, 3, 32, 32})));
  }
  std::ofstream out(path, std::ios::binary);
  for (int n = 0; n < count; ++n) {
    out.put(static_cast<char>(labels[n]));
    for (uint8_t p : record_pixels(first + n)) out.put(static_cast<char>(p));
  }
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

struct DetectFixture {
  TempDir dir;
  std::string model = dir.file("resnet20.h5");
  std::string data = dir.file("cifar");

  DetectFixture() {
    auto classifier =
        make_model("cifar_resnet20", Preprocessing{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}});
    classifier->eval();
    save_module_weights(*classifier, model, kClassifierAttributes);
    std::filesystem::create_directories(data);
    for (int k = 1; k <= 5; ++k) {  // 4 records each: calibration and held-out span files
      write_cifar_file(data + "/data_batch_" + std::to_string(k) + ".bin", *classifier, 4 * k, 4);
    }
    write_cifar_file(data + "/test_batch.bin", *classifier, 100, 6);
  }

  CommandResult calibrate(const std::string& out, const std::string& extra = "",
                          const std::string& noise = "n0.01,s0.02") const {
    return run_fsa(concat_message("detect calibrate --model '", model, "' --data '", data,
                                  "' --limit 10 --holdout 5 --samples 4 --noise ", noise,
                                  " --pgd-eps 0.3 --pgd-steps 3 --batch 4 --rows 6 --out '", out,
                                  "' ", extra));
  }
};

TEST(O2Cli, CalibrateAndEvalWriteValidJson) {
  DetectFixture f;
  const std::string detector = f.dir.file("detector.json");
  const CommandResult calibrated = f.calibrate(detector);
  ASSERT_EQ(calibrated.exit_status, 0) << calibrated.output;
  EXPECT_NE(calibrated.output.find("images/s"), std::string::npos) << calibrated.output;
  const json d = read_json(detector);
  EXPECT_EQ(d["format"], "fsa-o2-detector");
  EXPECT_EQ(d["model"]["architecture"], "cifar_resnet20");
  EXPECT_EQ(d["detection"]["specs"], json({"n0.01", "s0.02"}));
  EXPECT_EQ(d["detection"]["samples"], 4);
  EXPECT_NEAR(d["detection"]["z_cutoff"].get<double>(), 3.0902323, 1e-6);
  EXPECT_EQ(d["calibration"]["images"], 10);
  EXPECT_EQ(d["calibration"]["clean_correct"], 10);  // labels are the predictions
  EXPECT_GT(d["calibration"]["correct_and_pgd_fooled"].get<int>(), 0);
  EXPECT_EQ(d["statistics"]["per_class"].size(), 10u);
  EXPECT_EQ(d["statistics"]["per_class"][0]["mean"].size(), 2u);      // specs
  EXPECT_EQ(d["statistics"]["per_class"][0]["mean"][0].size(), 10u);  // classes
  EXPECT_EQ(d["holdout"]["scores"].size(), 5u);
  ASSERT_EQ(d["holdout"]["thresholds"].size(), 2u);
  EXPECT_EQ(d["holdout"]["thresholds"][1]["target_fpr"], 0.05);
  EXPECT_EQ(d["config"]["holdout_records"], json({10, 15}));
  EXPECT_EQ(d["correction"]["specs"].size(), 9u);  // the PyTorch example's correction set
  EXPECT_GT(d["correction"]["pairs"].size(), 0u);

  const std::string adversarial = f.dir.file("pgd");
  const CommandResult attacked = run_fsa(concat_message(
      "attack pgd --model '", f.model, "' --data '", f.data,
      "/test_batch.bin' --limit 4 --eps 0.3 --steps 3 --grid 0 --out '", adversarial, "'"));
  ASSERT_EQ(attacked.exit_status, 0) << attacked.output;
  const std::string result = f.dir.file("eval.json");
  const CommandResult evaluated = run_fsa(concat_message(
      "detect eval --detector '", detector, "' --model '", f.model, "' --data '", f.data,
      "' --limit 6 --adversarial '", adversarial, "' --rows 8 --json '", result, "'"));
  ASSERT_EQ(evaluated.exit_status, 0) << evaluated.output;
  EXPECT_NE(evaluated.output.find("clean FPR"), std::string::npos) << evaluated.output;
  EXPECT_NE(evaluated.output.find("ROC-AUC"), std::string::npos) << evaluated.output;
  const json e = read_json(result);
  EXPECT_EQ(e["clean"]["images"], 6);
  EXPECT_EQ(e["clean"]["scores"].size(), 6u);
  EXPECT_EQ(e["clean"]["accuracy"], 1.0);
  EXPECT_EQ(e["clean"]["corrected"].size(), 6u);
  ASSERT_EQ(e["clean"]["rules"].size(), 5u);  // z, two held-out, two oracle
  for (const json& rule : e["clean"]["rules"]) {
    const double fpr = rule["false_positive_rate"].get<double>();
    EXPECT_GE(fpr, 0.0);
    EXPECT_LE(fpr, 1.0);
  }
  ASSERT_EQ(e["adversarial"].size(), 1u);
  const json& set = e["adversarial"][0];
  EXPECT_EQ(set["attack_command"], "fsa attack pgd");
  EXPECT_EQ(set["images"], 4);
  EXPECT_EQ(set["records"], json({0, 1, 2, 3}));
  EXPECT_EQ(set["success_disagreements_with_attack_metrics"], 0);
  EXPECT_EQ(set["rules"].size(), 5u);
  EXPECT_EQ(set["corrected"].size(), 4u);
  const json& auc = set["roc_auc_all"];
  ASSERT_TRUE(auc.is_number());
  EXPECT_GE(auc.get<double>(), 0.0);
  EXPECT_LE(auc.get<double>(), 1.0);
}

TEST(O2Cli, HeldOutRecordsMayComeFromTheTestSplit) {
  DetectFixture f;
  const std::string detector = f.dir.file("detector.json");
  const CommandResult r =
      f.calibrate(detector, "--holdout-split test --fpr 0.5 --correct-noise none", "n0.01");
  ASSERT_EQ(r.exit_status, 0) << r.output;
  const json d = read_json(detector);
  EXPECT_TRUE(d["correction"].is_null());
  EXPECT_EQ(d["config"]["holdout_split"], "test");
  EXPECT_EQ(d["config"]["holdout_records"], json({1, 6}));  // the last 5 of 6 test records
  ASSERT_EQ(d["holdout"]["thresholds"].size(), 1u);
  EXPECT_LE(d["holdout"]["thresholds"][0]["holdout_fpr"].get<double>(), 0.5);
  const CommandResult overlapping =
      run_fsa(concat_message("detect eval --detector '", detector, "' --model '", f.model,
                             "' --data '", f.data, "' --limit 2"));
  ASSERT_EQ(overlapping.exit_status, 0) << overlapping.output;
  EXPECT_NE(overlapping.output.find("overlap the detector's held-out test records"),
            std::string::npos)
      << overlapping.output;
  expect_clear_error(f.calibrate(detector, "--holdout-offset 5"),
                     "overlap the calibration records");
}

TEST(O2Cli, ClearErrors) {
  DetectFixture f;
  expect_clear_error(f.calibrate(f.dir.file("d.json"), "", "n0.01,x0.1"), "noise spec 'x0.1'");
  expect_clear_error(f.calibrate(f.dir.file("d.json"), "--offset 8"),
                     "exceed the 20 training records");
  expect_clear_error(f.calibrate(f.dir.file("d.json"), "--offset 12"),
                     "exceed the 20 training records");
  expect_clear_error(f.calibrate(f.dir.file("missing/d.json")), "folder of --out");
  const std::string detector = f.dir.file("detector.json");
  ASSERT_EQ(f.calibrate(detector).exit_status, 0);

  const auto eval = [&](const std::string& detector_file, const std::string& model,
                        const std::string& extra) {
    return run_fsa(concat_message("detect eval --detector '", detector_file, "' --model '", model,
                                  "' --data '", f.data, "' --limit 2 ", extra));
  };
  expect_clear_error(eval(f.dir.file("nope.json"), f.model, ""), "does not exist");
  expect_clear_error(eval(f.model, f.model, ""), "is not valid JSON");
  expect_clear_error(eval(detector, f.model, "--adversarial '" + f.dir.file("absent") + "'"),
                     "is not a folder");
  std::filesystem::create_directories(f.dir.file("empty"));
  expect_clear_error(eval(detector, f.model, "--adversarial '" + f.dir.file("empty") + "'"),
                     "holds no metrics.json");
  // Another ResNet-20 (other random weights): its final layer does not match.
  const std::string other = f.dir.file("other.h5");
  save_module_weights(*std::make_shared<NormalizedClassifier>(
                          std::make_shared<CifarResNet>(20, 10, 77), Preprocessing{}),
                      other, kClassifierAttributes);
  expect_clear_error(eval(detector, other, ""), "is not the model the detector");
}

}  // namespace
}  // namespace fsa::testing
