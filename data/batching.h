// batching.h: seeded shuffling and batching over a set of record indices, and gathering
// the rows of a batch. The order depends only on (seed, epoch) through fsa::RandomStream,
// so runs are reproducible on any machine and thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

// 0, 1, ..., count - 1.
std::vector<int64_t> index_range(int64_t count);

// A Fisher-Yates shuffle of `indices` driven by RandomStream(seed, epoch * indices.size()):
// each epoch gets its own permutation from non-overlapping draws of the same stream.
std::vector<int64_t> shuffled(std::vector<int64_t> indices, uint64_t seed, uint64_t epoch = 0);

// Splits `indices` into consecutive batches of `batch_size`; the last batch is smaller
// unless `drop_last`, in which case it is dropped.
std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& indices,
                                               int64_t batch_size, bool drop_last = false);

// Rows `rows` of a CPU tensor (N, ...) of any dtype, in that order: (rows.size(), ...).
Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& rows);

}  // namespace fsa
