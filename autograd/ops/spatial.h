// spatial.h: operations over the H, W axes of (N,C,H,W) tensors: padding, pooling and
// resizing. Defined in reflection_pad2d.cpp, max_pool2d.cpp, avg_pool2d.cpp,
// upsample_nearest.cpp and resize_bilinear.cpp.
#pragma once

#include "tensor/params.h"
#include "tensor/tensor.h"

namespace fsa {

// Mirror padding without repeating the edge (PyTorch ReflectionPad2d): (N,C,H+2p,W+2p).
// Requires pad < H and pad < W.
Tensor reflection_pad2d(const Tensor& x, int64_t pad);
// NOTE: ties send the gradient to the first maximum of the window.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
// Mean over H and W: (N,C,H,W) -> (N,C).
Tensor global_avg_pool2d(const Tensor& x);
// Each pixel repeated into a scale x scale block (TF-1 and PyTorch nearest agree here).
Tensor upsample_nearest(const Tensor& x, int64_t scale);
// Bilinear resize to (out_h, out_w) with the coordinate rule of `mode` (tensor/params.h).
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, ResizeMode mode);

}  // namespace fsa
