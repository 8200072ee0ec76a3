// detect_support.cpp: record ranges, noise keys, option parsing and batched scoring for
// `fsa detect`.
#include "cli/detect_support.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "cli/number_text.h"

namespace fsa::cli {

LabelledImages read_split_range(const CifarSplit& split, int64_t first, int64_t count) {
  FSA_CHECK(first >= 0 && count >= 1 && first + count <= split.total_records(), "[detect] records ",
            first, "..", first + count - 1, " are outside the ", split.name, " split's ",
            split.total_records(), " records");
  std::vector<Tensor> images, labels;
  int64_t file_start = 0;
  for (size_t f = 0; f < split.files.size(); ++f) {
    const int64_t file_end = file_start + split.records[f];
    const int64_t lo = std::max(first, file_start), hi = std::min(first + count, file_end);
    if (lo < hi) {
      LabelledImages part =
          read_cifar10(split.files[f], {.offset = lo - file_start, .limit = hi - lo});
      images.push_back(part.images);
      labels.push_back(part.labels);
    }
    file_start = file_end;
  }
  if (images.size() == 1) return {images[0], labels[0]};
  return {concat(images, 0), concat(labels, 0)};
}

uint64_t o2_noise_key(bool training_record, int64_t record) {
  return (training_record ? 0ull : (1ull << 40)) + static_cast<uint64_t>(record);
}

std::vector<double> parse_fraction_list(const std::string& text, const char* option) {
  std::vector<double> values;
  if (text.empty() || text == "none") return values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    values.push_back(parse_fraction(text.substr(start, comma - start), "detect", option));
    start = comma + 1;
  }
  return values;
}

Tensor select_rows(const Tensor& images, const std::vector<uint8_t>& keep) {
  FSA_CHECK(static_cast<int64_t>(keep.size()) == images.dim(0), "[detect] selection of ",
            keep.size(), " rows for ", images.shape());
  std::vector<Tensor> rows;
  for (int64_t n = 0; n < images.dim(0); ++n) {
    if (keep[n]) rows.push_back(slice(images, 0, n, n + 1));
  }
  FSA_CHECK(!rows.empty(), "[detect] no rows selected");
  return concat(rows, 0);
}

O2Alignments alignments_in_batches(Module& classifier, const Tensor& images,
                                   const std::vector<uint64_t>& noise_keys,
                                   const O2AlignmentOptions& options, Device device, int64_t batch,
                                   ProgressBar& progress, const std::vector<int32_t>& predicted) {
  O2Alignments all;
  const int64_t n = images.dim(0);
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t last = std::min(n, first + batch);
    const std::vector<uint64_t> keys(noise_keys.begin() + first, noise_keys.begin() + last);
    const std::vector<int32_t> classes =
        predicted.empty()
            ? std::vector<int32_t>{}
            : std::vector<int32_t>(predicted.begin() + first, predicted.begin() + last);
    all.append(o2_alignments(classifier, slice(images, 0, first, last).to(device), keys, options,
                             classes));
    progress.advance(last - first);
  }
  return all;
}

}  // namespace fsa::cli
