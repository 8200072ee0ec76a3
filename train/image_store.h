// image_store.h: training images kept as 8-bit planar RGB with class labels (CIFAR-10's
// 50,000 training images take 150 MB so, not 600 MB as float), and the float batches drawn
// from them: as they are, or augmented (a random crop of the zero-padded image and a random
// horizontal flip) with every random draw a pure function of (seed, sample number).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

struct ImageStore {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // image n, channel c, row y, column x at ((n*3 + c)*H + y)*W + x
  std::vector<int32_t> labels;  // class of each image, in [0, classes)
  int64_t classes = 0;
  std::vector<std::string> sources;  // where the images came from (files), for the records

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// The CIFAR-10 training split of `dir` (data_batch_1.bin ... data_batch_5.bin, in order), the
// first `limit` records only when limit >= 0. Missing or truncated files are fsa::Errors.
ImageStore load_cifar10_train(const std::string& dir, int64_t limit = -1);

// The photos (.jpg, .jpeg, .png) of `dir`, each resized so its shorter side is `resize`
// (PIL-exact bicubic) and centre-cropped to crop x crop (the official decoder training's
// ImageNet transform). Sub-folders of `dir` are classes (sorted by name, photos directly in
// `dir` ignored then); without sub-folders every photo is of class 0. Files are taken in
// sorted order, the first `limit` only when limit >= 0.
ImageStore load_image_folder(const std::string& dir, int64_t resize, int64_t crop,
                             int64_t limit = -1);

// The images `indices` as a float32 host tensor (N,3,H,W) in [0,1] (byte / 255), and their
// labels as int32 (N).
Tensor gather_images(const ImageStore& store, const std::vector<int64_t>& indices);
Tensor gather_labels(const ImageStore& store, const std::vector<int64_t>& indices);

// Standard CIFAR augmentation: image i of the batch is padded with `pad` zero pixels on each
// side, cropped back to H x W at a uniform offset (dy, dx) in [0, 2 pad]^2, and flipped
// left-right with probability 1/2 when `flip`. Draw k of sample s = first_sample + i is
// philox_uniform(seed, 3 s + k), so a batch's augmentation depends only on where it is in
// the run, not on batching, threads or resumption.
struct AugmentOptions {
  int64_t pad = 4;
  bool flip = true;
  uint64_t seed = 0;
};
Tensor gather_augmented(const ImageStore& store, const std::vector<int64_t>& indices,
                        const AugmentOptions& options, uint64_t first_sample);

}  // namespace fsa
