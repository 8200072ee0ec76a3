// channels_last.h: copying planes (C, H, W) into channels-last rows, for the direct weight
// gradient (conv_weight_direct.cpp), and the run-time choice among the copy's versions. A
// version writes out[h row_stride + w C + c] = planes[(c H + h) W + w] for every c < C,
// h < H, w < W, and nothing else (the caller fills the padding around the pixels).
#pragma once

#include <cstdint>
#include <vector>

namespace fsa {

struct PlaneExtent {
  int64_t channels, height, width;
};

using ChannelsLastCopyFn = void (*)(const float* planes, const PlaneExtent& extent,
                                    int64_t row_stride, float* out);

struct ChannelsLastCopy {
  const char* name;  // e.g. "avx512"
  ChannelsLastCopyFn run;
};

// Plain loops (channels_last.cpp): the reference the others are checked against.
void copy_channels_last_portable(const float* planes, const PlaneExtent& extent, int64_t row_stride,
                                 float* out);

// The versions that need instruction-set extensions and that this CPU supports
// (channels_last_x86.cpp: AVX-512; other processors: none).
std::vector<ChannelsLastCopy> extension_channels_last_copies();

// Every version this CPU can run, fastest first; the portable one is last.
const std::vector<ChannelsLastCopy>& supported_channels_last_copies();

}  // namespace fsa
