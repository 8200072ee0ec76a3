// style_prototypes.cpp: reading the training split's labels, then only the chosen records.
#include "cli/style_prototypes.h"

#include <fstream>

#include "autograd/ops.h"
#include "cli/evaluation.h"
#include "data/cifar10.h"

namespace fsa::cli {

std::vector<int32_t> read_cifar10_labels(const std::string& path) {
  const int64_t count = cifar10_record_count(path);
  std::ifstream in(path, std::ios::binary);
  FSA_CHECK(in.good(), "[cifar10] cannot open '", path, "'");
  std::vector<int32_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    in.seekg(i * kCifarRecordBytes);
    const int label = in.get();
    FSA_CHECK(in.good() && label >= 0 && label < kCifarClasses, "[cifar10] record ", i, " of '",
              path, "' has no valid label");
    labels[static_cast<size_t>(i)] = label;
  }
  return labels;
}

StylePrototypes training_style_prototypes(Module& encoder, const std::string& train_dir,
                                          int64_t per_class, uint64_t seed, Device device,
                                          DType dtype) {
  const CifarSplit split = cifar10_split(train_dir, "train");
  std::vector<int32_t> labels;
  for (const std::string& file : split.files) {
    const std::vector<int32_t> part = read_cifar10_labels(file);
    labels.insert(labels.end(), part.begin(), part.end());
  }
  const std::vector<int64_t> chosen =
      choose_prototype_indices(labels, kCifarClasses, per_class, seed);
  std::vector<Tensor> images;
  std::vector<int32_t> chosen_labels;
  for (int64_t index : chosen) {
    int64_t offset = index;
    size_t file = 0;
    while (offset >= split.records[file]) offset -= split.records[file++];
    const LabelledImages record = read_cifar10(split.files[file], {.offset = offset, .limit = 1});
    images.push_back(record.images);
    chosen_labels.push_back(labels[static_cast<size_t>(index)]);
  }
  return compute_style_prototypes(encoder, concat(images, 0).to(dtype).to(device),
                                  Tensor::from_labels(chosen_labels), chosen);
}

}  // namespace fsa::cli
