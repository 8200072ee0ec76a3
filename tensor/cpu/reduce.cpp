// reduce.cpp: sums over axes, broadcasting, top-k indices and per-channel std (AdaIN).
// Sums accumulate in double whatever the tensor's type.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/cpu/broadcast_runs.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

constexpr int64_t kParallelElements = 32768;  // below this, loops stay on one thread

// totals[out index] += the input elements of runs [begin, end) (runs over the input, in
// which the output is either one element, step 0, or contiguous, step 1).
template <typename T>
void add_runs(const T* in, const BroadcastRuns& runs, int64_t begin, int64_t end, double* totals) {
  const int64_t length = runs.length();
  for (int64_t run = begin; run < end; ++run) {
    const T* values = in + run * length;
    double* target = totals + runs.offset(0, run * length);
    if (runs.step(0) == 0) {
      double total = 0.0;
      for (int64_t i = 0; i < length; ++i) total += values[i];
      *target += total;
    } else {
      for (int64_t i = 0; i < length; ++i) target[i] += values[i];
    }
  }
}

}  // namespace

Tensor CpuBackend::sum_axes(const Tensor& x, const std::vector<int64_t>& axes) const {
  std::vector<int64_t> dims = x.shape().dims();
  for (int64_t axis : axes) dims[static_cast<size_t>(x.shape().normalize_axis(axis, "sum"))] = 1;
  const Shape out_shape(dims);
  Tensor y = Tensor::empty(out_shape, x.dtype());
  dispatch_float(x.dtype(), "sum_axes", [&]<typename T>() {
    const T* in = x.const_data<T>();
    const size_t out_count = static_cast<size_t>(out_shape.numel());
    const BroadcastRuns runs(x.shape(), {out_shape});
    // Each thread sums a contiguous share of the runs into its own totals; the shares are
    // then added in thread order, so the result does not depend on timing.
    const int threads = x.numel() > kParallelElements ? omp_get_max_threads() : 1;
    std::vector<std::vector<double>> partial(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int thread = omp_get_thread_num(), used = omp_get_num_threads();
      std::vector<double>& totals = partial[static_cast<size_t>(thread)];
      totals.assign(out_count, 0.0);
      const int64_t begin = runs.count() * thread / used;
      const int64_t end = runs.count() * (thread + 1) / used;
      add_runs(in, runs, begin, end, totals.data());
    }
    T* out = y.data<T>();
    for (size_t i = 0; i < out_count; ++i) {
      double total = 0.0;
      for (const std::vector<double>& totals : partial) total += totals.empty() ? 0.0 : totals[i];
      out[i] = static_cast<T>(total);
    }
  });
  return y;
}

Tensor CpuBackend::broadcast_to(const Tensor& x, const Shape& shape) const {
  Tensor y = Tensor::empty(shape, x.dtype());
  dispatch_float(x.dtype(), "broadcast_to", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
    const BroadcastRuns runs(shape, {x.shape()});
    const int64_t length = runs.length();
#pragma omp parallel for if (shape.numel() > kParallelElements)
    for (int64_t run = 0; run < runs.count(); ++run) {
      const T* source = in + runs.offset(0, run * length);
      T* target = out + run * length;
      if (runs.step(0) == 0) {
        for (int64_t i = 0; i < length; ++i) target[i] = source[0];
      } else {
        for (int64_t i = 0; i < length; ++i) target[i] = source[i];
      }
    }
  });
  return y;
}

Tensor CpuBackend::topk_indices(const Tensor& x, int64_t k) const {
  const int64_t rows = x.dim(0), cols = x.dim(1);
  Tensor indices = Tensor::empty(Shape{rows, k}, DType::i32);
  dispatch_float(x.dtype(), "topk_indices", [&]<typename T>() {
    const T* in = x.const_data<T>();
    int32_t* out = indices.data<int32_t>();
    std::vector<int32_t> order(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = in + r * cols;
      std::iota(order.begin(), order.end(), 0);
      // Larger value first; among equal values the lower index first (stable).
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [row](int32_t i, int32_t j) {
        return row[i] > row[j] || (row[i] == row[j] && i < j);
      });
      std::copy(order.begin(), order.begin() + k, out + r * k);
    }
  });
  return indices;
}

namespace {
template <typename T>
double plane_mean(const T* values, int64_t area) {
  double total = 0.0;
  for (int64_t i = 0; i < area; ++i) total += values[i];
  return total / static_cast<double>(area);
}
}  // namespace

Tensor CpuBackend::channel_std_forward(const Tensor& x, double eps) const {
  const int64_t planes = x.dim(0) * x.dim(1), area = x.dim(2) * x.dim(3);
  Tensor std = Tensor::empty(Shape{x.dim(0), x.dim(1), 1, 1}, x.dtype());
  dispatch_float(x.dtype(), "channel_std_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = std.data<T>();
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* values = in + plane * area;
      const double mean = plane_mean(values, area);
      double squares = 0.0;
      for (int64_t i = 0; i < area; ++i) squares += (values[i] - mean) * (values[i] - mean);
      out[plane] = static_cast<T>(std::sqrt(squares / static_cast<double>(area) + eps));
    }
  });
  return std;
}

// d std / d x_i = (x_i - mean) / (area * std)
Tensor CpuBackend::channel_std_backward(const Tensor& x, const Tensor& std,
                                        const Tensor& dy) const {
  const int64_t planes = x.dim(0) * x.dim(1), area = x.dim(2) * x.dim(3);
  Tensor dx = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "channel_std_backward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    const T* stds = std.const_data<T>();
    const T* dys = dy.const_data<T>();
    T* out = dx.data<T>();
#pragma omp parallel for if (x.numel() > 32768)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* values = in + plane * area;
      const double mean = plane_mean(values, area);
      const double scale = dys[plane] / (static_cast<double>(area) * stds[plane]);
      for (int64_t i = 0; i < area; ++i)
        out[plane * area + i] = static_cast<T>((values[i] - mean) * scale);
    }
  });
  return dx;
}

}  // namespace fsa
