// evaluation.cpp: model loading by kind, CIFAR-10 splits in batches, top-k counts and PSNR
// for the evaluating commands.
#include "cli/evaluation.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>

#include "weights/module_weights.h"

namespace fsa::cli {

namespace {

bool is_identity_normalisation(const WeightAttributes& a) {
  const bool zero_mean = a.mean.empty() || std::all_of(a.mean.begin(), a.mean.end(),
                                                       [](double m) { return m == 0.0; });
  const bool unit_std = a.stddev.empty() || std::all_of(a.stddev.begin(), a.stddev.end(),
                                                        [](double s) { return s == 1.0; });
  return zero_mean && unit_std;
}

// The preprocessing a classifier file asks for, checked to be one the model can apply.
Preprocessing classifier_preprocessing(const WeightAttributes& a, const std::string& where) {
  FSA_CHECK(a.input_range.empty() || a.input_range == "0-1", where, " takes input range '",
            a.input_range, "': only 0-1 (RGB images in [0,1]) is supported");
  FSA_CHECK(a.channel_order.empty() || a.channel_order == "RGB", where, " takes channel order '",
            a.channel_order, "': only RGB is supported");
  FSA_CHECK(a.mean.empty() || a.mean.size() == 3, where, " has ", a.mean.size(),
            " mean values, expected 3");
  FSA_CHECK(a.stddev.empty() || a.stddev.size() == 3, where, " has ", a.stddev.size(),
            " std values, expected 3");
  Preprocessing preprocessing;
  for (size_t c = 0; c < 3; ++c) {
    if (!a.mean.empty()) preprocessing.mean[c] = a.mean[c];
    if (!a.stddev.empty()) preprocessing.std[c] = a.stddev[c];
    FSA_CHECK(preprocessing.std[c] > 0.0, where, " has a non-positive std value ",
              preprocessing.std[c]);
  }
  return preprocessing;
}

bool has_image_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

}  // namespace

std::string kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::classifier:
      return "classifier";
    case ModelKind::encoder:
      return "encoder";
    case ModelKind::decoder:
      return "decoder";
  }
  return "model";
}

namespace {

std::string with_article(ModelKind kind) {
  return (kind == ModelKind::encoder ? "an " : "a ") + kind_name(kind);
}

}  // namespace

LoadedModel load_model(const std::string& path, ModelKind expected, const std::string& command,
                       Device device) {
  const WeightFile file = read_weight_file(path);
  const WeightAttributes& a = file.attributes;
  const std::string where = concat_message("[", command, "] '", path, "'");
  FSA_CHECK(!a.architecture.empty(), where,
            " has no 'architecture' attribute: convert it with `fsa convert --arch NAME`");
  const ModelKind kind = model_kind(a.architecture);
  FSA_CHECK(kind == expected, where, " holds ", with_article(kind), " (", a.architecture, "), but ",
            command, " needs ", with_article(expected), " here");
  Preprocessing preprocessing;
  if (kind == ModelKind::classifier) {
    preprocessing = classifier_preprocessing(a, where);
  } else {
    FSA_CHECK(is_identity_normalisation(a) && (a.input_range.empty() || a.input_range == "0-1") &&
                  (a.channel_order.empty() || a.channel_order == "RGB"),
              where, " asks for input preprocessing, which ", kind_name(kind),
              "s do not apply: they take (or produce) RGB in [0,1] themselves");
  }
  LoadedModel loaded{path, a, make_model(a.architecture, preprocessing)};
  std::map<std::string, Shape> expected_shapes;
  for (const auto& [name, tensor] : loaded.module->named_tensors()) {
    expected_shapes[name] = tensor.shape();
  }
  for (const auto& [name, tensor] : load_strict(expected_shapes, file)) {
    loaded.module->assign(name, tensor);
  }
  loaded.module->eval();
  loaded.module->requires_grad(false);
  loaded.module->to(device);
  return loaded;
}

int64_t CifarSplit::total_records() const {
  int64_t total = 0;
  for (int64_t n : records) total += n;
  return total;
}

CifarSplit cifar10_split(const std::string& dir, const std::string& split) {
  CifarSplit result{split, {}, {}};
  if (split == "test") {
    result.files.push_back((std::filesystem::path(dir) / "test_batch.bin").string());
  } else if (split == "train") {
    for (int k = 1; k <= 5; ++k) {
      result.files.push_back(
          (std::filesystem::path(dir) / ("data_batch_" + std::to_string(k) + ".bin")).string());
    }
  } else {
    fail("[cifar10] unknown split '", split, "': expected test or train");
  }
  for (const std::string& file : result.files) {
    FSA_CHECK(std::filesystem::is_regular_file(file), "[cifar10] '", file, "' does not exist (the ",
              split, " split of CIFAR-10 in the binary layout)");
    result.records.push_back(cifar10_record_count(file));
  }
  return result;
}

std::vector<CifarBatch> cifar10_batches(const CifarSplit& split, int64_t limit,
                                        int64_t batch_size) {
  FSA_CHECK(batch_size > 0, "[cifar10] batch size must be positive, got ", batch_size);
  int64_t remaining = limit < 0 ? split.total_records() : limit;
  std::vector<CifarBatch> batches;
  for (size_t f = 0; f < split.files.size() && remaining > 0; ++f) {
    const int64_t in_file = std::min(remaining, split.records[f]);
    for (int64_t offset = 0; offset < in_file; offset += batch_size) {
      batches.push_back({f, offset, std::min(batch_size, in_file - offset)});
    }
    remaining -= in_file;
  }
  return batches;
}

LabelledImages read_batch(const CifarSplit& split, const CifarBatch& batch) {
  return read_cifar10(split.files[batch.file], {.offset = batch.offset, .limit = batch.count});
}

TopKCounts count_correct(const Tensor& logits, const Tensor& labels) {
  FSA_CHECK(logits.ndim() == 2 && labels.ndim() == 1 && labels.dim(0) == logits.dim(0),
            "[count_correct] expected logits (N,K) and labels (N), got ", logits.shape(), " and ",
            labels.shape());
  const int64_t rows = logits.dim(0), classes = logits.dim(1);
  const std::vector<double> z = logits.to_vector();
  const std::vector<double> y = labels.to_vector();
  TopKCounts counts;
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t label = static_cast<int64_t>(y[n]);
    FSA_CHECK(label >= 0 && label < classes, "[count_correct] label ", label, " of row ", n,
              " is outside 0..", classes - 1);
    const double* row = z.data() + n * classes;
    // Rank of the label: classes scoring higher, or equal with a lower index.
    int64_t rank = 0;
    for (int64_t k = 0; k < classes; ++k) {
      if (row[k] > row[label] || (row[k] == row[label] && k < label)) ++rank;
    }
    counts.top1 += rank == 0 ? 1 : 0;
    counts.top5 += rank < 5 ? 1 : 0;
  }
  return counts;
}

std::vector<double> psnr_per_image(const Tensor& reconstruction, const Tensor& reference) {
  FSA_CHECK(reconstruction.ndim() == 4 && reconstruction.shape() == reference.shape(),
            "[psnr] expected two (N,C,H,W) tensors of one shape, got ", reconstruction.shape(),
            " and ", reference.shape());
  const std::vector<double> x = reconstruction.to_vector();
  const std::vector<double> r = reference.to_vector();
  const int64_t images = reference.dim(0);
  const int64_t per_image = reference.numel() / images;
  std::vector<double> psnr;
  for (int64_t n = 0; n < images; ++n) {
    double squared_error = 0.0;
    for (int64_t i = n * per_image; i < (n + 1) * per_image; ++i) {
      const double difference = std::clamp(x[i], 0.0, 1.0) - r[i];
      squared_error += difference * difference;
    }
    const double mse = squared_error / static_cast<double>(per_image);
    psnr.push_back(mse > 0.0 ? 10.0 * std::log10(1.0 / mse)
                             : std::numeric_limits<double>::infinity());
  }
  return psnr;
}

std::vector<std::string> list_image_files(const std::string& dir) {
  FSA_CHECK(std::filesystem::is_directory(dir), "[images] folder '", dir, "' does not exist");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && has_image_extension(entry.path())) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  FSA_CHECK(!files.empty(), "[images] folder '", dir, "' holds no .jpg, .jpeg or .png files");
  return files;
}

}  // namespace fsa::cli
