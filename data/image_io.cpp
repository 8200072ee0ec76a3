// image_io.cpp: stb_image decoding and PNG writing, and a port of Pillow's 8-bit bicubic
// resampling (libImaging/Resample.c: precompute_coeffs, normalize_coeffs_8bpc and the
// horizontal/vertical 8bpc passes) so that preprocessing matches the PyTorch reference.
#include "data/image_io.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tensor/atomic_write.h"

namespace fsa {
namespace {

constexpr int64_t kChannels = 3;
constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

// Keys cubic convolution with a = -0.5 (Pillow's bicubic_filter), support 2.
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// The taps of one output pixel along one axis: source indices first .. first + weights.size().
struct Taps {
  int64_t first = 0;
  std::vector<int32_t> weights;  // fixed point, 1.0 = 1 << kPrecisionBits
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for an in_size -> out_size axis.
std::vector<Taps> bicubic_taps(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel when reducing
  const double support = 2.0 * filter_scale;
  const double inverse_filter_scale = 1.0 / filter_scale;  // Pillow multiplies by 1 / scale
  std::vector<Taps> taps(static_cast<size_t>(out_size));
  for (int64_t out = 0; out < out_size; ++out) {
    const double center = (static_cast<double>(out) + 0.5) * scale;
    // NOTE: (int) truncation, as in Pillow; negative values are clamped right after.
    const int64_t first = std::max<int64_t>(static_cast<int>(center - support + 0.5), 0);
    const int64_t last = std::min<int64_t>(static_cast<int>(center + support + 0.5), in_size);
    std::vector<double> weights;
    double total = 0.0;
    for (int64_t x = first; x < last; ++x) {
      weights.push_back(
          bicubic_kernel((static_cast<double>(x) - center + 0.5) * inverse_filter_scale));
      total += weights.back();
    }
    Taps& tap = taps[static_cast<size_t>(out)];
    tap.first = first;
    for (double w : weights) {
      const double normalised = total != 0.0 ? w / total : w;
      const double fixed = normalised * static_cast<double>(1 << kPrecisionBits);
      tap.weights.push_back(static_cast<int32_t>(fixed < 0 ? fixed - 0.5 : fixed + 0.5));
    }
  }
  return taps;
}

// Pillow's clip8: drop the fraction bits (floor) and clamp to a byte.
uint8_t fixed_to_byte(int64_t sum) {
  return static_cast<uint8_t>(std::clamp<int64_t>(sum >> kPrecisionBits, 0, 255));
}

// Resamples along x (horizontal = true) or y, one pass of Pillow's two-pass resize.
RgbImage resample_axis(const RgbImage& in, int64_t out_size, bool horizontal) {
  const int64_t in_size = horizontal ? in.width : in.height;
  const std::vector<Taps> taps = bicubic_taps(in_size, out_size);
  RgbImage out{horizontal ? in.height : out_size, horizontal ? out_size : in.width, {}};
  out.pixels.resize(static_cast<size_t>(out.height * out.width * kChannels));
  // Distance in bytes between neighbouring source samples along the resampled axis.
  const int64_t step = horizontal ? kChannels : in.width * kChannels;
#pragma omp parallel for
  for (int64_t y = 0; y < out.height; ++y) {
    for (int64_t x = 0; x < out.width; ++x) {
      const Taps& tap = taps[static_cast<size_t>(horizontal ? x : y)];
      const int64_t origin = horizontal ? (y * in.width + tap.first) * kChannels
                                        : (tap.first * in.width + x) * kChannels;
      for (int64_t c = 0; c < kChannels; ++c) {
        int64_t sum = int64_t{1} << (kPrecisionBits - 1);  // rounds the final shift
        for (size_t k = 0; k < tap.weights.size(); ++k) {
          sum += in.pixels[static_cast<size_t>(origin + static_cast<int64_t>(k) * step + c)] *
                 static_cast<int64_t>(tap.weights[k]);
        }
        out.pixels[static_cast<size_t>((y * out.width + x) * kChannels + c)] = fixed_to_byte(sum);
      }
    }
  }
  return out;
}

// Python's round() of half-integers: to the even neighbour (used by CenterCrop).
int64_t half_to_even(int64_t twice_value) {
  const int64_t half = twice_value / 2;
  const bool is_tie = twice_value % 2 != 0;
  return is_tie && half % 2 != 0 ? half + 1 : half;
}

std::vector<unsigned char> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FSA_CHECK(in.is_open(), "[image] cannot open '", path, "'");
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>());
}

}  // namespace

RgbImage decode_image(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  FSA_CHECK(!bytes.empty(), "[image] cannot decode '", path, "': the file is empty");
  int width = 0, height = 0, channels_in_file = 0;
  unsigned char* decoded =
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height,
                            &channels_in_file, static_cast<int>(kChannels));
  FSA_CHECK(decoded != nullptr, "[image] cannot decode '", path, "' (", bytes.size(),
            " bytes): ", stbi_failure_reason());
  RgbImage image{height, width, {}};
  image.pixels.assign(decoded, decoded + static_cast<size_t>(height) * width * kChannels);
  stbi_image_free(decoded);
  return image;
}

RgbImage resize_bicubic(const RgbImage& image, int64_t height, int64_t width) {
  FSA_CHECK(height > 0 && width > 0 && image.height > 0 && image.width > 0,
            "[resize_bicubic] cannot resize ", image.height, "x", image.width, " to ", height, "x",
            width);
  RgbImage result = image;
  if (width != image.width) result = resample_axis(result, width, /*horizontal=*/true);
  if (height != image.height) result = resample_axis(result, height, /*horizontal=*/false);
  return result;
}

RgbImage resize_shorter_side(const RgbImage& image, int64_t size) {
  FSA_CHECK(size > 0, "[resize_shorter_side] size must be positive, got ", size);
  const bool wide = image.width > image.height;
  const int64_t shorter = wide ? image.height : image.width;
  const int64_t longer = wide ? image.width : image.height;
  // torchvision: int(size * long / short), a float division truncated.
  const auto new_longer =
      static_cast<int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
  return wide ? resize_bicubic(image, size, new_longer) : resize_bicubic(image, new_longer, size);
}

RgbImage center_crop(const RgbImage& image, int64_t height, int64_t width) {
  FSA_CHECK(height > 0 && width > 0 && height <= image.height && width <= image.width,
            "[center_crop] cannot crop ", height, "x", width, " from a ", image.height, "x",
            image.width, " image");
  const int64_t top = half_to_even(image.height - height);
  const int64_t left = half_to_even(image.width - width);
  RgbImage crop{height, width, {}};
  crop.pixels.reserve(static_cast<size_t>(height * width * kChannels));
  for (int64_t y = 0; y < height; ++y) {
    const auto row = image.pixels.begin() + ((top + y) * image.width + left) * kChannels;
    crop.pixels.insert(crop.pixels.end(), row, row + width * kChannels);
  }
  return crop;
}

Tensor image_to_tensor(const RgbImage& image) {
  Tensor result = Tensor::empty({kChannels, image.height, image.width});  // (3,H,W)
  float* out = result.data<float>();
  const int64_t plane = image.height * image.width;
  for (int64_t i = 0; i < plane; ++i) {
    for (int64_t c = 0; c < kChannels; ++c) {
      out[c * plane + i] =
          static_cast<float>(image.pixels[static_cast<size_t>(i * kChannels + c)]) / 255.0f;
    }
  }
  return result;
}

RgbImage tensor_to_image(const Tensor& image) {
  const Shape& shape = image.shape();
  const bool batched = shape.ndim() == 4 && shape[0] == 1;
  FSA_CHECK((shape.ndim() == 3 || batched) && shape[batched ? 1 : 0] == kChannels,
            "[tensor_to_image] expected a (3,H,W) or (1,3,H,W) image, got ", shape);
  const std::vector<double> values = image.to_vector();
  RgbImage result{shape[batched ? 2 : 1], shape[batched ? 3 : 2], {}};
  const int64_t plane = result.height * result.width;
  result.pixels.resize(static_cast<size_t>(plane * kChannels));
  for (int64_t i = 0; i < plane; ++i) {
    for (int64_t c = 0; c < kChannels; ++c) {
      const double value = std::clamp(values[static_cast<size_t>(c * plane + i)], 0.0, 1.0);
      result.pixels[static_cast<size_t>(i * kChannels + c)] =
          static_cast<uint8_t>(std::lround(value * 255.0));
    }
  }
  return result;
}

Tensor load_image(const std::string& path) { return image_to_tensor(decode_image(path)); }

Tensor load_image_resized(const std::string& path, int64_t resize, int64_t crop) {
  return image_to_tensor(center_crop(resize_shorter_side(decode_image(path), resize), crop, crop));
}

void write_png(const std::string& path, const Tensor& image) {
  const RgbImage pixels = tensor_to_image(image);
  write_atomically(path, "write_png", [&](const std::string& temporary) {
    const int written =
        stbi_write_png(temporary.c_str(), static_cast<int>(pixels.width),
                       static_cast<int>(pixels.height), static_cast<int>(kChannels),
                       pixels.pixels.data(), static_cast<int>(pixels.width * kChannels));
    FSA_CHECK(written != 0, "[write_png] cannot write '", path, "' (through '", temporary, "')");
  });
}

}  // namespace fsa
