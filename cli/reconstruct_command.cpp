// reconstruct_command.cpp: `fsa reconstruct --encoder E.h5 --decoder D.h5 [--data cifar10|
// imagenet] [--limit N] [--classifier C.h5] [--save-dir DIR] [--json out.json]`: how well
// decoder(encoder(x)) reproduces images: PSNR on [0,1] (decoder output clipped), the mean
// over images; CIFAR-10 test records at 32x32 or the ImageNet photos (shorter side 256
// bicubic, centre crop 224); optionally a CIFAR classifier's accuracy on the decoded images.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/json_file.h"
#include "cli/progress.h"
#include "data/assets.h"
#include "data/image_io.h"

namespace fsa::cli {

namespace {

constexpr int64_t kImageNetResize = 256;
constexpr int64_t kImageNetCrop = 224;
constexpr int64_t kComparisonGap = 2;  // white pixels between original and reconstruction

struct ReconstructOptions {
  std::string encoder;
  std::string decoder;
  std::string data = "cifar10";
  std::string data_dir;
  std::string classifier;
  std::string save_dir;
  std::string json;
  int64_t limit = -1;
  int64_t batch = 0;  // 0: 50 for CIFAR-10, 4 for ImageNet
  int64_t save_count = 8;
  std::string device = "cpu";
};

// A batch of images to reconstruct, with labels (CIFAR-10) and names for saved files.
struct ImageBatch {
  Tensor images;  // (N,3,H,W) in [0,1]
  Tensor labels;  // (N) or undefined
  std::vector<std::string> names;
};

// "relu2_1" from "vgg19_normalised_relu2_1" or "wct_decoder_relu2_1".
std::string cut_of(const std::string& architecture) {
  const size_t at = architecture.rfind("relu");
  return at == std::string::npos ? architecture : architecture.substr(at);
}

std::string padded_index(int64_t index) {
  char text[16];
  std::snprintf(text, sizeof text, "%05lld", static_cast<long long>(index));
  return text;
}

// Reads the images to reconstruct batch by batch: the CIFAR-10 test split or a folder of
// photos.
class ImageSource {
 public:
  explicit ImageSource(const ReconstructOptions& options) : options_(options) {
    if (options.data == "cifar10") {
      folder_ = options.data_dir.empty() ? asset_path("data/cifar10").string() : options.data_dir;
      split_ = cifar10_split(folder_, "test");
      cifar_batches_ = cifar10_batches(split_, options.limit, batch_size());
      for (const CifarBatch& batch : cifar_batches_) total_ += batch.count;
    } else {
      folder_ = options.data_dir.empty() ? asset_path("data/imagenet-samples").string()
                                         : options.data_dir;
      files_ = list_image_files(folder_);
      if (options.limit >= 0 && options.limit < static_cast<int64_t>(files_.size())) {
        files_.resize(static_cast<size_t>(options.limit));
      }
      total_ = static_cast<int64_t>(files_.size());
    }
  }

  int64_t batch_size() const {
    if (options_.batch > 0) return options_.batch;
    return options_.data == "cifar10" ? 50 : 4;
  }
  int64_t total() const { return total_; }
  const std::string& folder() const { return folder_; }
  std::vector<std::string> files() const { return is_cifar() ? split_.files : files_; }
  bool is_cifar() const { return options_.data == "cifar10"; }
  std::string geometry() const {
    return is_cifar() ? "32x32 (native)"
                      : concat_message("shorter side ", kImageNetResize, " bicubic, centre crop ",
                                       kImageNetCrop, "x", kImageNetCrop);
  }

  bool next(ImageBatch& batch) { return is_cifar() ? next_cifar(batch) : next_photos(batch); }

 private:
  bool next_cifar(ImageBatch& batch) {
    if (next_ >= cifar_batches_.size()) return false;
    const CifarBatch& records = cifar_batches_[next_++];
    const LabelledImages data = read_batch(split_, records);
    batch = {data.images, data.labels, {}};
    for (int64_t n = 0; n < records.count; ++n) {
      batch.names.push_back("cifar10_test_" + padded_index(records.offset + n));
    }
    return true;
  }

  bool next_photos(ImageBatch& batch) {
    if (next_ >= files_.size()) return false;
    const size_t end = std::min(files_.size(), next_ + static_cast<size_t>(batch_size()));
    std::vector<Tensor> images;
    batch = {};
    for (; next_ < end; ++next_) {
      const Tensor image = load_image_resized(files_[next_], kImageNetResize, kImageNetCrop);
      images.push_back(image.reshape_view({1, 3, kImageNetCrop, kImageNetCrop}));
      batch.names.push_back(std::filesystem::path(files_[next_]).stem().string());
    }
    batch.images = images.size() == 1 ? images[0] : concat(images, 0);
    return true;
  }

  const ReconstructOptions& options_;
  std::string folder_;
  CifarSplit split_;
  std::vector<CifarBatch> cifar_batches_;
  std::vector<std::string> files_;
  int64_t total_ = 0;
  size_t next_ = 0;
};

// Image n of `original` and of `reconstruction` (clipped) side by side, a white gap between:
// (3, H, 2W + gap).
Tensor side_by_side(const Tensor& original, const Tensor& reconstruction, int64_t n) {
  const int64_t height = original.dim(2), width = original.dim(3);
  const int64_t out_width = 2 * width + kComparisonGap;
  const std::vector<double> a = slice(original, 0, n, n + 1).to_vector();
  const std::vector<double> b = slice(reconstruction, 0, n, n + 1).to_vector();
  std::vector<double> out(static_cast<size_t>(3 * height * out_width), 1.0);
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        const int64_t from = (c * height + y) * width + x;
        const int64_t to = (c * height + y) * out_width + x;
        out[to] = a[from];
        out[to + width + kComparisonGap] = std::clamp(b[from], 0.0, 1.0);
      }
    }
  }
  return Tensor::from_vector(out, {3, height, out_width});
}

struct Totals {
  std::vector<double> psnr;  // per image
  TopKCounts clean, decoded;
  int64_t saved = 0;
};

void print_summary(const ReconstructOptions& options, const LoadedModel& encoder,
                   const LoadedModel& decoder, const ImageSource& source, const Totals& totals,
                   double seconds) {
  const auto n = static_cast<double>(totals.psnr.size());
  double sum = 0.0, lowest = std::numeric_limits<double>::infinity(), highest = -lowest;
  for (double p : totals.psnr) {
    sum += p;
    lowest = std::min(lowest, p);
    highest = std::max(highest, p);
  }
  std::printf("encoder:    %s (%s)\ndecoder:    %s (%s)\n", options.encoder.c_str(),
              encoder.attributes.architecture.c_str(), options.decoder.c_str(),
              decoder.attributes.architecture.c_str());
  std::printf("data:       %s, %zu images, %s\n", options.data.c_str(), totals.psnr.size(),
              source.geometry().c_str());
  std::printf("PSNR:       %.2f dB mean over images (min %.2f, max %.2f)\n", sum / n, lowest,
              highest);
  if (!options.classifier.empty()) {
    std::printf(
        "classifier: %s\n  clean top-1:   %.2f %% (%lld correct)\n"
        "  decoded top-1: %.2f %% (%lld correct)\n",
        options.classifier.c_str(), 100.0 * static_cast<double>(totals.clean.top1) / n,
        static_cast<long long>(totals.clean.top1),
        100.0 * static_cast<double>(totals.decoded.top1) / n,
        static_cast<long long>(totals.decoded.top1));
  }
  if (!options.save_dir.empty()) {
    std::printf("saved:      %lld comparisons (original | reconstruction) in %s\n",
                static_cast<long long>(totals.saved), options.save_dir.c_str());
  }
  std::printf("time:       %.1f s (%.1f images/s, %d threads)\n", seconds, n / seconds,
              thread_count());
}

nlohmann::json result_json(const ReconstructOptions& options, const LoadedModel& encoder,
                           const LoadedModel& decoder, const ImageSource& source,
                           const Totals& totals, double seconds) {
  const auto n = static_cast<double>(totals.psnr.size());
  double sum = 0.0;
  for (double p : totals.psnr) sum += p;
  nlohmann::json configuration = {
      {"encoder", std::filesystem::absolute(options.encoder).string()},
      {"encoder_architecture", encoder.attributes.architecture},
      {"encoder_source", encoder.attributes.source},
      {"decoder", std::filesystem::absolute(options.decoder).string()},
      {"decoder_architecture", decoder.attributes.architecture},
      {"decoder_source", decoder.attributes.source},
      {"data", options.data},
      {"data_dir", std::filesystem::absolute(source.folder()).string()},
      {"files", source.files()},
      {"geometry", source.geometry()},
      {"limit", options.limit},
      {"batch", source.batch_size()},
      {"psnr",
       "10 log10(1 / MSE) per image on [0,1], decoder output clipped to [0,1]; mean over images"},
      {"threads", thread_count()}};
  nlohmann::json results = {
      {"images", totals.psnr.size()}, {"psnr_mean_db", sum / n}, {"seconds", seconds}};
  if (!options.classifier.empty()) {
    configuration["classifier"] = std::filesystem::absolute(options.classifier).string();
    results["clean_top1_correct"] = totals.clean.top1;
    results["clean_top1_percent"] = 100.0 * static_cast<double>(totals.clean.top1) / n;
    results["decoded_top1_correct"] = totals.decoded.top1;
    results["decoded_top1_percent"] = 100.0 * static_cast<double>(totals.decoded.top1) / n;
    results["decoded_top5_percent"] = 100.0 * static_cast<double>(totals.decoded.top5) / n;
  }
  if (!options.save_dir.empty()) configuration["save_dir"] = options.save_dir;
  return {{"command", "reconstruct"},
          {"finished", utc_timestamp()},
          {"configuration", configuration},
          {"results", results}};
}

void run_reconstruct(const ReconstructOptions& options) {
  FSA_CHECK(options.limit >= -1, "[reconstruct] --limit must be >= 0 (or -1 for all), got ",
            options.limit);
  FSA_CHECK(options.batch >= 0, "[reconstruct] --batch must be positive, got ", options.batch);
  FSA_CHECK(options.classifier.empty() || options.data == "cifar10",
            "[reconstruct] --classifier needs --data cifar10 (the ImageNet photos have no "
            "classifier at hand)");
  const Device device = resolve_device(options.device, "reconstruct");
  const LoadedModel encoder =
      load_model(options.encoder, ModelKind::encoder, "fsa reconstruct", device);
  const LoadedModel decoder =
      load_model(options.decoder, ModelKind::decoder, "fsa reconstruct", device);
  FSA_CHECK(cut_of(encoder.attributes.architecture) == cut_of(decoder.attributes.architecture),
            "[reconstruct] the encoder '", options.encoder, "' ends at ",
            cut_of(encoder.attributes.architecture), " but the decoder '", options.decoder,
            "' starts from ", cut_of(decoder.attributes.architecture));
  LoadedModel classifier;
  if (!options.classifier.empty()) {
    classifier = load_model(options.classifier, ModelKind::classifier, "fsa reconstruct", device);
  }
  if (!options.save_dir.empty()) std::filesystem::create_directories(options.save_dir);

  ImageSource source(options);
  FSA_CHECK(source.total() > 0, "[reconstruct] no images to reconstruct (--limit 0?)");
  NoGradGuard no_grad;
  Totals totals;
  ProgressBar progress("reconstruct", source.total());
  ImageBatch batch;
  while (source.next(batch)) {
    const Tensor images = batch.images.to(device);
    const Tensor reconstruction =
        decoder.module->forward(encoder.module->forward(images)).to(Device::cpu);
    const std::vector<double> psnr = psnr_per_image(reconstruction, batch.images);
    totals.psnr.insert(totals.psnr.end(), psnr.begin(), psnr.end());
    if (classifier.module) {
      const TopKCounts clean =
          count_correct(classifier.module->forward(images), batch.labels);
      const TopKCounts decoded = count_correct(
          classifier.module->forward(clamp(reconstruction, 0.0, 1.0).to(device)), batch.labels);
      totals.clean.top1 += clean.top1;
      totals.clean.top5 += clean.top5;
      totals.decoded.top1 += decoded.top1;
      totals.decoded.top5 += decoded.top5;
    }
    for (int64_t n = 0;
         n < batch.images.dim(0) && totals.saved < options.save_count && !options.save_dir.empty();
         ++n, ++totals.saved) {
      const std::string name = batch.names[static_cast<size_t>(n)] + "_" +
                               cut_of(decoder.attributes.architecture) + ".png";
      write_png((std::filesystem::path(options.save_dir) / name).string(),
                side_by_side(batch.images, reconstruction, n));
    }
    progress.advance(batch.images.dim(0));
  }
  progress.finish();
  const double seconds = progress.elapsed_seconds();
  print_summary(options, encoder, decoder, source, totals, seconds);
  if (!options.json.empty()) {
    write_json_file(options.json, result_json(options, encoder, decoder, source, totals, seconds));
    std::printf("wrote:      %s\n", options.json.c_str());
  }
}

}  // namespace

void add_reconstruct_command(CLI::App& app) {
  auto options = std::make_shared<ReconstructOptions>();
  auto* command = app.add_subcommand(
      "reconstruct",
      "PSNR of decoder(encoder(x)) on CIFAR-10 test records (32x32) or the ImageNet photos "
      "(shorter side 256 bicubic, centre crop 224), on [0,1] with the output clipped, the mean "
      "over images; optionally a CIFAR-10 classifier's accuracy on the decoded images.");
  command->add_option("--encoder,-e", options->encoder, "encoder weight file (vgg19_*)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--decoder", options->decoder, "decoder weight file for the same cut")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--data,-d", options->data, "cifar10 (test split) or imagenet (photos)")
      ->check(CLI::IsMember({"cifar10", "imagenet"}))
      ->capture_default_str();
  command->add_option("--data-dir", options->data_dir,
                      "folder of the data (default: <assets>/data/cifar10 or "
                      "<assets>/data/imagenet-samples)");
  command->add_option("--limit,-n", options->limit, "the first N images only (-1: all)")
      ->capture_default_str();
  command->add_option("--batch,-b", options->batch,
                      "images per forward pass (default: 50 for CIFAR-10, 4 for ImageNet)");
  command
      ->add_option("--classifier,-c", options->classifier,
                   "CIFAR-10 classifier weight file: also report its top-1 accuracy on the "
                   "clean and on the decoded images")
      ->check(CLI::ExistingFile);
  command->add_option("--save-dir", options->save_dir,
                      "write PNG comparisons (original | reconstruction) of the first images here");
  command->add_option("--save-count", options->save_count, "how many comparisons --save-dir gets")
      ->capture_default_str();
  command->add_option("--json", options->json,
                      "also write results and the resolved configuration to this JSON file");
  add_device_option(command, options->device);
  command->callback([options] { run_reconstruct(*options); });
}

}  // namespace fsa::cli
