// image_io.h: image files <-> tensors. Decoding (JPEG, PNG, BMP, ...) and PNG encoding use
// stb_image; the ImageNet evaluation geometry (shorter side to S, bicubic, centre crop) is a
// re-implementation of what torchvision does on PIL images, on 8-bit pixels like PIL:
//   - Resize(S): the shorter side becomes S, the longer int(S * long / short) (truncated);
//     PIL's bicubic (a = -0.5) with PIL's antialiasing (support scaled by the reduction
//     factor), separable, horizontal pass first, 22-bit fixed-point weights, each pass
//     rounded and clipped to 8 bits (Pillow's Resample.c);
//   - CenterCrop(C): offsets round((size - C) / 2) with Python's round-half-to-even.
// Tensors are float32 (3,H,W), RGB, in [0,1] (byte / 255).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// An 8-bit RGB image, interleaved and row-major: pixel (y, x) channel c is
// pixels[(y * width + x) * 3 + c].
struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;
};

// Decodes an image file to RGB (grey is replicated, alpha dropped). A missing or corrupt
// file is an fsa::Error naming the file.
RgbImage decode_image(const std::string& path);

// PIL-exact bicubic resampling (see above) to height x width.
RgbImage resize_bicubic(const RgbImage& image, int64_t height, int64_t width);
// torchvision Resize(size): the shorter side becomes `size`, the aspect ratio is kept.
RgbImage resize_shorter_side(const RgbImage& image, int64_t size);
// torchvision CenterCrop((height, width)); the crop must fit inside the image.
RgbImage center_crop(const RgbImage& image, int64_t height, int64_t width);

// (3,H,W) float32 in [0,1].
Tensor image_to_tensor(const RgbImage& image);
// From (3,H,W) or (1,3,H,W) float values: clamped to [0,1], then round(255 x).
RgbImage tensor_to_image(const Tensor& image);

// decode_image as a (3,H,W) tensor.
Tensor load_image(const std::string& path);
// decode, resize the shorter side to `resize`, centre-crop `crop` x `crop`: (3,crop,crop).
Tensor load_image_resized(const std::string& path, int64_t resize, int64_t crop);

// Writes a (3,H,W) or (1,3,H,W) image in [0,1] as an 8-bit PNG, through a temporary file in
// the same folder renamed over `path` (never a half-written file).
void write_png(const std::string& path, const Tensor& image);

}  // namespace fsa
