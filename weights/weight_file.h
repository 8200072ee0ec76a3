// weight_file.h: the project's weight format (docs/weights-format.md): an HDF5 file with one
// float32 dataset per parameter and buffer under /tensors/<module path> and root attributes
// saying what the weights are and how inputs must be preprocessed. Reading, atomic writing,
// and strict matching against the shapes a model expects.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

inline constexpr const char* kWeightFormatName = "fsa-weights";
inline constexpr int64_t kWeightFormatVersion = 1;
inline constexpr const char* kWeightTensorGroup = "/tensors";

// Root attributes besides "format" and "format_version" (which the reader checks and the
// writer adds). Empty strings and vectors mean "absent".
struct WeightAttributes {
  std::string architecture;    // e.g. "cifar_resnet20", "vgg19_normalised_relu2_1"
  std::string source;          // "<original file name> sha256:<64 hex digits>"
  std::string input_range;     // the image range the model takes, e.g. "0-1"
  std::vector<double> mean;    // per-channel normalisation (x - mean) / stddev: 3 values
  std::vector<double> stddev;  // 3 values (attribute "std")
  std::string channel_order;   // "RGB" or "BGR"
};

struct WeightFile {
  std::string path;                       // where it was read from (for error messages)
  std::map<std::string, Tensor> tensors;  // module path ("layer1.0.conv1.weight") -> float32
  WeightAttributes attributes;
};

// Reads every tensor and attribute. A missing, non-HDF5, truncated or foreign file (wrong
// "format" or "format_version") is an fsa::Error naming the file.
WeightFile read_weight_file(const std::string& path);

// Writes `tensors` (float32 or float64, stored as float32) and `attributes` to a temporary
// file in the folder of `path`, then renames it over `path`: readers never see a half-written
// file, and on error `path` is left as it was.
void write_weight_file(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const WeightAttributes& attributes);

// Checks that `file` holds exactly the tensors a model expects, with the expected shapes, and
// returns them. Otherwise throws ONE fsa::Error listing every missing, unexpected and
// mis-shaped tensor by name (with both shapes).
std::map<std::string, Tensor> load_strict(const std::map<std::string, Shape>& expected,
                                          const WeightFile& file);
// Same, reading the file first.
std::map<std::string, Tensor> load_strict(const std::map<std::string, Shape>& expected,
                                          const std::string& path);

}  // namespace fsa
