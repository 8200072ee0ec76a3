// weights_test.cpp: the HDF5 wrapper and the weight format: round trips, attributes,
// strict loading errors, damaged files, and a real checkpoint converted by
// scripts/convert_checkpoint.py (skipped without the assets or without python3-h5py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/assets.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "weights/hdf5_file.h"
#include "weights/weight_file.h"

namespace fsa::testing {
namespace {

void copy_prefix(const std::string& from, const std::string& to, size_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  std::ofstream(to, std::ios::binary).write(data.data(), in.gcount());
}

WeightAttributes sample_attributes() {
  return {.architecture = "cifar_resnet20",
          .source = "resnet20-12fca82f.th sha256:00ff",
          .input_range = "0-1",
          .mean = {0.485, 0.456, 0.406},
          .stddev = {0.229, 0.224, 0.225},
          .channel_order = "RGB"};
}

std::map<std::string, Tensor> sample_tensors() {
  return {{"conv1.weight", random_tensor({4, 3, 3, 3}, 1, -1, 1, DType::f32)},
          {"bn1.running_mean", random_tensor({4}, 2, -1, 1, DType::f32)},
          {"linear.weight", random_tensor({10, 4}, 3, -1, 1, DType::f64)},  // stored as float32
          {"scale", Tensor::full({}, 2.5)}};
}

TEST(Hdf5File, TensorsAndAttributesRoundTrip) {
  TempDir dir;
  const Tensor weight = random_tensor({2, 3, 4}, 7, -1, 1, DType::f32);
  {
    Hdf5File file = Hdf5File::create(dir.file("a.h5"));
    file.write_tensor("/group/nested/weight", weight);
    file.write_tensor("/top", Tensor::full({}, -1.5));
    file.write_tensor("/empty", Tensor::zeros({0, 3}));
    file.write_string_attribute("name", "héllo");
    file.write_integer_attribute("version", 42);
    file.write_float_attribute("values", {0.1, -2.0, 3e10});
    file.write_string_attribute("kind", "conv", "/group/nested/weight");
    file.write_string_attribute("name", "replaced");
    file.close();
  }
  const Hdf5File file = Hdf5File::open_read(dir.file("a.h5"));
  EXPECT_EQ(file.list_datasets(),
            (std::vector<std::string>{"/empty", "/group/nested/weight", "/top"}));
  EXPECT_EQ(file.list_datasets("/group"), (std::vector<std::string>{"/group/nested/weight"}));
  EXPECT_TRUE(file.has_dataset("/group/nested/weight"));
  EXPECT_FALSE(file.has_dataset("/group/nested"));  // a group, not a dataset
  EXPECT_FALSE(file.has_dataset("/missing/weight"));
  EXPECT_TRUE(tensors_near(file.read_tensor("/group/nested/weight"), weight, 0, 0));
  EXPECT_EQ(file.read_tensor("/top").shape(), Shape{});
  EXPECT_EQ(file.read_tensor("/top").item(), -1.5);
  EXPECT_EQ(file.read_tensor("/empty").shape(), (Shape{0, 3}));
  EXPECT_EQ(file.read_string_attribute("name"), "replaced");
  EXPECT_EQ(file.read_string_attribute("kind", "/group/nested/weight"), "conv");
  EXPECT_EQ(file.read_numeric_attribute("version"), std::vector<double>{42});
  EXPECT_EQ(file.read_numeric_attribute("values"), (std::vector<double>{0.1, -2.0, 3e10}));
  EXPECT_EQ(file.list_attributes(), (std::vector<std::string>{"name", "values", "version"}));
  EXPECT_FALSE(file.has_attribute("absent"));
}

TEST(Hdf5File, ErrorsNameTheFileAndTheCall) {
  TempDir dir;
  Hdf5File::create(dir.file("a.h5")).write_tensor("/x", Tensor::ones({2}));
  const Hdf5File file = Hdf5File::open_read(dir.file("a.h5"));
  const std::string missing = error_message([&] { file.read_tensor("/y"); });
  EXPECT_NE(missing.find("'/y'"), std::string::npos) << missing;
  EXPECT_NE(missing.find(dir.file("a.h5")), std::string::npos) << missing;
  const std::string attribute = error_message([&] { file.read_string_attribute("nope"); });
  EXPECT_NE(attribute.find("H5Aopen_by_name"), std::string::npos) << attribute;
  EXPECT_NE(attribute.find(dir.file("a.h5")), std::string::npos) << attribute;
  const std::string absent = error_message([&] { Hdf5File::open_read(dir.file("none.h5")); });
  EXPECT_NE(absent.find("no such file"), std::string::npos) << absent;
}

TEST(WeightFile, RoundTripKeepsTensorsAndAttributes) {
  TempDir dir;
  const std::string path = dir.file("weights.h5");
  const std::map<std::string, Tensor> tensors = sample_tensors();
  write_weight_file(path, tensors, sample_attributes());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"weights.h5"});  // no temporary left over

  const WeightFile file = read_weight_file(path);
  EXPECT_EQ(file.path, path);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(file.tensors.contains(name)) << name;
    EXPECT_EQ(file.tensors.at(name).dtype(), DType::f32);
    EXPECT_TRUE(tensors_near(file.tensors.at(name).to(DType::f64),
                             tensor.to(DType::f32).to(DType::f64), 0, 0))
        << name;
  }
  const WeightAttributes expected = sample_attributes();
  EXPECT_EQ(file.attributes.architecture, expected.architecture);
  EXPECT_EQ(file.attributes.source, expected.source);
  EXPECT_EQ(file.attributes.input_range, expected.input_range);
  EXPECT_EQ(file.attributes.mean, expected.mean);
  EXPECT_EQ(file.attributes.stddev, expected.stddev);
  EXPECT_EQ(file.attributes.channel_order, expected.channel_order);

  const Hdf5File raw = Hdf5File::open_read(path);  // the documented layout
  EXPECT_EQ(raw.read_string_attribute("format"), "fsa-weights");
  EXPECT_EQ(raw.read_numeric_attribute("format_version"), std::vector<double>{1});
  EXPECT_TRUE(raw.has_dataset("/tensors/conv1.weight"));
}

TEST(WeightFile, FailedWriteLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("weights.h5");
  write_weight_file(path, sample_tensors(), sample_attributes());
  std::map<std::string, Tensor> bad = sample_tensors();
  bad["labels"] = Tensor::from_labels({1, 2});  // int32: not a weight
  EXPECT_THROW(write_weight_file(path, bad, sample_attributes()), Error);
  EXPECT_THROW(write_weight_file(path, {{"a/b", Tensor::ones({1})}}, {}), Error);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"weights.h5"});
  EXPECT_EQ(read_weight_file(path).tensors.size(), sample_tensors().size());
}

TEST(WeightFile, LoadStrictListsEveryProblemInOneError) {
  TempDir dir;
  const std::string path = dir.file("weights.h5");
  write_weight_file(path, sample_tensors(), sample_attributes());
  const std::map<std::string, Shape> expected = {{"conv1.weight", {4, 3, 3, 3}},
                                                 {"bn1.running_mean", {8}},
                                                 {"linear.weight", {10, 4}},
                                                 {"linear.bias", {10}},
                                                 {"fc.weight", {2, 2}}};
  const std::string message = error_message([&] { load_strict(expected, path); });
  const std::vector<std::string> parts = {
      "2 missing, 1 unexpected, 1 mis-shaped",
      "missing: linear.bias (model expects (10))",
      "missing: fc.weight (model expects (2,2))",
      "unexpected: scale (file has ())",
      "mis-shaped: bn1.running_mean: model expects (8), file has (4)",
      "cifar_resnet20"};
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in:\n" << message;
  }
  EXPECT_NE(message.find(path), std::string::npos) << message;

  const std::map<std::string, Shape> exact = {{"conv1.weight", {4, 3, 3, 3}},
                                              {"bn1.running_mean", {4}},
                                              {"linear.weight", {10, 4}},
                                              {"scale", {}}};
  const std::map<std::string, Tensor> loaded = load_strict(exact, path);
  EXPECT_EQ(loaded.size(), 4u);
  EXPECT_EQ(loaded.at("scale").item(), 2.5);
}

TEST(WeightFile, DamagedOrForeignFilesGiveClearErrors) {
  TempDir dir;
  const std::string good = dir.file("good.h5");
  write_weight_file(good, sample_tensors(), sample_attributes());
  const size_t size = std::filesystem::file_size(good);
  for (size_t keep : {size / 2, size_t{4000}, size_t{100}, size_t{0}}) {
    const std::string truncated = dir.file("truncated.h5");
    copy_prefix(good, truncated, keep);
    const std::string message = error_message([&] { read_weight_file(truncated); });
    EXPECT_NE(message.find(truncated), std::string::npos) << keep << ": " << message;
  }

  const std::string text = dir.file("text.h5");
  std::ofstream(text) << "this is not HDF5\n";
  const std::string not_hdf5 = error_message([&] { read_weight_file(text); });
  EXPECT_NE(not_hdf5.find("is not an HDF5 file"), std::string::npos) << not_hdf5;
  EXPECT_NE(not_hdf5.find(text), std::string::npos) << not_hdf5;

  const std::string foreign = dir.file("foreign.h5");
  Hdf5File::create(foreign).write_tensor("/x", Tensor::ones({1}));
  const std::string message = error_message([&] { read_weight_file(foreign); });
  EXPECT_NE(message.find("not an fsa weight file"), std::string::npos) << message;
}

// The resnet20 expectation: ResNet-6n+2 with n = 3, 16/32/64 channels, BatchNorm.
std::map<std::string, Shape> cifar_resnet20_shapes() {
  std::map<std::string, Shape> shapes = {
      {"conv1.weight", {16, 3, 3, 3}}, {"linear.weight", {10, 64}}, {"linear.bias", {10}}};
  auto batch_norm = [&](const std::string& prefix, int64_t channels) {
    for (const char* field : {"weight", "bias", "running_mean", "running_var"}) {
      shapes[prefix + "." + field] = Shape{channels};
    }
  };
  batch_norm("bn1", 16);
  int64_t in_planes = 16;
  for (int stage = 1; stage <= 3; ++stage) {
    const int64_t planes = int64_t{16} << (stage - 1);
    for (int block = 0; block < 3; ++block) {
      const std::string prefix = concat_message("layer", stage, ".", block, ".");
      shapes[prefix + "conv1.weight"] = Shape{planes, in_planes, 3, 3};
      shapes[prefix + "conv2.weight"] = Shape{planes, planes, 3, 3};
      batch_norm(prefix + "bn1", planes);
      batch_norm(prefix + "bn2", planes);
      in_planes = planes;
    }
  }
  return shapes;
}

TEST(WeightFile, ReadsAConvertedPretrainedCheckpoint) {
  const std::filesystem::path checkpoint = asset_path("weights/cifar10/resnet20-12fca82f.th");
  if (!std::filesystem::exists(checkpoint)) GTEST_SKIP() << checkpoint << " is absent";
  if (std::system("/usr/bin/python3 -c 'import numpy, h5py' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3 with numpy and h5py is needed to convert";
  }
  TempDir dir;
  const std::string converted = dir.file("resnet20.h5");
  const std::filesystem::path repository =
      std::filesystem::path(FSA_TEST_DATA_DIR).parent_path().parent_path();
  const std::string script = (repository / "scripts" / "convert_checkpoint.py").string();
  const std::string command = concat_message("/usr/bin/python3 '", script, "' '",
                                             checkpoint.string(), "' '", converted, "' >/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  const WeightFile file = read_weight_file(converted);
  EXPECT_EQ(file.attributes.architecture, "cifar_resnet20");
  EXPECT_EQ(file.attributes.mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(file.attributes.stddev, (std::vector<double>{0.229, 0.224, 0.225}));
  EXPECT_EQ(file.attributes.input_range, "0-1");
  EXPECT_EQ(file.attributes.channel_order, "RGB");
  EXPECT_EQ(file.attributes.source.rfind("resnet20-12fca82f.th sha256:12fca82f", 0), 0u);

  const std::map<std::string, Tensor> tensors = load_strict(cifar_resnet20_shapes(), file);
  EXPECT_EQ(tensors.size(), 97u);
  // Values printed by torch.load for this checkpoint.
  EXPECT_EQ(tensors.at("conv1.weight").to_vector()[0], static_cast<double>(-0.13818146288394928f));
  EXPECT_EQ(tensors.at("linear.bias").to_vector()[1], static_cast<double>(-0.3431008756160736f));
  double running_var_sum = 0;
  for (double v : tensors.at("layer3.2.bn2.running_var").to_vector()) running_var_sum += v;
  EXPECT_NEAR(running_var_sum, 10.665690739639103, 1e-9);
}

}  // namespace
}  // namespace fsa::testing
