// evaluation.h: what the evaluating commands (eval, reconstruct) share: building a model of
// the expected kind from a weight file, reading the CIFAR-10 splits batch by batch, top-k
// counting and PSNR. Every failure is an fsa::Error that names the file or the argument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/cifar10.h"
#include "models/registry.h"
#include "tensor/device.h"
#include "weights/weight_file.h"

namespace fsa::cli {

// "classifier", "encoder" or "decoder".
std::string kind_name(ModelKind kind);

struct LoadedModel {
  std::string path;
  WeightAttributes attributes;
  std::shared_ptr<Module> module;  // in eval mode
};

// Reads the weight file's architecture and preprocessing attributes, builds the model with
// make_model and loads the tensors strictly. A file holding another kind of model than
// `expected` (say an encoder given to `fsa eval`), a missing architecture, or preprocessing
// the model cannot apply (a range other than 0-1, BGR input) is an fsa::Error that names
// the file and `command`. The model is moved to `device`.
LoadedModel load_model(const std::string& path, ModelKind expected, const std::string& command,
                       Device device = Device::cpu);

// One CIFAR-10 split: its binary files, in order, and their record counts.
struct CifarSplit {
  std::string name;  // "test" or "train"
  std::vector<std::string> files;
  std::vector<int64_t> records;
  int64_t total_records() const;
};

// "test": DIR/test_batch.bin; "train": DIR/data_batch_{1..5}.bin. Missing files and
// truncated files are errors naming the file.
CifarSplit cifar10_split(const std::string& dir, const std::string& split);

// A batch of consecutive records of one file of a split.
struct CifarBatch {
  size_t file = 0;
  int64_t offset = 0;
  int64_t count = 0;
};

// Batches of at most `batch_size` records covering the first `limit` records of the split
// (all when limit < 0); a batch never spans two files.
std::vector<CifarBatch> cifar10_batches(const CifarSplit& split, int64_t limit, int64_t batch_size);
LabelledImages read_batch(const CifarSplit& split, const CifarBatch& batch);

// Correct predictions in a batch: top-1 (argmax, ties to the lower index as torch.argmax)
// and top-5 (the label among the 5 largest logits). logits (N,K), labels (N) integer.
struct TopKCounts {
  int64_t top1 = 0;
  int64_t top5 = 0;
};
TopKCounts count_correct(const Tensor& logits, const Tensor& labels);

// Per-image PSNR in dB of `reconstruction` (clipped to [0,1] first) against `reference`
// (in [0,1]), both (N,C,H,W): 10 log10(1 / mean squared error) over each image's values;
// an exact reconstruction gives +infinity.
std::vector<double> psnr_per_image(const Tensor& reconstruction, const Tensor& reference);

// Image files (.jpg, .jpeg, .png, any case) of a folder, sorted by name; an empty or
// missing folder is an error.
std::vector<std::string> list_image_files(const std::string& dir);

}  // namespace fsa::cli
