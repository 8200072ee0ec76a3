// train_cli_test.cpp: `fsa train-decoder` and `fsa train` from the outside, on random weights
// and small synthetic CIFAR-10 files: a run stopped after its checkpoint and resumed gives
// the loss log and the weights of an uninterrupted run, bit for bit; the written weights load
// with load_model (and `fsa eval`); bad options give clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/evaluation.h"
#include "data/cifar10.h"
#include "models/registry.h"
#include "tests/cli_runner.h"
#include "tests/temp_dir.h"
#include "weights/module_weights.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;

std::string random_weights(const TempDir& dir, const std::string& architecture) {
  const std::string path = dir.file(architecture + ".h5");
  WeightAttributes attributes;
  attributes.architecture = architecture;
  attributes.input_range = "0-1";
  attributes.channel_order = "RGB";
  save_module_weights(*make_model(architecture), path, attributes);
  return path;
}

// data_batch_1..5.bin and test_batch.bin with `per_file` records each, labels n % classes.
std::string cifar_folder(const TempDir& dir, int per_file, int classes = 3) {
  const std::string folder = dir.file(concat_message("cifar", classes));
  std::filesystem::create_directories(folder);
  for (const std::string name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                                 "data_batch_5", "test_batch"}) {
    std::ofstream out(folder + "/" + name + ".bin", std::ios::binary);
    for (int n = 0; n < per_file; ++n) {
      out.put(static_cast<char>(n % classes));
      for (int i = 0; i < kCifarPixelBytes; ++i) {
        out.put(static_cast<char>((17 * n + 5 * i + name.size() * 31) % 256));
      }
    }
  }
  return folder;
}

std::vector<json> read_log(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  return records;
}

// The logged values except the wall-clock time.
void expect_same_log(const std::string& a, const std::string& b) {
  std::vector<json> ra = read_log(a), rb = read_log(b);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    ra[i].erase("elapsed_s");
    rb[i].erase("elapsed_s");
    EXPECT_EQ(ra[i], rb[i]) << "record " << i;
  }
}

void expect_same_weights(const std::string& a, const std::string& b) {
  const WeightFile fa = read_weight_file(a), fb = read_weight_file(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, tensor] : fa.tensors) {
    EXPECT_EQ(tensor.to_vector(), fb.tensors.at(name).to_vector()) << name;
  }
}

struct TrainCliFixture {
  TempDir dir;
  std::string encoder = random_weights(dir, "vgg19_normalised_relu2_1");
  std::string data = cifar_folder(dir, 6);

  CommandResult train_decoder(const std::string& out, const std::string& extra) {
    return run_fsa(concat_message("train-decoder --encoder '", encoder, "' --data-dir '", data,
                                  "' --limit 20 --batch 2 --log-every 1 --checkpoint-every 2 ",
                                  "--lr 1e-3 --out '", dir.file(out), "' ", extra));
  }
  CommandResult train(const std::string& out, const std::string& extra) {
    return run_fsa(concat_message("train --data-dir '", data, "' --limit 12 --batch 4 ",
                                  "--log-every 1 --checkpoint-every 2 --out '", dir.file(out), "' ",
                                  extra));
  }
};

TEST(TrainDecoderCli, ResumedRunMatchesAnUninterruptedOne) {
  TrainCliFixture f;
  const CommandResult whole = f.train_decoder("whole", "--steps 4");
  ASSERT_EQ(whole.exit_status, 0) << whole.output;
  EXPECT_NE(whole.output.find("steps/s"), std::string::npos) << whole.output;
  const CommandResult first = f.train_decoder("parts", "--steps 2");
  ASSERT_EQ(first.exit_status, 0) << first.output;
  const CommandResult rest = f.train_decoder("parts", "--steps 4 --resume");
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  EXPECT_NE(rest.output.find("from step 2"), std::string::npos) << rest.output;

  expect_same_log(f.dir.file("whole/loss.jsonl"), f.dir.file("parts/loss.jsonl"));
  EXPECT_EQ(read_log(f.dir.file("whole/loss.jsonl")).size(), 4u);
  expect_same_weights(f.dir.file("whole/decoder.h5"), f.dir.file("parts/decoder.h5"));
  const cli::LoadedModel decoder =
      cli::load_model(f.dir.file("whole/decoder.h5"), ModelKind::decoder, "test");
  EXPECT_EQ(decoder.attributes.architecture, "wct_decoder_relu2_1");

  // Starting from the written decoder (--init) works too.
  const CommandResult from_init = f.train_decoder(
      "init",
      concat_message("--steps 1 --pairing self --init '", f.dir.file("whole/decoder.h5"), "'"));
  ASSERT_EQ(from_init.exit_status, 0) << from_init.output;

  // ... and widened into a wide decoder (--init plus --arch).
  const CommandResult widened = f.train_decoder(
      "wide", concat_message("--steps 1 --pairing self --arch wide2_decoder_relu2_1 --init '",
                             f.dir.file("whole/decoder.h5"), "'"));
  ASSERT_EQ(widened.exit_status, 0) << widened.output;
  EXPECT_EQ(cli::load_model(f.dir.file("wide/decoder.h5"), ModelKind::decoder, "test")
                .attributes.architecture,
            "wide2_decoder_relu2_1");
  expect_clear_error(
      f.train_decoder("narrowed", concat_message("--steps 1 --arch wct_decoder_relu2_1 ",
                                                 "--init '", f.dir.file("wide/decoder.h5"), "'")),
      "can only embed a decoder of the same cut and layout and of width at most 1");
}

TEST(TrainDecoderCli, RunStoppedByTimeResumesLikeAnUninterruptedOne) {
  TrainCliFixture f;
  const CommandResult whole = f.train_decoder("whole", "--steps 4");
  ASSERT_EQ(whole.exit_status, 0) << whole.output;
  // Any positive limit has passed by the first log line: the run stops there (step 1, between
  // two checkpoints) and writes its checkpoint and weights.
  const CommandResult first = f.train_decoder("parts", "--steps 4 --max-seconds 1e-9");
  ASSERT_EQ(first.exit_status, 0) << first.output;
  EXPECT_NE(first.output.find("stopped by --max-seconds"), std::string::npos) << first.output;
  EXPECT_EQ(read_log(f.dir.file("parts/loss.jsonl")).size(), 1u);
  ASSERT_TRUE(std::filesystem::exists(f.dir.file("parts/decoder.h5")));
  const CommandResult rest = f.train_decoder("parts", "--steps 4 --resume");
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  EXPECT_NE(rest.output.find("from step 1"), std::string::npos) << rest.output;

  expect_same_log(f.dir.file("whole/loss.jsonl"), f.dir.file("parts/loss.jsonl"));
  expect_same_weights(f.dir.file("whole/decoder.h5"), f.dir.file("parts/decoder.h5"));
  expect_clear_error(f.train_decoder("negative", "--steps 1 --max-seconds -1"),
                     "--max-seconds must be >= 0");
}

TEST(TrainDecoderCli, FlippedRunResumesExactlyAndSeesOtherImages) {
  TrainCliFixture f;
  const std::string flip = "--pairing self --flip ";
  ASSERT_EQ(f.train_decoder("whole", flip + "--steps 4").exit_status, 0);
  ASSERT_EQ(f.train_decoder("parts", flip + "--steps 2").exit_status, 0);
  const CommandResult rest = f.train_decoder("parts", flip + "--steps 4 --resume");
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  expect_same_log(f.dir.file("whole/loss.jsonl"), f.dir.file("parts/loss.jsonl"));
  expect_same_weights(f.dir.file("whole/decoder.h5"), f.dir.file("parts/decoder.h5"));

  // Unflipped, the same run starts from the same decoder but sees other images.
  ASSERT_EQ(f.train_decoder("plain", "--pairing self --steps 4").exit_status, 0);
  const std::vector<json> flipped = read_log(f.dir.file("whole/loss.jsonl"));
  const std::vector<json> plain = read_log(f.dir.file("plain/loss.jsonl"));
  ASSERT_EQ(flipped.size(), plain.size());
  EXPECT_NE(flipped[0].at("loss"), plain[0].at("loss"));
  // A run begun without --flip cannot be resumed with it.
  expect_clear_error(f.train_decoder("plain", flip + "--steps 6 --resume"), "flip");
}

TEST(TrainDecoderCli, ClearErrors) {
  TrainCliFixture f;
  ASSERT_EQ(f.train_decoder("run", "--steps 1").exit_status, 0);
  expect_clear_error(f.train_decoder("run", "--steps 2"), "exists: pass --resume");
  const CommandResult changed = f.train_decoder("run", "--steps 2 --resume --style-weight 2");
  expect_clear_error(changed, "the options differ");
  EXPECT_NE(changed.output.find("style_weight: checkpoint 1.0, now 2.0"), std::string::npos)
      << changed.output;
  expect_clear_error(f.train_decoder("empty", "--steps 2 --resume"), "does not exist");
  expect_clear_error(f.train_decoder("x", "--steps 1 --arch wct_decoder_relu3_1"),
                     "starts from relu3_1 but the encoder ends at relu2_1");
  expect_clear_error(f.train_decoder("x", "--steps 0"), "--steps must be >= 1");
  expect_clear_error(f.train_decoder("x", "--steps 1 --lr-decay -1"), "--lr-decay must be >= 0");
  expect_clear_error(run_fsa(concat_message("train-decoder --encoder '", f.encoder,
                                            "' --data images ", "--data-dir '", f.dir.file("none"),
                                            "' --out '", f.dir.file("x"), "'")),
                     "[images] folder '" + f.dir.file("none") + "' does not exist");
}

TEST(TrainCli, ResumedRunMatchesAndEvalLoadsTheClassifier) {
  TrainCliFixture f;
  const std::string common = "--lr-schedule constant --lr 0.05 --adversary pgd --attack-steps 1";
  const CommandResult whole = f.train("whole", "--steps 3 " + common);
  ASSERT_EQ(whole.exit_status, 0) << whole.output;
  ASSERT_EQ(f.train("parts", "--steps 2 " + common).exit_status, 0);
  const CommandResult rest = f.train("parts", "--steps 3 --resume " + common);
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  expect_same_log(f.dir.file("whole/loss.jsonl"), f.dir.file("parts/loss.jsonl"));
  expect_same_weights(f.dir.file("whole/classifier.h5"), f.dir.file("parts/classifier.h5"));

  const CommandResult eval = run_fsa(concat_message(
      "eval --model '", f.dir.file("whole/classifier.h5"), "' --data '", f.data, "'"));
  ASSERT_EQ(eval.exit_status, 0) << eval.output;
  EXPECT_NE(eval.output.find("top-1:"), std::string::npos) << eval.output;
}

TEST(TrainCli, FeatureAugmentationExamples) {
  TrainCliFixture f;
  const std::string decoder = random_weights(f.dir, "wct_decoder_relu2_1");
  const CommandResult r =
      f.train("fa", concat_message("--steps 1 --adversary fa --fa-iterations 1 --encoder '",
                                   f.encoder, "' --decoder '", decoder, "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  EXPECT_EQ(read_log(f.dir.file("fa/loss.jsonl")).size(), 1u);
}

// FI examples: one prototype per class (every class needs them, so the data has ten), a
// run stopped after step 1 and resumed gives the log and weights of an uninterrupted run.
TEST(TrainCli, FeatureInterpolationExamplesResumeExactly) {
  TrainCliFixture f;
  f.data = cifar_folder(f.dir, kCifarClasses, kCifarClasses);  // 5 images of each class
  const std::string decoder = random_weights(f.dir, "wct_decoder_relu2_1");
  const std::string options =
      concat_message("--lr-schedule constant --lr 0.05 --adversary fi --fi-iterations 2 ",
                     "--encoder '", f.encoder, "' --decoder '", decoder, "' --fi-prototypes ");
  const std::string common = options + "1";
  const CommandResult whole = f.train("whole", "--steps 2 " + common);
  ASSERT_EQ(whole.exit_status, 0) << whole.output;
  EXPECT_NE(whole.output.find("fi style prototypes: 1 per class"), std::string::npos)
      << whole.output;
  ASSERT_EQ(f.train("parts", "--steps 1 " + common).exit_status, 0);
  const CommandResult rest = f.train("parts", "--steps 2 --resume " + common);
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  EXPECT_NE(rest.output.find("from step 1"), std::string::npos) << rest.output;
  const std::vector<json> log = read_log(f.dir.file("whole/loss.jsonl"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_GT(log[0]["robust_loss"].get<double>(), 0.0);
  expect_same_log(f.dir.file("whole/loss.jsonl"), f.dir.file("parts/loss.jsonl"));
  expect_same_weights(f.dir.file("whole/classifier.h5"), f.dir.file("parts/classifier.h5"));
  // The prototypes are part of what a step computes: another count is another run.
  expect_clear_error(f.train("parts", "--steps 3 --resume " + options + "2"), "the options differ");
  expect_clear_error(f.train("six", "--steps 1 " + options + "6"),
                     "has 5 images, fewer than the 6 prototypes asked for");
}

TEST(TrainCli, ClearErrors) {
  TrainCliFixture f;
  expect_clear_error(f.train("x", "--steps 1 --adversary fi"), "needs --encoder and --decoder");
  expect_clear_error(
      f.train("x", concat_message("--steps 1 --adversary fi --fi-prototypes 0 --encoder '",
                                  f.encoder, "' --decoder '", f.encoder, "'")),
      "--fi-prototypes must be >= 1");
  expect_clear_error(f.train("x", ""), "--epochs or as --steps");
  expect_clear_error(f.train("x", "--steps 1 --adversary fa"), "needs --encoder and --decoder");
  expect_clear_error(run_fsa(concat_message("train --steps 1 --data-dir '", f.data, "' --limit 12 ",
                                            "--batch 100 --out '", f.dir.file("x"), "'")),
                     "--batch 100 exceeds the 12 training images");
  ASSERT_EQ(f.train("cos", "--steps 1").exit_status, 0);
  expect_clear_error(f.train("cos", "--steps 2 --resume"), "schedule_steps");
}

}  // namespace
}  // namespace fsa::testing
