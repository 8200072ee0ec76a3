// rows.cpp: host-side loops over the samples of a batch. Ties in top-k go to the lower
// class index (a logit counts as above the label's only when strictly greater, or equal at
// a lower index), as arg-max does.
#include "attack/rows.h"

#include <cstring>

namespace fsa {

Tensor host_clone(const Tensor& x) {
  return x.device() == Device::cpu ? x.clone() : x.to(Device::cpu);
}

void copy_rows(const Tensor& dst, const Tensor& src, const std::vector<uint8_t>& mask) {
  FSA_CHECK(dst.device() == Device::cpu, "[copy_rows] destination must be on the host");
  FSA_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "[copy_rows] destination ",
            dst.shape(), " does not match source ", src.shape());
  FSA_CHECK(src.ndim() >= 1 && static_cast<int64_t>(mask.size()) == src.dim(0),
            "[copy_rows] mask of ", mask.size(), " rows for ", src.shape());
  const Tensor host = src.device() == Device::cpu ? src : src.to(Device::cpu);
  const size_t row_bytes = host.nbytes() / mask.size();
  auto* out = static_cast<char*>(dst.raw_data());
  const auto* in = static_cast<const char*>(host.raw_data());
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) std::memcpy(out + i * row_bytes, in + i * row_bytes, row_bytes);
  }
}

std::vector<int32_t> predictions(const Tensor& logits) {
  FSA_CHECK(logits.ndim() == 2, "[predictions] expects logits (N,K), got ", logits.shape());
  const std::vector<double> z = logits.to_vector();
  const int64_t n = logits.dim(0), k = logits.dim(1);
  std::vector<int32_t> best(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 1; j < k; ++j) {
      if (z[i * k + j] > z[i * k + best[i]]) best[i] = static_cast<int32_t>(j);
    }
  }
  return best;
}

std::vector<uint8_t> in_top_k(const Tensor& logits, const std::vector<int32_t>& labels, int64_t k) {
  FSA_CHECK(logits.ndim() == 2 && logits.dim(0) == static_cast<int64_t>(labels.size()),
            "[in_top_k] logits ", logits.shape(), " for ", labels.size(), " labels");
  const std::vector<double> z = logits.to_vector();
  const int64_t classes = logits.dim(1);
  std::vector<uint8_t> result(labels.size(), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const double* row = z.data() + i * static_cast<size_t>(classes);
    const int32_t y = labels[i];
    int64_t above = 0;
    for (int64_t j = 0; j < classes; ++j) {
      if (row[j] > row[y] || (row[j] == row[y] && j < y)) ++above;
    }
    result[i] = above < k ? 1 : 0;
  }
  return result;
}

std::vector<int32_t> label_vector(const Tensor& labels) {
  FSA_CHECK(labels.ndim() == 1, "[labels] expects (N), got ", labels.shape());
  std::vector<int32_t> out;
  for (double v : labels.to_vector()) out.push_back(static_cast<int32_t>(v));
  return out;
}

}  // namespace fsa
