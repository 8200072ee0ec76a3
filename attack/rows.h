// rows.h: per-sample bookkeeping shared by the attacks: copying selected rows (samples) of
// a batch tensor (N, ...) into a host copy, and reading per-sample values to the host.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// A host (CPU) copy of x with the same dtype.
Tensor host_clone(const Tensor& x);
// dst[i] = src[i] for every row i with mask[i] != 0; dst is a host tensor shaped like src.
void copy_rows(const Tensor& dst, const Tensor& src, const std::vector<uint8_t>& mask);
// Predicted class (arg-max) of each row of logits (N,K).
std::vector<int32_t> predictions(const Tensor& logits);
// Whether `label[i]` is among the k largest logits of row i.
std::vector<uint8_t> in_top_k(const Tensor& logits, const std::vector<int32_t>& labels, int64_t k);
std::vector<int32_t> label_vector(const Tensor& labels);

}  // namespace fsa
