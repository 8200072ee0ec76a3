// batching.cpp: index shuffling, batching and row gathering.
#include "data/batching.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "tensor/random.h"

namespace fsa {

std::vector<int64_t> index_range(int64_t count) {
  FSA_CHECK(count >= 0, "[index_range] negative count ", count);
  std::vector<int64_t> indices(static_cast<size_t>(count));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  return indices;
}

std::vector<int64_t> shuffled(std::vector<int64_t> indices, uint64_t seed, uint64_t epoch) {
  RandomStream stream(seed, epoch * indices.size());
  // Fisher-Yates from the back: position i swaps with a uniform position in [0, i].
  for (size_t i = indices.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(stream.below(i));
    std::swap(indices[i - 1], indices[j]);
  }
  return indices;
}

std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& indices,
                                               int64_t batch_size, bool drop_last) {
  FSA_CHECK(batch_size > 0, "[make_batches] batch_size must be positive, got ", batch_size);
  std::vector<std::vector<int64_t>> batches;
  const auto size = static_cast<size_t>(batch_size);
  for (size_t start = 0; start < indices.size(); start += size) {
    const size_t end = std::min(start + size, indices.size());
    if (drop_last && end - start < size) break;
    batches.emplace_back(indices.begin() + static_cast<std::ptrdiff_t>(start),
                         indices.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& rows) {
  FSA_CHECK(source.ndim() >= 1, "[gather_rows] source must have a batch axis, got ",
            source.shape());
  FSA_CHECK(source.device() == Device::cpu, "[gather_rows] source must be on the cpu, got ",
            source.device());
  Shape shape = source.shape();
  const int64_t count = shape[0];
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor result = Tensor::empty(shape, source.dtype());
  const size_t row_bytes = source.nbytes() / static_cast<size_t>(std::max<int64_t>(count, 1));
  const auto* from = static_cast<const unsigned char*>(source.raw_data());
  auto* to = static_cast<unsigned char*>(result.raw_data());
  for (size_t i = 0; i < rows.size(); ++i) {
    FSA_CHECK(rows[i] >= 0 && rows[i] < count, "[gather_rows] row ", rows[i], " is outside source ",
              source.shape());
    std::memcpy(to + i * row_bytes, from + static_cast<size_t>(rows[i]) * row_bytes, row_bytes);
  }
  return result;
}

}  // namespace fsa
