// channels_last_x86.cpp: the channels-last copy with AVX-512 (compiled for it through a
// function target attribute, offered only when the CPU reports it). It loads 16 floats of
// 16 channels in turn, transposes them in registers, and stores each pixel's 16 channels
// with one store; the portable loops store one float at a time, 4 C bytes apart.
#include <immintrin.h>

#include <algorithm>

#include "tensor/cpu/avx512_transpose.h"
#include "tensor/cpu/channels_last.h"

namespace fsa {

namespace {

constexpr int64_t kLanes = 16;

__attribute__((target("avx512f"))) inline __mmask16 first_lanes(int64_t count) {
  return static_cast<__mmask16>((1u << count) - 1);
}

// Pixels [i0, i0 + count) of channels [c0, c0 + channels), count and channels at most 16.
__attribute__((target("avx512f"))) inline void copy_block(const float* planes,
                                                          const PlaneExtent& extent,
                                                          int64_t row_stride, int64_t c0,
                                                          int64_t channels, int64_t i0,
                                                          int64_t count, float* out) {
  const int64_t pixels = extent.height * extent.width;
  __m512 rows[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) {
    const float* in = planes + (c0 + j) * pixels + i0;
    if (j >= channels) {
      rows[j] = _mm512_setzero_ps();
    } else if (count == kLanes) {
      rows[j] = _mm512_loadu_ps(in);
    } else {
      rows[j] = _mm512_maskz_loadu_ps(first_lanes(count), in);
    }
  }
  transpose_16x16(rows);  // rows[j]: the channels of pixel i0 + j
  int64_t h = i0 / extent.width, w = i0 % extent.width;
  for (int64_t j = 0; j < count; ++j) {
    float* pixel = out + h * row_stride + w * extent.channels + c0;
    if (channels == kLanes) {
      _mm512_storeu_ps(pixel, rows[j]);
    } else {
      _mm512_mask_storeu_ps(pixel, first_lanes(channels), rows[j]);
    }
    if (++w == extent.width) {
      w = 0;
      ++h;
    }
  }
}

// 16 channels at a time, so that the planes are read as 16 sequential streams.
__attribute__((target("avx512f"))) void copy_channels_last_avx512(const float* planes,
                                                                  const PlaneExtent& extent,
                                                                  int64_t row_stride, float* out) {
  const int64_t pixels = extent.height * extent.width;
  for (int64_t c0 = 0; c0 < extent.channels; c0 += kLanes) {
    const int64_t channels = std::min(kLanes, extent.channels - c0);
    for (int64_t i0 = 0; i0 < pixels; i0 += kLanes) {
      copy_block(planes, extent, row_stride, c0, channels, i0, std::min(kLanes, pixels - i0), out);
    }
  }
}

}  // namespace

std::vector<ChannelsLastCopy> extension_channels_last_copies() {
  if (!__builtin_cpu_supports("avx512f")) return {};
  return {{"avx512", copy_channels_last_avx512}};
}

}  // namespace fsa
