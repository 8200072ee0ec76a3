// conv_geometry.h: the extents of one 2-D convolution (letters of tensor/tensor.h) and
// col2im, shared by the reference convolution (conv.cpp) and the packed float32 one
// (conv_packed.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "tensor/shape.h"

namespace fsa {

struct ConvGeometry {
  int64_t N, C, H, W, K, R, S, P, Q, stride, padding;
  int64_t image_size() const { return C * H * W; }
  int64_t output_size() const { return K * P * Q; }
  int64_t col_rows() const { return C * R * S; }  // the taps (c, r, s)
  int64_t col_cols() const { return P * Q; }      // the output pixels (p, q) of one image
};

// The geometry of x (N,C,H,W) and w (K,C,R,S); throws fsa::Error naming `op` when they do
// not fit together (conv.cpp).
struct Conv2dParams;
ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op);

// The output positions o in [first, last) whose input index o * stride - padding + offset
// lies inside [0, in_extent).
struct ValidRange {
  int64_t first, last;
};

inline ValidRange valid_outputs(int64_t offset, int64_t in_extent, int64_t out_extent,
                                int64_t stride, int64_t padding) {
  const int64_t shift = offset - padding;  // input index = o * stride + shift
  const int64_t first = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  const int64_t last_input = in_extent - 1 - shift;  // o * stride <= last_input
  const int64_t last = last_input < 0 ? 0 : std::min(out_extent, last_input / stride + 1);
  return {std::min(first, out_extent), std::max(std::min(first, out_extent), last)};
}

inline ValidRange valid_outputs(int64_t offset, int64_t in_extent, int64_t out_extent,
                                const ConvGeometry& g) {
  return valid_outputs(offset, in_extent, out_extent, g.stride, g.padding);
}

// dx_plane (H, W) = channel c of the adjoint of im2col for one image: each pixel sums the
// entries of col (CRS rows of PQ values, `col_row_stride` apart) that copied it.
template <typename T>
void col2im_channel(const T* col, int64_t col_row_stride, const ConvGeometry& g, int64_t c,
                    T* dx_plane) {
  std::fill(dx_plane, dx_plane + g.H * g.W, T(0));
  for (int64_t r = 0; r < g.R; ++r) {
    for (int64_t s = 0; s < g.S; ++s) {
      const T* in = col + ((c * g.R + r) * g.S + s) * col_row_stride;
      const ValidRange ps = valid_outputs(r, g.H, g.P, g), qs = valid_outputs(s, g.W, g.Q, g);
      for (int64_t p = ps.first; p < ps.last; ++p) {
        T* dx_row = dx_plane + (p * g.stride - g.padding + r) * g.W;
        for (int64_t q = qs.first; q < qs.last; ++q) {
          dx_row[q * g.stride - g.padding + s] += in[p * g.Q + q];
        }
      }
    }
  }
}

// dx (C, H, W) = the adjoint of im2col for one image. One thread per channel, so no two
// threads write the same pixel.
template <typename T>
void col2im(const T* col, int64_t col_row_stride, const ConvGeometry& g, T* dx) {
#pragma omp parallel for if (g.col_rows() * g.col_cols() > 32768)
  for (int64_t c = 0; c < g.C; ++c) col2im_channel(col, col_row_stride, g, c, dx + c * g.H * g.W);
}

}  // namespace fsa
