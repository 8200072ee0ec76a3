// conv_packed.h: float32 convolution on the packed GEMM (gemm_packed.h), with the im2col
// matrix of the whole batch packed straight from the images (never materialised):
//   forward          y (K, N PQ) = w (K, CRS) col(x) (CRS, N PQ) + b, one GEMM per batch
//   backward data    stride 1: dx = dy convolved with the flipped, transposed w;
//                    otherwise dx = col2im(w^T dy), in chunks of images
//   backward weight  dw (K, CRS) = dy (K, N PQ) col(x)^T (N PQ, CRS), one GEMM per batch
// Pointers are contiguous NCHW / KCRS arrays of the geometry's extents; outputs are written.
// `kernel` forces a micro-kernel (tests); by default each GEMM picks micro_kernel_for(M).
#pragma once

#include "tensor/cpu/conv_geometry.h"
#include "tensor/cpu/gemm_micro_kernel.h"

namespace fsa {

void conv2d_forward_f32(const float* x, const float* w, const float* bias, const ConvGeometry& g,
                        float* y, const MicroKernel* kernel = nullptr);

void conv2d_backward_data_f32(const float* dy, const float* w, const ConvGeometry& g, float* dx,
                              const MicroKernel* kernel = nullptr);

void conv2d_backward_weight_f32(const float* dy, const float* x, const ConvGeometry& g, float* dw,
                                const MicroKernel* kernel = nullptr);

}  // namespace fsa
