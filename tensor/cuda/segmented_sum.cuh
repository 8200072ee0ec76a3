// segmented_sum.cuh: sums of many terms for each of a few outputs (a whole-tensor sum, a
// batch-norm channel), in double and in an order fixed by the shapes alone, so results do
// not change between runs. An output's terms are cut into chunks; a block sums one chunk,
// then one thread per output adds its chunks in order. With few outputs this keeps the
// whole GPU busy where one block per output would leave most of it idle.
#pragma once

#include <algorithm>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

struct ChunkPlan {
  int64_t chunks = 1;        // per output
  int64_t chunk_length = 0;  // terms per chunk (the last may be shorter)
};

// Enough blocks to fill the GPU (about 1024), but no chunk shorter than 4 terms a thread.
inline ChunkPlan plan_chunks(int64_t outputs, int64_t terms) {
  constexpr int64_t kTargetBlocks = 1024;
  constexpr int64_t kShortestChunk = 4 * kBlockSize;
  const int64_t wanted = (kTargetBlocks + outputs - 1) / std::max<int64_t>(outputs, 1);
  const int64_t possible = (terms + kShortestChunk - 1) / kShortestChunk;
  ChunkPlan plan;
  plan.chunks = std::max<int64_t>(1, std::min(wanted, possible));
  plan.chunk_length = (terms + plan.chunks - 1) / plan.chunks;
  return plan;
}

// Block b sums chunk b % chunks of output b / chunks: values(o, r) for r in the chunk.
template <typename Values>
__global__ void chunk_sum_kernel(Values values, int64_t terms, ChunkPlan plan, double* partial) {
  const int64_t output = blockIdx.x / plan.chunks, chunk = blockIdx.x % plan.chunks;
  const int64_t begin = chunk * plan.chunk_length;
  const int64_t end = min(terms, begin + plan.chunk_length);
  double total = 0.0;
  for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) total += values(output, r);
  total = block_reduce(total, SumOp{});
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// sums[o] = partial[o * chunks] + ... + partial[o * chunks + chunks - 1], in that order.
// (A template only so that this header can be included by several .cu files.)
template <typename Sum>
__global__ void add_chunks_kernel(const Sum* partial, int64_t chunks, int64_t outputs, Sum* sums) {
  for (int64_t o = global_thread_index(); o < outputs; o += global_thread_count()) {
    Sum total = 0;
    for (int64_t k = 0; k < chunks; ++k) total += partial[o * chunks + k];
    sums[o] = total;
  }
}

// A float64 device tensor (outputs) of sum over r < terms of values(o, r). `values` is a
// device functor: double operator()(int64_t o, int64_t r) const.
template <typename Values>
Tensor segmented_sum(const CudaBackend& backend, Values values, int64_t outputs, int64_t terms) {
  Tensor sums = Tensor::empty(Shape{outputs}, DType::f64, Device::cuda);
  if (outputs == 0) return sums;
  const ChunkPlan plan = plan_chunks(outputs, terms);
  const int64_t blocks = outputs * plan.chunks;
  if (plan.chunks == 1) {  // one block per output: its sum is final
    chunk_sum_kernel<<<grid_for_items(blocks), kBlockSize, 0, backend.stream()>>>(
        values, terms, plan, sums.data<double>());
    CUDA_CHECK_LAUNCH();
    return sums;
  }
  const Tensor partial = Tensor::empty(Shape{blocks}, DType::f64, Device::cuda);
  chunk_sum_kernel<<<grid_for_items(blocks), kBlockSize, 0, backend.stream()>>>(
      values, terms, plan, partial.data<double>());
  CUDA_CHECK_LAUNCH();
  add_chunks_kernel<<<grid_for(outputs), kBlockSize, 0, backend.stream()>>>(
      partial.data<double>(), plan.chunks, outputs, sums.data<double>());
  CUDA_CHECK_LAUNCH();
  return sums;
}

}  // namespace fsa
