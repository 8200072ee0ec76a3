// launch.cuh: what the .cu kernel files share: launch sizes, grid-stride indices, a block
// reduction, the top-k ranking of a row, and StridedIndex, the device twin of
// BroadcastIndexer (tensor/broadcast.h). Kernels index with int64_t so tensors above 2^31
// elements stay correct.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/check.h"
#include "tensor/shape.h"

namespace fsa {

constexpr int kBlockSize = 256;  // threads per block in every kernel (a power of two)
constexpr int kMaxDims = 8;      // the deepest shape the strided kernels accept

// Blocks for `n` elements under a grid-stride loop; at least one so launches stay valid.
inline unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + kBlockSize - 1) / kBlockSize;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, int64_t{1} << 20));
}

// Blocks for one block per item (rows, channels, planes) in the grid's x dimension.
inline unsigned grid_for_items(int64_t items) {
  FSA_CHECK(items < (int64_t{1} << 31), "[cuda] too many rows for one launch: ", items);
  return static_cast<unsigned>(std::max<int64_t>(items, 1));
}

// Kernels over (planes, positions in a plane), such as the (N*C, H*W) of pooling: planes
// along the grid's y (a loop covers more than kMaxGridPlanes), positions along x, indexed
// within a plane in 32 bits so that their divisions stay cheap.
constexpr int64_t kMaxGridPlanes = 65535;
constexpr int64_t kMaxPlaneSize = int64_t{1} << 30;

inline dim3 plane_grid(int64_t planes, int64_t plane_size, const char* op) {
  FSA_CHECK(plane_size < kMaxPlaneSize, "[", op, "] a plane of ", plane_size,
            " elements is too large for the cuda kernels");
  const int64_t blocks = (plane_size + kBlockSize - 1) / kBlockSize;
  return dim3(static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, int64_t{1} << 16)),
              static_cast<unsigned>(std::clamp<int64_t>(planes, 1, kMaxGridPlanes)));
}
__device__ inline int plane_position_index() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ inline int plane_position_count() { return gridDim.x * blockDim.x; }

__device__ inline int64_t global_thread_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t global_thread_count() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// Combines one value per thread of the block with `combine` (associative), in a fixed
// order, and gives the result to every thread. Every thread of the block must call it.
template <typename T, typename Combine>
__device__ T block_reduce(T value, Combine combine) {
  __shared__ T partial[kBlockSize];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
    if (threadIdx.x < width)
      partial[threadIdx.x] = combine(partial[threadIdx.x], partial[threadIdx.x + width]);
    __syncthreads();
  }
  const T result = partial[0];
  __syncthreads();  // the buffer may be reused by the next call
  return result;
}

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

// An entry of a row in a ranking; index -1 means "none".
struct Candidate {
  float value;
  int32_t index;
};

// The ranking of topk_indices: larger value first; among equal values the lower index.
struct BetterCandidate {
  __device__ Candidate operator()(Candidate a, Candidate b) const {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    const bool a_first = a.value > b.value || (a.value == b.value && a.index < b.index);
    return a_first ? a : b;
  }
};

// The entry of `row` ranked right after `previous` (index -1: the first), never the one at
// `excluded` (-1: none); index -1 when none is left. Every thread of the block must call
// it, and every thread gets the answer.
__device__ inline Candidate block_next_ranked(const float* row, int64_t cols, Candidate previous,
                                              int64_t excluded) {
  Candidate best{0.0f, -1};
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float value = row[j];
    const bool after_previous = previous.index < 0 || value < previous.value ||
                                (value == previous.value && j > previous.index);
    if (after_previous && j != excluded) {
      best = BetterCandidate{}(best, Candidate{value, static_cast<int32_t>(j)});
    }
  }
  return block_reduce(best, BetterCandidate{});
}

// Flat index in an output shape -> offset in an input, through one stride per output
// axis: stride 0 repeats a broadcast axis, permuted strides permute.
struct StridedIndex {
  int ndim = 0;
  int64_t extent[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};

  __device__ int64_t operator()(int64_t flat) const {
    int64_t offset = 0;
    for (int axis = ndim - 1; axis > 0; --axis) {
      offset += (flat % extent[axis]) * stride[axis];
      flat /= extent[axis];
    }
    return ndim > 0 ? offset + flat * stride[0] : 0;  // the outermost index needs no modulo
  }
};

// The same mapping with fewer axes, so each element costs fewer divisions: axes of extent
// 1 go, and an axis merges into the next inner one when it steps over it exactly
// (stride = inner stride x inner extent; two broadcast axes, both stride 0, merge too).
inline StridedIndex coalesced(const StridedIndex& index) {
  StridedIndex merged;
  for (int axis = 0; axis < index.ndim; ++axis) {
    const int64_t extent = index.extent[axis], stride = index.stride[axis];
    if (extent == 1) continue;
    const int last = merged.ndim - 1;
    if (last >= 0 && merged.stride[last] == stride * extent) {
      merged.extent[last] *= extent;
      merged.stride[last] = stride;
    } else {
      merged.extent[merged.ndim] = extent;
      merged.stride[merged.ndim] = stride;
      ++merged.ndim;
    }
  }
  return merged;
}

// y[i] = x[index(i)]: broadcasting and permuting copies.
template <typename T>
__global__ void gather_kernel(const T* x, StridedIndex index, T* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) y[i] = x[index(i)];
}

inline void check_rank(const char* op, const Shape& shape) {
  FSA_CHECK(shape.ndim() <= kMaxDims, "[", op, "] cuda kernels take at most ", kMaxDims,
            " dimensions, got ", shape);
}

// `input` read as if broadcast to `output` (the rule of BroadcastIndexer).
inline StridedIndex broadcast_index(const Shape& input, const Shape& output, const char* op) {
  check_rank(op, output);
  StridedIndex index;
  index.ndim = static_cast<int>(output.ndim());
  const int64_t lead = output.ndim() - input.ndim();
  const std::vector<int64_t> in_strides = input.strides();
  for (int64_t axis = 0; axis < output.ndim(); ++axis) {
    index.extent[axis] = output[axis];
    const int64_t in_axis = axis - lead;
    const bool repeated = in_axis < 0 || input[in_axis] == 1;
    index.stride[axis] = repeated ? 0 : in_strides[static_cast<size_t>(in_axis)];
  }
  return coalesced(index);
}

}  // namespace fsa
