// reduce.cu: sums over axes, broadcasting, top-k indices and per-channel std (AdaIN), the
// twin of cpu/reduce.cpp. Sums accumulate in double, as on the CPU, in an order fixed by
// the shapes (segmented_sum.cuh for long sums), so results do not depend on timing.
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"
#include "tensor/cuda/segmented_sum.cuh"

namespace fsa {

namespace {

// Below this many terms per output a thread sums alone; above, a block shares the work.
constexpr int64_t kTermsPerThread = 32;

// outputs (N_out) <- sums over `terms` entries each: x[base(o) + term(r)].
__global__ void sum_per_thread_kernel(const float* x, StridedIndex base, StridedIndex term,
                                      int64_t terms, float* out, int64_t outputs) {
  for (int64_t o = global_thread_index(); o < outputs; o += global_thread_count()) {
    const int64_t start = base(o);
    double total = 0.0;
    for (int64_t r = 0; r < terms; ++r) total += x[start + term(r)];
    out[o] = static_cast<float>(total);
  }
}

// Term r of output o of a sum over axes: x[base(o) + term(r)].
struct AxesSumTerms {
  const float* x;
  StridedIndex base, term;
  __device__ double operator()(int64_t o, int64_t r) const { return x[base(o) + term(r)]; }
};

// One block per row: round r picks the entry ranked right after round r - 1's.
__global__ void topk_kernel(const float* x, int64_t cols, int64_t k, int32_t* out) {
  const float* row = x + static_cast<int64_t>(blockIdx.x) * cols;
  Candidate previous{0.0f, -1};
  for (int64_t round = 0; round < k; ++round) {
    previous = block_next_ranked(row, cols, previous, -1);
    if (threadIdx.x == 0) out[blockIdx.x * k + round] = previous.index;
  }
}

// The mean of one plane of `area` values, shared by every thread of the block.
__device__ double block_plane_mean(const float* values, int64_t area) {
  double total = 0.0;
  for (int64_t i = threadIdx.x; i < area; i += blockDim.x) total += values[i];
  return block_reduce(total, SumOp{}) / static_cast<double>(area);
}

// One block per (n, c) plane: std = sqrt(biased var + eps), two passes as on the CPU.
__global__ void channel_std_forward_kernel(const float* x, int64_t area, double eps, float* std) {
  const float* values = x + static_cast<int64_t>(blockIdx.x) * area;
  const double mean = block_plane_mean(values, area);
  double squares = 0.0;
  for (int64_t i = threadIdx.x; i < area; i += blockDim.x) {
    squares += (values[i] - mean) * (values[i] - mean);
  }
  squares = block_reduce(squares, SumOp{});
  if (threadIdx.x == 0) {
    std[blockIdx.x] = static_cast<float>(sqrt(squares / static_cast<double>(area) + eps));
  }
}

// d std / d x_i = (x_i - mean) / (area * std)
__global__ void channel_std_backward_kernel(const float* x, const float* std, const float* dy,
                                            int64_t area, float* dx) {
  const int64_t plane = blockIdx.x;
  const float* values = x + plane * area;
  const double mean = block_plane_mean(values, area);
  const double scale = dy[plane] / (static_cast<double>(area) * std[plane]);
  for (int64_t i = threadIdx.x; i < area; i += blockDim.x) {
    dx[plane * area + i] = static_cast<float>((values[i] - mean) * scale);
  }
}

}  // namespace

Tensor CudaBackend::sum_axes(const Tensor& x, const std::vector<int64_t>& axes) const {
  check_cuda_f32("sum_axes", x);
  check_rank("sum_axes", x.shape());
  std::vector<bool> reduced(static_cast<size_t>(x.ndim()), false);
  for (int64_t axis : axes)
    reduced[static_cast<size_t>(x.shape().normalize_axis(axis, "sum"))] = true;
  std::vector<int64_t> dims = x.shape().dims();
  for (size_t axis = 0; axis < dims.size(); ++axis) {
    if (reduced[axis]) dims[axis] = 1;
  }
  const Shape out_shape(dims);
  Tensor y = Tensor::empty(out_shape, DType::f32, Device::cuda);
  const int64_t outputs = out_shape.numel();
  if (outputs == 0) return y;

  // base: an output's first input element; term: the offsets of the summed axes.
  const std::vector<int64_t> strides = x.shape().strides();
  StridedIndex base, term;
  base.ndim = static_cast<int>(x.ndim());
  for (int64_t axis = 0; axis < x.ndim(); ++axis) {
    base.extent[axis] = out_shape[axis];
    base.stride[axis] = strides[static_cast<size_t>(axis)];
    if (reduced[static_cast<size_t>(axis)]) {
      term.extent[term.ndim] = x.dim(axis);
      term.stride[term.ndim] = strides[static_cast<size_t>(axis)];
      ++term.ndim;
    }
  }
  const int64_t terms = x.numel() / outputs;
  if (terms == 0) {
    fill(y, 0.0);
  } else if (terms <= kTermsPerThread || outputs >= (int64_t{1} << 31)) {
    sum_per_thread_kernel<<<grid_for(outputs), kBlockSize, 0, stream()>>>(
        x.data<float>(), coalesced(base), coalesced(term), terms, y.data<float>(), outputs);
    CUDA_CHECK_LAUNCH();
  } else {
    const AxesSumTerms values{x.data<float>(), coalesced(base), coalesced(term)};
    return cast(segmented_sum(*this, values, outputs, terms), DType::f32).reshape_view(out_shape);
  }
  return y;
}

Tensor CudaBackend::broadcast_to(const Tensor& x, const Shape& shape) const {
  check_cuda_f32("broadcast_to", x);
  Tensor y = Tensor::empty(shape, DType::f32, Device::cuda);
  const int64_t n = shape.numel();
  if (n == 0) return y;
  gather_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      x.data<float>(), broadcast_index(x.shape(), shape, "broadcast_to"), y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::topk_indices(const Tensor& x, int64_t k) const {
  check_cuda_f32("topk_indices", x);
  const int64_t rows = x.dim(0), cols = x.dim(1);
  FSA_CHECK(k >= 0 && k <= cols, "[topk_indices] k = ", k, " is out of range for ", x.shape());
  Tensor indices = Tensor::empty(Shape{rows, k}, DType::i32, Device::cuda);
  if (rows == 0 || k == 0) return indices;
  topk_kernel<<<grid_for_items(rows), kBlockSize, 0, stream()>>>(x.data<float>(), cols, k,
                                                                 indices.data<int32_t>());
  CUDA_CHECK_LAUNCH();
  return indices;
}

Tensor CudaBackend::channel_std_forward(const Tensor& x, double eps) const {
  check_cuda_f32("channel_std_forward", x);
  const int64_t planes = x.dim(0) * x.dim(1), area = x.dim(2) * x.dim(3);
  Tensor std = Tensor::empty(Shape{x.dim(0), x.dim(1), 1, 1}, DType::f32, Device::cuda);
  if (planes == 0) return std;
  channel_std_forward_kernel<<<grid_for_items(planes), kBlockSize, 0, stream()>>>(
      x.data<float>(), area, eps, std.data<float>());
  CUDA_CHECK_LAUNCH();
  return std;
}

Tensor CudaBackend::channel_std_backward(const Tensor& x, const Tensor& std,
                                         const Tensor& dy) const {
  check_cuda_f32("channel_std_backward", x);
  check_cuda_f32("channel_std_backward", std);
  check_cuda_f32("channel_std_backward", dy);
  const int64_t planes = x.dim(0) * x.dim(1), area = x.dim(2) * x.dim(3);
  Tensor dx = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  if (planes == 0 || area == 0) return dx;
  channel_std_backward_kernel<<<grid_for_items(planes), kBlockSize, 0, stream()>>>(
      x.data<float>(), std.data<float>(), dy.data<float>(), area, dx.data<float>());
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace fsa
