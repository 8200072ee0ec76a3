// cli_test.cpp: the `fsa` tool from the outside (the built binary on small inputs in a temp
// folder): --help of every subcommand, eval of the real ResNet-20 on 100 CIFAR records
// against PyTorch's count, reconstruct on synthetic data, and clear errors (exit status 1,
// no crash) for damaged inputs; plus the evaluation helpers the commands share.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/evaluation.h"
#include "models/registry.h"
#include "tests/cli_runner.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "weights/module_weights.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;

// A weight file of `architecture` with the model's initial (random) weights.
std::string write_random_weights(const TempDir& dir, const std::string& architecture) {
  const std::string path = dir.file(architecture + ".h5");
  WeightAttributes attributes;
  attributes.architecture = architecture;
  attributes.input_range = "0-1";
  attributes.channel_order = "RGB";
  attributes.mean = {0.5, 0.5, 0.5};
  attributes.stddev = {0.25, 0.25, 0.25};
  if (model_kind(architecture) != ModelKind::classifier) {
    attributes.mean = {0, 0, 0};
    attributes.stddev = {1, 1, 1};
  }
  save_module_weights(*make_model(architecture), path, attributes);
  return path;
}

// A CIFAR-10 test_batch.bin of `count` records (label n % 10, pixel bytes (7n + i) % 256)
// plus `extra` stray bytes, in `folder`.
void write_cifar_test_batch(const std::filesystem::path& folder, int count, int extra = 0) {
  std::filesystem::create_directories(folder);
  std::ofstream out(folder / "test_batch.bin", std::ios::binary);
  for (int n = 0; n < count; ++n) {
    out.put(static_cast<char>(n % 10));
    for (int i = 0; i < kCifarPixelBytes; ++i) out.put(static_cast<char>((7 * n + i) % 256));
  }
  for (int i = 0; i < extra; ++i) out.put('\0');
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST(CliHelp, EverySubcommandHasHelp) {
  const CommandResult top = run_fsa("--help");
  EXPECT_EQ(top.exit_status, 0) << top.output;
  for (const char* command : {"info", "convert", "eval", "reconstruct"}) {
    EXPECT_NE(top.output.find(command), std::string::npos) << command << " not in\n" << top.output;
    const CommandResult help = run_fsa(std::string(command) + " --help");
    EXPECT_EQ(help.exit_status, 0) << command << ":\n" << help.output;
    EXPECT_NE(help.output.find("Usage"), std::string::npos) << command << ":\n" << help.output;
  }
  EXPECT_NE(run_fsa("eval --help").output.find("--limit"), std::string::npos);
  EXPECT_NE(run_fsa("reconstruct --help").output.find("--save-dir"), std::string::npos);
  EXPECT_NE(run_fsa("convert --help").output.find("cifar_resnet20"), std::string::npos);
  EXPECT_NE(run_fsa("no-such-command").exit_status, 0);
}

TEST(CliEval, ResNet20OnTheFirst100TestRecordsMatchesPyTorch) {
  TempDir dir;
  const std::string model = dir.file("resnet20.h5");
  const std::string why_not = convert_asset("cifar10/resnet20-12fca82f.th", model);
  if (!why_not.empty()) GTEST_SKIP() << why_not;
  const std::string data = asset_path("data/cifar10").string();
  if (!std::filesystem::exists(data + "/test_batch.bin")) GTEST_SKIP() << data << " is absent";
  const std::string json_path = dir.file("result.json");
  const CommandResult result =
      run_fsa(concat_message("eval --model '", model, "' --data '", data,
                             "' --limit 100 --batch 32 --json '", json_path, "'"));
  ASSERT_EQ(result.exit_status, 0) << result.output;
  // Measured once with PyTorch 1.13 (CPU): the akamaster ResNet-20 definition loading
  // resnet20-12fca82f.th, eval mode, inputs (x/255 - mean)/std on the first 100 records of
  // test_batch.bin: 89 top-1 and 100 top-5 correct.
  const json r = read_json(json_path);
  EXPECT_EQ(r.at("results").at("images"), 100);
  EXPECT_EQ(r.at("results").at("top1_correct"), 89);
  EXPECT_EQ(r.at("results").at("top5_correct"), 100);
  EXPECT_DOUBLE_EQ(r.at("results").at("top1_percent").get<double>(), 89.0);
  const json& c = r.at("configuration");
  EXPECT_EQ(c.at("architecture"), "cifar_resnet20");
  EXPECT_EQ(c.at("split"), "test");
  EXPECT_EQ(c.at("limit"), 100);
  EXPECT_EQ(c.at("batch"), 32);
  EXPECT_EQ(c.at("preprocessing").at("mean"), (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_NE(result.output.find("89.00 %"), std::string::npos) << result.output;
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"resnet20.h5", "result.json"}));
}

TEST(CliEval, RunsOnSyntheticDataAndWritesJson) {
  TempDir dir;
  const std::string model = write_random_weights(dir, "cifar_resnet2b");
  write_cifar_test_batch(dir.path() / "cifar", 7);
  const CommandResult result =
      run_fsa(concat_message("eval -m '", model, "' --data '", dir.file("cifar"), "' -b 3 --json '",
                             dir.file("out.json"), "'"));
  ASSERT_EQ(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("7/7"), std::string::npos) << result.output;  // progress bar
  const json r = read_json(dir.file("out.json"));
  EXPECT_EQ(r.at("results").at("images"), 7);
  EXPECT_LE(r.at("results").at("top1_correct").get<int>(),
            r.at("results").at("top5_correct").get<int>());
  EXPECT_EQ(r.at("configuration").at("preprocessing").at("std"),
            (std::vector<double>{0.25, 0.25, 0.25}));
}

TEST(CliErrors, WrongKindOfModelIsAClearError) {
  TempDir dir;
  const std::string encoder = write_random_weights(dir, "vgg19_normalised_relu1_1");
  write_cifar_test_batch(dir.path() / "cifar", 2);
  expect_clear_error(
      run_fsa(concat_message("eval --model '", encoder, "' --data '", dir.file("cifar"), "'")),
      "holds an encoder (vgg19_normalised_relu1_1), but fsa eval needs a classifier");
  const std::string classifier = write_random_weights(dir, "cifar_resnet2b");
  expect_clear_error(run_fsa(concat_message("reconstruct --encoder '", classifier, "' --decoder '",
                                            classifier, "' --data-dir '", dir.file("cifar"), "'")),
                     "holds a classifier (cifar_resnet2b), but fsa reconstruct needs an encoder");
}

TEST(CliErrors, TruncatedWeightFile) {
  TempDir dir;
  const std::string model = write_random_weights(dir, "cifar_resnet2b");
  std::filesystem::resize_file(model, std::filesystem::file_size(model) / 2);
  write_cifar_test_batch(dir.path() / "cifar", 2);
  expect_clear_error(
      run_fsa(concat_message("eval --model '", model, "' --data '", dir.file("cifar"), "'")),
      model);
  expect_clear_error(run_fsa(concat_message("info '", model, "'")), model);
}

TEST(CliErrors, WeightOfTheWrongShape) {
  TempDir dir;
  const std::shared_ptr<Module> network = make_model("cifar_resnet2b");
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : network->named_tensors()) tensors[name] = tensor;
  tensors["conv1.weight"] = Tensor::zeros({8, 3, 5, 5});
  WeightAttributes attributes;
  attributes.architecture = "cifar_resnet2b";
  const std::string model = dir.file("wrong_shape.h5");
  write_weight_file(model, tensors, attributes);
  write_cifar_test_batch(dir.path() / "cifar", 2);
  expect_clear_error(
      run_fsa(concat_message("eval --model '", model, "' --data '", dir.file("cifar"), "'")),
      "mis-shaped: conv1.weight: model expects (8,3,3,3), file has (8,3,5,5)");
}

TEST(CliErrors, TruncatedCifarFile) {
  TempDir dir;
  const std::string model = write_random_weights(dir, "cifar_resnet2b");
  write_cifar_test_batch(dir.path() / "cifar", 3, 100);
  expect_clear_error(
      run_fsa(concat_message("eval --model '", model, "' --data '", dir.file("cifar"), "'")),
      "truncated");
  expect_clear_error(
      run_fsa(concat_message("eval --model '", model, "' --data '", dir.file("missing"), "'")),
      "test_batch.bin' does not exist");
}

TEST(CliErrors, CorruptImage) {
  TempDir dir;
  const std::string encoder = write_random_weights(dir, "vgg19_normalised_relu1_1");
  const std::string decoder = write_random_weights(dir, "wct_decoder_relu1_1");
  std::filesystem::create_directories(dir.path() / "photos");
  const std::string corrupt = dir.file("photos/broken.JPEG");
  std::ofstream(corrupt, std::ios::binary) << "\xff\xd8\xff\xe0 not really a JPEG";
  expect_clear_error(
      run_fsa(concat_message("reconstruct --encoder '", encoder, "' --decoder '", decoder,
                             "' --data imagenet --data-dir '", dir.file("photos"), "'")),
      "broken.JPEG");
}

TEST(CliErrors, ConverterProblemsAreClearErrors) {
  TempDir dir;
  const std::string input = dir.file("not_a_checkpoint.pth");
  std::ofstream(input) << "plain text\n";
  expect_clear_error(run_fsa(concat_message("convert '", input, "' '", dir.file("out.h5"), "'"),
                             "FSA_PYTHON=/nonexistent/python3"),
                     "/nonexistent/python3' not found");
  if (converter_available()) {
    const CommandResult result =
        run_fsa(concat_message("convert '", input, "' '", dir.file("out.h5"), "'"));
    expect_clear_error(result, "not_a_checkpoint.pth");
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"not_a_checkpoint.pth"});
}

TEST(CliConvert, ResultIsCheckedAgainstTheArchitecture) {
  TempDir dir;
  const std::string checkpoint = asset_path("weights/cifar10/resnet20-12fca82f.th").string();
  if (!std::filesystem::exists(checkpoint)) GTEST_SKIP() << checkpoint << " is absent";
  if (!converter_available()) GTEST_SKIP() << "python3 with numpy and h5py is needed";
  const std::string output = dir.file("out.h5");
  const CommandResult wrong = run_fsa(concat_message("convert '", checkpoint, "' '", output,
                                                     "' --arch cifar_resnet32 --mean 0.5 0.5 0.5"));
  expect_clear_error(wrong, "missing: layer1.3.conv1.weight");
  EXPECT_TRUE(dir.entries().empty());  // no half-right file left behind

  const CommandResult right = run_fsa(concat_message("convert '", checkpoint, "' '", output, "'"));
  ASSERT_EQ(right.exit_status, 0) << right.output;
  EXPECT_NE(right.output.find("loads into cifar_resnet20"), std::string::npos) << right.output;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.h5"});
  const CommandResult info = run_fsa(concat_message("info '", output, "'"));
  EXPECT_NE(info.output.find("cifar_resnet20"), std::string::npos) << info.output;
}

TEST(CliReconstruct, SyntheticCifarWithClassifierAndSavedComparisons) {
  TempDir dir;
  const std::string encoder = write_random_weights(dir, "vgg19_normalised_relu1_1");
  const std::string decoder = write_random_weights(dir, "wct_decoder_relu1_1");
  const std::string classifier = write_random_weights(dir, "cifar_resnet2b");
  write_cifar_test_batch(dir.path() / "cifar", 5);
  const CommandResult result = run_fsa(concat_message(
      "reconstruct --encoder '", encoder, "' --decoder '", decoder, "' --data-dir '",
      dir.file("cifar"), "' --limit 4 -b 3 --classifier '", classifier, "' --save-dir '",
      dir.file("saved"), "' --save-count 2 --json '", dir.file("r.json"), "'"));
  ASSERT_EQ(result.exit_status, 0) << result.output;
  const json r = read_json(dir.file("r.json"));
  EXPECT_EQ(r.at("results").at("images"), 4);
  EXPECT_TRUE(std::isfinite(r.at("results").at("psnr_mean_db").get<double>()));
  EXPECT_TRUE(r.at("results").contains("decoded_top1_percent"));
  EXPECT_EQ(r.at("configuration").at("decoder_architecture"), "wct_decoder_relu1_1");
  std::vector<std::string> saved;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "saved")) {
    saved.push_back(entry.path().filename().string());
  }
  std::sort(saved.begin(), saved.end());
  EXPECT_EQ(saved, (std::vector<std::string>{"cifar10_test_00000_relu1_1.png",
                                             "cifar10_test_00001_relu1_1.png"}));

  const std::string other_decoder = write_random_weights(dir, "wct_decoder_relu2_1");
  expect_clear_error(
      run_fsa(concat_message("reconstruct --encoder '", encoder, "' --decoder '", other_decoder,
                             "' --data-dir '", dir.file("cifar"), "'")),
      "ends at relu1_1 but the decoder");
}

TEST(Evaluation, CountsTopOneAndTopFiveWithTorchTieBreaking) {
  // Row 0: label 2 is the largest; row 1: label 0 ranks 6th; row 2: a tie between 1 and 3,
  // label 3 loses top-1 (argmax takes the lower index) but is in the top 5.
  const Tensor logits = Tensor::from_vector({0, 1, 9, 2, 3, 4, 0,  //
                                             1, 7, 6, 5, 4, 3, 2,  //
                                             0, 5, 1, 5, 0, 0, 0},
                                            {3, 7});
  const Tensor labels = Tensor::from_labels({2, 0, 3});
  const cli::TopKCounts counts = cli::count_correct(logits, labels);
  EXPECT_EQ(counts.top1, 1);
  EXPECT_EQ(counts.top5, 2);
  EXPECT_THROW(cli::count_correct(logits, Tensor::from_labels({0, 9, 1})), Error);
}

TEST(Evaluation, PsnrClipsTheReconstruction) {
  // Image 0: every value off by 0.1 -> MSE 0.01 -> 20 dB; image 1: 1.5 clipped to 1 (exact).
  const Tensor reference = Tensor::from_vector({0.5, 0.5, 0.2, 0.4, 1, 1, 1, 1}, {2, 1, 2, 2});
  const Tensor reconstruction =
      Tensor::from_vector({0.6, 0.4, 0.3, 0.3, 1.5, 1, 1, 2}, {2, 1, 2, 2});
  const std::vector<double> psnr = cli::psnr_per_image(reconstruction, reference);
  ASSERT_EQ(psnr.size(), 2u);
  EXPECT_NEAR(psnr[0], 20.0, 1e-5);  // float32 inputs
  EXPECT_TRUE(std::isinf(psnr[1]));
}

TEST(Evaluation, BatchesNeverSpanFilesAndStopAtTheLimit) {
  const cli::CifarSplit split{"train", {"a", "b"}, {5, 4}};
  const auto batches = cli::cifar10_batches(split, 7, 2);
  const std::vector<std::tuple<size_t, int64_t, int64_t>> expected = {
      {0, 0, 2}, {0, 2, 2}, {0, 4, 1}, {1, 0, 2}};
  ASSERT_EQ(batches.size(), expected.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(std::make_tuple(batches[i].file, batches[i].offset, batches[i].count), expected[i]);
  }
  EXPECT_EQ(cli::cifar10_batches(split, -1, 100).size(), 2u);
}

}  // namespace
}  // namespace fsa::testing
