// layout.cu: permute, flip, concat, slice and its adjoint, the twin of cpu/layout.cpp.
// Pure data movement, one thread per output element; an axis splits a contiguous tensor
// into (outer, extent, inner) and the kernels index in that view.
#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

// A contiguous tensor around `axis`: (outer, extent, inner).
struct AxisView {
  int64_t outer = 1, extent = 1, inner = 1;
};

AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView view;
  for (int64_t a = 0; a < axis; ++a) view.outer *= shape[a];
  view.extent = shape[axis];
  for (int64_t a = axis + 1; a < shape.ndim(); ++a) view.inner *= shape[a];
  return view;
}

__global__ void flip_kernel(const float* x, AxisView v, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t a = (i / v.inner) % v.extent;
    y[i] = x[i + (v.extent - 1 - 2 * a) * v.inner];
  }
}

// Copies part (outer, part_extent, inner) into y (outer, total_extent, inner) at `offset`.
__global__ void concat_part_kernel(const float* part, int64_t part_extent, float* y, AxisView out,
                                   int64_t offset, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t inner = i % out.inner, a = (i / out.inner) % part_extent;
    const int64_t o = i / (out.inner * part_extent);
    y[(o * out.extent + offset + a) * out.inner + inner] = part[i];
  }
}

// y (outer, count, inner) = x (outer, extent, inner) at start, start + step, ...
__global__ void slice_kernel(const float* x, AxisView in, int64_t start, int64_t step,
                             int64_t count, float* y, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t inner = i % in.inner, j = (i / in.inner) % count, o = i / (in.inner * count);
    y[i] = x[(o * in.extent + start + j * step) * in.inner + inner];
  }
}

// dx (outer, extent, inner): dy where the slice read, zero elsewhere.
__global__ void slice_backward_kernel(const float* dy, AxisView in, int64_t start, int64_t step,
                                      int64_t count, float* dx, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const int64_t inner = i % in.inner, a = (i / in.inner) % in.extent,
                  o = i / (in.inner * in.extent);
    const int64_t from_start = a - start;
    const bool read = from_start >= 0 && from_start % step == 0 && from_start / step < count;
    dx[i] = read ? dy[(o * count + from_start / step) * in.inner + inner] : 0.0f;
  }
}

}  // namespace

Tensor CudaBackend::permute(const Tensor& x, const std::vector<int64_t>& order) const {
  check_cuda_f32("permute", x);
  check_rank("permute", x.shape());
  FSA_CHECK(static_cast<int64_t>(order.size()) == x.ndim(), "[permute] order of ", order.size(),
            " axes for ", x.shape());
  const std::vector<int64_t> in_strides = x.shape().strides();
  std::vector<int64_t> dims(order.size());
  StridedIndex index;
  index.ndim = static_cast<int>(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t axis = x.shape().normalize_axis(order[i], "permute");
    dims[i] = x.dim(axis);
    index.extent[i] = dims[i];
    index.stride[i] = in_strides[static_cast<size_t>(axis)];
  }
  Tensor y = Tensor::empty(Shape(dims), DType::f32, Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  gather_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), coalesced(index),
                                                          y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::flip(const Tensor& x, int64_t axis) const {
  check_cuda_f32("flip", x);
  const AxisView v = axis_view(x.shape(), x.shape().normalize_axis(axis, "flip"));
  Tensor y = Tensor::empty(x.shape(), DType::f32, Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  flip_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), v, y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::concat(const std::vector<Tensor>& parts, int64_t axis) const {
  FSA_CHECK(!parts.empty(), "[concat] needs at least one tensor");
  const int64_t a = parts[0].shape().normalize_axis(axis, "concat");
  std::vector<int64_t> dims = parts[0].shape().dims();
  dims[static_cast<size_t>(a)] = 0;
  for (const Tensor& part : parts) {
    check_cuda_f32("concat", part);
    dims[static_cast<size_t>(a)] += part.dim(a);
  }
  Tensor y = Tensor::empty(Shape(dims), DType::f32, Device::cuda);
  const AxisView out = axis_view(y.shape(), a);
  int64_t offset = 0;
  for (const Tensor& part : parts) {
    const int64_t n = part.numel();
    if (n > 0) {
      concat_part_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(part.data<float>(), part.dim(a),
                                                                   y.data<float>(), out, offset, n);
      CUDA_CHECK_LAUNCH();
    }
    offset += part.dim(a);
  }
  return y;
}

Tensor CudaBackend::slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
                          int64_t count) const {
  check_cuda_f32("slice", x);
  const int64_t a = x.shape().normalize_axis(axis, "slice");
  FSA_CHECK(step >= 1 && start >= 0 && count >= 0 &&
                (count == 0 || start + (count - 1) * step < x.dim(a)),
            "[slice] start ", start, ", step ", step, ", count ", count, " do not fit axis ", a,
            " of ", x.shape());
  std::vector<int64_t> dims = x.shape().dims();
  dims[static_cast<size_t>(a)] = count;
  Tensor y = Tensor::empty(Shape(dims), DType::f32, Device::cuda);
  const int64_t n = y.numel();
  if (n == 0) return y;
  slice_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(x.data<float>(), axis_view(x.shape(), a),
                                                         start, step, count, y.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return y;
}

Tensor CudaBackend::slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis,
                                   int64_t start, int64_t step) const {
  check_cuda_f32("slice_backward", dy);
  const int64_t a = x_shape.normalize_axis(axis, "slice_backward");
  const int64_t count = dy.dim(a);
  FSA_CHECK(step >= 1 && start >= 0 && (count == 0 || start + (count - 1) * step < x_shape[a]),
            "[slice_backward] dy ", dy.shape(), " with start ", start, ", step ", step,
            " does not fit ", x_shape);
  Tensor dx = Tensor::empty(x_shape, DType::f32, Device::cuda);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  slice_backward_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      dy.data<float>(), axis_view(x_shape, a), start, step, count, dx.data<float>(), n);
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace fsa
