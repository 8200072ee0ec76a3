// pool.cpp: reflection padding, max and average pooling, nearest upsampling, forward and
// backward, over (N,C,H,W). Every kernel loops over the N*C planes independently; backward
// kernels scatter into a zeroed dx that they own (never into an input).
#include <algorithm>
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

// Mirror index without repeating the edge: -1 -> 1, in -> in-2 (requires pad < in).
int64_t reflect_index(int64_t padded, int64_t pad, int64_t in) {
  const int64_t i = padded - pad;
  if (i < 0) return -i;
  if (i >= in) return 2 * (in - 1) - i;
  return i;
}

// One pooling window along one axis: [start, end) clipped to the input, and `span`, its
// extent in the padded input (the avg-pool divisor factor, count_include_pad=True).
struct Window {
  int64_t start, end, span;
};

Window pool_window(int64_t out_index, int64_t in, const Pool2dParams& p) {
  const int64_t first = out_index * p.stride - p.padding;
  const int64_t last = std::min(first + p.kernel, in + p.padding);
  return {std::max<int64_t>(first, 0), std::min(last, in), last - first};
}

struct PlaneDims {
  int64_t planes, in_h, in_w, out_h, out_w;
};

PlaneDims pool_dims(const Shape& x_shape, const Pool2dParams& p) {
  return {x_shape[0] * x_shape[1], x_shape[2], x_shape[3], pool2d_output_size(x_shape[2], p),
          pool2d_output_size(x_shape[3], p)};
}

// Whether `value`, met after `best` in row-major order, takes its place as the maximum: only
// if larger (ties keep the first), or if it is a NaN (NaN wins and propagates, as in PyTorch).
template <typename T>
bool replaces_maximum(T best, T value) {
  return value > best || std::isnan(value);
}

// Flat in-plane index of the window's maximum (replaces_maximum, in row-major order).
template <typename T>
int64_t window_argmax(const T* plane, int64_t in_w, const Window& rows, const Window& cols) {
  int64_t best = rows.start * in_w + cols.start;
  for (int64_t h = rows.start; h < rows.end; ++h) {
    for (int64_t w = cols.start; w < cols.end; ++w) {
      const T value = plane[h * in_w + w];
      if (replaces_maximum(plane[best], value)) best = h * in_w + w;
    }
  }
  return best;
}

template <typename T>
T max_or_nan(T best, T value) {
  return replaces_maximum(best, value) ? value : best;
}

// Max pooling whose windows are the whole input's disjoint 2x2 blocks (kernel 2, stride 2,
// no padding, even extents: VGG's pooling): the values window_argmax selects, without the
// per-window bookkeeping, so that the loop vectorises.
template <typename T>
void max_pool_2x2_plane(const T* src, int64_t in_w, int64_t out_h, int64_t out_w, T* dst) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const T* __restrict top = src + 2 * oh * in_w;
    const T* __restrict bottom = top + in_w;
    T* __restrict row = dst + oh * out_w;
    for (int64_t ow = 0; ow < out_w; ++ow) {
      const T top_max = max_or_nan(top[2 * ow], top[2 * ow + 1]);
      row[ow] = max_or_nan(max_or_nan(top_max, bottom[2 * ow]), bottom[2 * ow + 1]);
    }
  }
}

// The gradient of max_pool_2x2_plane: each block's dy goes to the element window_argmax
// selects (the first maximum in row-major order, or the last NaN), zero to the other three.
template <typename T>
void max_pool_2x2_backward_plane(const T* src, const T* dy, int64_t in_w, int64_t out_h,
                                 int64_t out_w, T* dx) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const T* __restrict top = src + 2 * oh * in_w;
    const T* __restrict bottom = top + in_w;
    const T* __restrict grad = dy + oh * out_w;
    T* __restrict grad_top = dx + 2 * oh * in_w;
    T* __restrict grad_bottom = grad_top + in_w;
    // Every value is a select of values, all four computed before the stores, so that the loop
    // vectorises: written with `&&` of the flags in the stores, GCC 12 kept it scalar (the
    // relu4_1 stack's backward at batch 8 spent twice the time in it).
    for (int64_t ow = 0; ow < out_w; ++ow) {
      const T a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
      const bool second = replaces_maximum(a, b);  // b beats a
      const T top_max = second ? b : a;
      const bool third = replaces_maximum(top_max, c);  // c beats the top row
      const T three_max = third ? c : top_max;
      const bool fourth = replaces_maximum(three_max, d);  // d beats all three
      const T g = grad[ow], zero = T(0);
      const T to_fourth = fourth ? g : zero;
      const T to_third = fourth ? zero : (third ? g : zero);
      const T to_top = third || fourth ? zero : g;  // to the first or the second
      grad_top[2 * ow] = second ? zero : to_top;
      grad_top[2 * ow + 1] = second ? to_top : zero;
      grad_bottom[2 * ow] = to_third;
      grad_bottom[2 * ow + 1] = to_fourth;
    }
  }
}

bool is_whole_2x2_blocks(const PlaneDims& d, const Pool2dParams& p) {
  return p.kernel == 2 && p.stride == 2 && p.padding == 0 && d.in_h == 2 * d.out_h &&
         d.in_w == 2 * d.out_w;
}

}  // namespace

Tensor CpuBackend::reflection_pad2d_forward(const Tensor& x, int64_t pad) const {
  const int64_t planes = x.dim(0) * x.dim(1), in_h = x.dim(2), in_w = x.dim(3);
  const int64_t out_h = in_h + 2 * pad, out_w = in_w + 2 * pad;
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), out_h, out_w}, x.dtype());
  dispatch_float(x.dtype(), "reflection_pad2d_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = in + plane * in_h * in_w;
      T* dst = out + plane * out_h * out_w;
      for (int64_t h = 0; h < out_h; ++h) {
        const T* src_row = src + reflect_index(h, pad, in_h) * in_w;
        T* dst_row = dst + h * out_w;
        // The mirrored edges element by element, the interior as one contiguous copy.
        for (int64_t w = 0; w < pad; ++w) dst_row[w] = src_row[reflect_index(w, pad, in_w)];
        std::copy(src_row, src_row + in_w, dst_row + pad);
        for (int64_t w = pad + in_w; w < out_w; ++w) {
          dst_row[w] = src_row[reflect_index(w, pad, in_w)];
        }
      }
    }
  });
  return y;
}

// dx[i] = sum of dy over every padded position that mirrors i.
Tensor CpuBackend::reflection_pad2d_backward(const Tensor& dy, int64_t pad) const {
  const int64_t planes = dy.dim(0) * dy.dim(1), out_h = dy.dim(2), out_w = dy.dim(3);
  const int64_t in_h = out_h - 2 * pad, in_w = out_w - 2 * pad;
  Tensor dx = Tensor::zeros(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, dy.dtype());
  dispatch_float(dy.dtype(), "reflection_pad2d_backward", [&]<typename T>() {
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = dys + plane * out_h * out_w;
      T* dst = dxs + plane * in_h * in_w;
      for (int64_t h = 0; h < out_h; ++h) {
        const T* __restrict src_row = src + h * out_w;
        T* __restrict dst_row = dst + reflect_index(h, pad, in_h) * in_w;
        for (int64_t w = 0; w < in_w; ++w) dst_row[w] += src_row[pad + w];  // the interior
        for (int64_t w = 0; w < pad; ++w) dst_row[reflect_index(w, pad, in_w)] += src_row[w];
        for (int64_t w = pad + in_w; w < out_w; ++w) {
          dst_row[reflect_index(w, pad, in_w)] += src_row[w];
        }
      }
    }
  });
  return dx;
}

// Padding counts as -inf: only input elements compete for the maximum.
Tensor CpuBackend::max_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  const PlaneDims d = pool_dims(x.shape(), p);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), d.out_h, d.out_w}, x.dtype());
  dispatch_float(x.dtype(), "max_pool2d_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
    const bool whole_2x2_blocks = is_whole_2x2_blocks(d, p);
#pragma omp parallel for
    for (int64_t plane = 0; plane < d.planes; ++plane) {
      const T* src = in + plane * d.in_h * d.in_w;
      T* dst = out + plane * d.out_h * d.out_w;
      if (whole_2x2_blocks) {
        max_pool_2x2_plane(src, d.in_w, d.out_h, d.out_w, dst);
        continue;
      }
      for (int64_t oh = 0; oh < d.out_h; ++oh) {
        const Window rows = pool_window(oh, d.in_h, p);
        for (int64_t ow = 0; ow < d.out_w; ++ow) {
          const Window cols = pool_window(ow, d.in_w, p);
          dst[oh * d.out_w + ow] = src[window_argmax(src, d.in_w, rows, cols)];
        }
      }
    }
  });
  return y;
}

Tensor CpuBackend::max_pool2d_backward(const Tensor& x, const Tensor& dy,
                                       const Pool2dParams& p) const {
  const PlaneDims d = pool_dims(x.shape(), p);
  const bool whole_2x2_blocks = is_whole_2x2_blocks(d, p);
  // The 2x2 path writes every element; the general windows add into zeros.
  Tensor dx = whole_2x2_blocks ? Tensor::empty(x.shape(), x.dtype())
                               : Tensor::zeros(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "max_pool2d_backward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < d.planes; ++plane) {
      const T* src = in + plane * d.in_h * d.in_w;
      const T* grad_out = dys + plane * d.out_h * d.out_w;
      T* grad_in = dxs + plane * d.in_h * d.in_w;
      if (whole_2x2_blocks) {
        max_pool_2x2_backward_plane(src, grad_out, d.in_w, d.out_h, d.out_w, grad_in);
        continue;
      }
      for (int64_t oh = 0; oh < d.out_h; ++oh) {
        const Window rows = pool_window(oh, d.in_h, p);
        for (int64_t ow = 0; ow < d.out_w; ++ow) {
          const Window cols = pool_window(ow, d.in_w, p);
          grad_in[window_argmax(src, d.in_w, rows, cols)] += grad_out[oh * d.out_w + ow];
        }
      }
    }
  });
  return dx;
}

// The divisor is the window's extent in the padded input (count_include_pad=True); with
// ceil_mode a window that runs past the right padding has a smaller divisor (PyTorch).
Tensor CpuBackend::avg_pool2d_forward(const Tensor& x, const Pool2dParams& p) const {
  const PlaneDims d = pool_dims(x.shape(), p);
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), d.out_h, d.out_w}, x.dtype());
  dispatch_float(x.dtype(), "avg_pool2d_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < d.planes; ++plane) {
      const T* src = in + plane * d.in_h * d.in_w;
      T* dst = out + plane * d.out_h * d.out_w;
      for (int64_t oh = 0; oh < d.out_h; ++oh) {
        const Window rows = pool_window(oh, d.in_h, p);
        for (int64_t ow = 0; ow < d.out_w; ++ow) {
          const Window cols = pool_window(ow, d.in_w, p);
          double total = 0.0;
          for (int64_t h = rows.start; h < rows.end; ++h) {
            for (int64_t w = cols.start; w < cols.end; ++w) total += src[h * d.in_w + w];
          }
          dst[oh * d.out_w + ow] =
              static_cast<T>(total / static_cast<double>(rows.span * cols.span));
        }
      }
    }
  });
  return y;
}

Tensor CpuBackend::avg_pool2d_backward(const Tensor& dy, const Shape& x_shape,
                                       const Pool2dParams& p) const {
  const PlaneDims d = pool_dims(x_shape, p);
  Tensor dx = Tensor::zeros(x_shape, dy.dtype());
  dispatch_float(dy.dtype(), "avg_pool2d_backward", [&]<typename T>() {
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < d.planes; ++plane) {
      const T* grad_out = dys + plane * d.out_h * d.out_w;
      T* grad_in = dxs + plane * d.in_h * d.in_w;
      for (int64_t oh = 0; oh < d.out_h; ++oh) {
        const Window rows = pool_window(oh, d.in_h, p);
        for (int64_t ow = 0; ow < d.out_w; ++ow) {
          const Window cols = pool_window(ow, d.in_w, p);
          const T share = grad_out[oh * d.out_w + ow] / static_cast<T>(rows.span * cols.span);
          for (int64_t h = rows.start; h < rows.end; ++h) {
            for (int64_t w = cols.start; w < cols.end; ++w) grad_in[h * d.in_w + w] += share;
          }
        }
      }
    }
  });
  return dx;
}

// Each input row is widened once (every value `scale` times), then copied to the other
// scale - 1 output rows.
Tensor CpuBackend::upsample_nearest_forward(const Tensor& x, int64_t scale) const {
  const int64_t planes = x.dim(0) * x.dim(1), in_h = x.dim(2), in_w = x.dim(3);
  const int64_t out_h = in_h * scale, out_w = in_w * scale;
  Tensor y = Tensor::empty(Shape{x.dim(0), x.dim(1), out_h, out_w}, x.dtype());
  dispatch_float(x.dtype(), "upsample_nearest_forward", [&]<typename T>() {
    const T* in = x.const_data<T>();
    T* out = y.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = in + plane * in_h * in_w;
      T* dst = out + plane * out_h * out_w;
      for (int64_t i = 0; i < in_h; ++i) {
        T* first_row = dst + i * scale * out_w;
        for (int64_t j = 0; j < in_w; ++j) {
          for (int64_t s = 0; s < scale; ++s) first_row[j * scale + s] = src[i * in_w + j];
        }
        for (int64_t r = 1; r < scale; ++r) {
          std::copy(first_row, first_row + out_w, first_row + r * out_w);
        }
      }
    }
  });
  return y;
}

// dx[i,j] = sum of dy over the scale x scale block that copied x[i,j], in row-major order.
Tensor CpuBackend::upsample_nearest_backward(const Tensor& dy, int64_t scale) const {
  const int64_t planes = dy.dim(0) * dy.dim(1), out_h = dy.dim(2), out_w = dy.dim(3);
  const int64_t in_h = out_h / scale, in_w = out_w / scale;
  Tensor dx = Tensor::empty(Shape{dy.dim(0), dy.dim(1), in_h, in_w}, dy.dtype());
  dispatch_float(dy.dtype(), "upsample_nearest_backward", [&]<typename T>() {
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* src = dys + plane * out_h * out_w;
      T* dst = dxs + plane * in_h * in_w;
      for (int64_t i = 0; i < in_h; ++i) {
        for (int64_t j = 0; j < in_w; ++j) {
          const T* block = src + i * scale * out_w + j * scale;
          T sum = T(0);
          for (int64_t r = 0; r < scale; ++r) {
            for (int64_t s = 0; s < scale; ++s) sum += block[r * out_w + s];
          }
          dst[i * in_w + j] = sum;
        }
      }
    }
  });
  return dx;
}

}  // namespace fsa
