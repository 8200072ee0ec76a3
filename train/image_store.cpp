// image_store.cpp: loading CIFAR-10 and photo folders into 8-bit stores, and gathering
// (augmented) float batches.
#include "train/image_store.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "data/cifar10.h"
#include "data/image_io.h"
#include "tensor/random.h"

namespace fsa {

namespace {

constexpr int kCifarTrainFiles = 5;

bool is_photo(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& dir, bool folders) {
  std::vector<std::filesystem::path> entries;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (folders ? entry.is_directory() : (entry.is_regular_file() && is_photo(entry.path()))) {
      entries.push_back(entry.path());
    }
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Appends a float (N,3,H,W) tensor in [0,1] holding byte / 255 values as bytes.
void append_pixels(ImageStore& store, const Tensor& images) {
  const float* values = images.const_data<float>();
  const size_t start = store.pixels.size();
  store.pixels.resize(start + static_cast<size_t>(images.numel()));
  for (int64_t i = 0; i < images.numel(); ++i) {
    store.pixels[start + static_cast<size_t>(i)] =
        static_cast<uint8_t>(std::lround(static_cast<double>(values[i]) * 255.0));
  }
}

// Interleaved RGB (y, x, c) to the store's planar layout.
void append_photo(ImageStore& store, const RgbImage& image, int32_t label) {
  const int64_t plane = image.height * image.width;
  const size_t start = store.pixels.size();
  store.pixels.resize(start + static_cast<size_t>(3 * plane));
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < plane; ++i) {
      store.pixels[start + static_cast<size_t>(c * plane + i)] =
          image.pixels[static_cast<size_t>(i * 3 + c)];
    }
  }
  store.labels.push_back(label);
}

void check_index(const ImageStore& store, int64_t index) {
  FSA_CHECK(index >= 0 && index < store.size(), "[image_store] image ", index,
            " is outside the store of ", store.size(), " images");
}

}  // namespace

ImageStore load_cifar10_train(const std::string& dir, int64_t limit) {
  ImageStore store;
  store.height = store.width = kCifarImageSize;
  store.classes = kCifarClasses;
  int64_t remaining = limit < 0 ? INT64_MAX : limit;
  for (int k = 1; k <= kCifarTrainFiles && remaining > 0; ++k) {
    const std::string file =
        (std::filesystem::path(dir) / ("data_batch_" + std::to_string(k) + ".bin")).string();
    FSA_CHECK(std::filesystem::is_regular_file(file), "[cifar10] '", file,
              "' does not exist (the training split of CIFAR-10 in the binary layout)");
    const int64_t count = std::min(remaining, cifar10_record_count(file));
    const LabelledImages records = read_cifar10(file, {.offset = 0, .limit = count});
    append_pixels(store, records.images);
    const int32_t* labels = records.labels.const_data<int32_t>();
    store.labels.insert(store.labels.end(), labels, labels + count);
    store.sources.push_back(file);
    remaining -= count;
  }
  return store;
}

ImageStore load_image_folder(const std::string& dir, int64_t resize, int64_t crop, int64_t limit) {
  FSA_CHECK(std::filesystem::is_directory(dir), "[images] folder '", dir, "' does not exist");
  FSA_CHECK(resize >= crop && crop > 0, "[images] need resize >= crop > 0, got ", resize, " and ",
            crop);
  std::vector<std::pair<std::filesystem::path, int32_t>> files;
  const std::vector<std::filesystem::path> folders = sorted_entries(dir, true);
  if (folders.empty()) {
    for (const auto& file : sorted_entries(dir, false)) files.emplace_back(file, 0);
  }
  for (size_t k = 0; k < folders.size(); ++k) {
    for (const auto& file : sorted_entries(folders[k], false)) {
      files.emplace_back(file, static_cast<int32_t>(k));
    }
  }
  FSA_CHECK(!files.empty(), "[images] folder '", dir,
            "' holds no .jpg, .jpeg or .png files (directly, or in class sub-folders)");
  if (limit >= 0 && limit < static_cast<int64_t>(files.size())) {
    files.resize(static_cast<size_t>(limit));
  }
  ImageStore store;
  store.height = store.width = crop;
  store.classes = folders.empty() ? 1 : static_cast<int64_t>(folders.size());
  for (const auto& [file, label] : files) {
    const RgbImage photo =
        center_crop(resize_shorter_side(decode_image(file.string()), resize), crop, crop);
    append_photo(store, photo, label);
    store.sources.push_back(file.string());
  }
  return store;
}

Tensor gather_images(const ImageStore& store, const std::vector<int64_t>& indices) {
  const int64_t per_image = 3 * store.height * store.width;
  const auto n = static_cast<int64_t>(indices.size());
  Tensor images = Tensor::empty({n, 3, store.height, store.width});
  float* out = images.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    check_index(store, indices[static_cast<size_t>(i)]);
    const uint8_t* in = store.pixels.data() + indices[static_cast<size_t>(i)] * per_image;
    for (int64_t k = 0; k < per_image; ++k) {
      out[i * per_image + k] = static_cast<float>(in[k]) / 255.0f;
    }
  }
  return images;
}

Tensor gather_labels(const ImageStore& store, const std::vector<int64_t>& indices) {
  std::vector<int32_t> labels;
  for (int64_t index : indices) {
    check_index(store, index);
    labels.push_back(store.labels[static_cast<size_t>(index)]);
  }
  return Tensor::from_labels(labels);
}

Tensor gather_augmented(const ImageStore& store, const std::vector<int64_t>& indices,
                        const AugmentOptions& options, uint64_t first_sample) {
  FSA_CHECK(options.pad >= 0, "[augment] pad must be >= 0, got ", options.pad);
  const int64_t h = store.height, w = store.width, plane = h * w;
  const auto n = static_cast<int64_t>(indices.size());
  Tensor images = Tensor::zeros({n, 3, h, w});
  float* out = images.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    check_index(store, indices[static_cast<size_t>(i)]);
    const uint64_t sample = first_sample + static_cast<uint64_t>(i);
    const auto draw = [&](uint64_t k) { return philox_uniform(options.seed, 3 * sample + k); };
    const auto span = static_cast<double>(2 * options.pad + 1);
    // Output pixel (y, x) reads padded pixel (y + dy, x + dx) = source (y + dy - pad, ...).
    const int64_t dy = static_cast<int64_t>(draw(0) * span) - options.pad;
    const int64_t dx = static_cast<int64_t>(draw(1) * span) - options.pad;
    const bool flip = options.flip && draw(2) < 0.5;
    const uint8_t* in = store.pixels.data() + indices[static_cast<size_t>(i)] * 3 * plane;
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t y = 0; y < h; ++y) {
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = (flip ? w - 1 - x : x) + dx;
          if (sx < 0 || sx >= w) continue;
          out[(i * 3 + c) * plane + y * w + x] =
              static_cast<float>(in[c * plane + sy * w + sx]) / 255.0f;
        }
      }
    }
  }
  return images;
}

}  // namespace fsa
