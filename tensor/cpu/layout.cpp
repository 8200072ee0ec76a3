// layout.cpp: copies that rearrange elements without arithmetic: permute, flip, concat,
// slice and its adjoint. They work on every dtype (int32 labels included): flip, concat and
// slice move contiguous blocks of bytes, permute gathers element by element.
#include <cstring>

#include "tensor/cpu/cpu_backend.h"

namespace fsa {

namespace {

// Runs body.template operator()<T>() for the element type of any dtype.
template <typename Body>
void dispatch_any(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::f32:
      return body.template operator()<float>();
    case DType::f64:
      return body.template operator()<double>();
    case DType::i32:
      return body.template operator()<int32_t>();
  }
}

// A shape seen around one axis as (outer, extent, inner): element (o, a, i) sits at
// (o * extent + a) * inner + i. A block is the `inner` contiguous elements of one (o, a).
struct AxisView {
  int64_t outer = 1, extent = 1, inner = 1;
  AxisView(const Shape& shape, int64_t axis) : extent(shape[axis]) {
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    for (int64_t d = axis + 1; d < shape.ndim(); ++d) inner *= shape[d];
  }
};

// The blocks of a tensor seen through `view`, from one base address taken before the loops
// (a writable pointer counts as a write to the tensor, see Tensor::data). Byte is char for
// the output, const char for an input.
template <typename Byte>
struct Blocks {
  Byte* base;
  int64_t element_bytes;
  AxisView view;
  Byte* at(int64_t o, int64_t a) const {
    return base + (o * view.extent + a) * view.inner * element_bytes;
  }
  size_t bytes() const { return static_cast<size_t>(view.inner * element_bytes); }
};

Blocks<char> output_blocks(const Tensor& t, const AxisView& view) {
  return {static_cast<char*>(t.raw_data()), static_cast<int64_t>(dtype_size(t.dtype())), view};
}

Blocks<const char> input_blocks(const Tensor& t, const AxisView& view) {
  return {static_cast<const char*>(t.const_raw_data()), static_cast<int64_t>(dtype_size(t.dtype())),
          view};
}

constexpr int64_t kParallelElements = 32768;

}  // namespace

Tensor CpuBackend::permute(const Tensor& x, const std::vector<int64_t>& order) const {
  const int64_t ndim = x.ndim();
  if (ndim == 0) return x.clone();
  const std::vector<int64_t> in_strides = x.shape().strides();
  std::vector<int64_t> out_dims(static_cast<size_t>(ndim)), gather_strides(out_dims.size());
  for (size_t i = 0; i < out_dims.size(); ++i) {
    const size_t source_axis = static_cast<size_t>(order[i]);
    out_dims[i] = x.shape().dims()[source_axis];
    gather_strides[i] = in_strides[source_axis];  // input step for a step along output axis i
  }
  Tensor y = Tensor::empty(Shape(out_dims), x.dtype());
  const int64_t row_length = out_dims.back();
  const int64_t rows = row_length == 0 ? 0 : y.numel() / row_length;
  dispatch_any(x.dtype(), [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
    const int64_t last_stride = gather_strides.back();
#pragma omp parallel for if (y.numel() > kParallelElements)
    for (int64_t row = 0; row < rows; ++row) {
      // The input offset of the row's first element, from its output multi-index.
      int64_t offset = 0, rest = row;
      for (int64_t axis = ndim - 2; axis >= 0; --axis) {
        const size_t a = static_cast<size_t>(axis);
        offset += (rest % out_dims[a]) * gather_strides[a];
        rest /= out_dims[a];
      }
      T* out_row = out + row * row_length;
      for (int64_t j = 0; j < row_length; ++j) out_row[j] = in[offset + j * last_stride];
    }
  });
  return y;
}

Tensor CpuBackend::flip(const Tensor& x, int64_t axis) const {
  axis = x.shape().normalize_axis(axis, "flip");
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const AxisView view(x.shape(), axis);
  const Blocks<const char> in = input_blocks(x, view);
  const Blocks<char> out = output_blocks(y, view);
  const int64_t blocks = view.outer * view.extent;
#pragma omp parallel for if (x.numel() > kParallelElements)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t o = block / view.extent, a = block % view.extent;
    std::memcpy(out.at(o, a), in.at(o, view.extent - 1 - a), in.bytes());
  }
  return y;
}

Tensor CpuBackend::concat(const std::vector<Tensor>& parts, int64_t axis) const {
  FSA_CHECK(!parts.empty(), "[concat] needs at least one tensor");
  axis = parts.front().shape().normalize_axis(axis, "concat");
  std::vector<int64_t> dims = parts.front().shape().dims();
  int64_t total_extent = 0;
  for (const Tensor& part : parts) total_extent += part.dim(axis);
  dims[static_cast<size_t>(axis)] = total_extent;
  Tensor y = Tensor::empty(Shape(dims), parts.front().dtype());
  const Blocks<char> out = output_blocks(y, AxisView(y.shape(), axis));
  // Each part fills extents [first, first + its extent) of every outer index.
  int64_t first = 0;
  for (const Tensor& part : parts) {
    const Blocks<const char> in = input_blocks(part, AxisView(part.shape(), axis));
    const size_t bytes = in.bytes() * static_cast<size_t>(in.view.extent);
    if (bytes > 0) {
      for (int64_t o = 0; o < in.view.outer; ++o) std::memcpy(out.at(o, first), in.at(o, 0), bytes);
    }
    first += in.view.extent;
  }
  return y;
}

Tensor CpuBackend::slice(const Tensor& x, int64_t axis, int64_t start, int64_t step,
                         int64_t count) const {
  axis = x.shape().normalize_axis(axis, "slice");
  std::vector<int64_t> dims = x.shape().dims();
  dims[static_cast<size_t>(axis)] = count;
  Tensor y = Tensor::empty(Shape(dims), x.dtype());
  const Blocks<const char> in = input_blocks(x, AxisView(x.shape(), axis));
  const Blocks<char> out = output_blocks(y, AxisView(y.shape(), axis));
  const int64_t blocks = out.view.outer * count;
#pragma omp parallel for if (y.numel() > kParallelElements)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t o = block / count, k = block % count;
    std::memcpy(out.at(o, k), in.at(o, start + k * step), in.bytes());
  }
  return y;
}

Tensor CpuBackend::slice_backward(const Tensor& dy, const Shape& x_shape, int64_t axis,
                                  int64_t start, int64_t step) const {
  axis = x_shape.normalize_axis(axis, "slice_backward");
  Tensor dx = Tensor::zeros(x_shape, dy.dtype());
  const Blocks<const char> in = input_blocks(dy, AxisView(dy.shape(), axis));
  const Blocks<char> out = output_blocks(dx, AxisView(x_shape, axis));
  const int64_t count = in.view.extent;
  const int64_t blocks = in.view.outer * count;
#pragma omp parallel for if (dy.numel() > kParallelElements)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t o = block / count, k = block % count;
    std::memcpy(out.at(o, start + k * step), in.at(o, k), in.bytes());
  }
  return dx;
}

}  // namespace fsa
