// channels_last.cpp: the portable channels-last copy (the reference for the others) and the
// run-time choice of the fastest version this CPU runs (channels_last.h).
#include "tensor/cpu/channels_last.h"

namespace fsa {

void copy_channels_last_portable(const float* planes, const PlaneExtent& extent, int64_t row_stride,
                                 float* out) {
  const int64_t C = extent.channels, H = extent.height, W = extent.width;
  for (int64_t h = 0; h < H; ++h) {
    float* row = out + h * row_stride;
    for (int64_t c = 0; c < C; ++c) {
      const float* in = planes + (c * H + h) * W;
      for (int64_t w = 0; w < W; ++w) row[w * C + c] = in[w];
    }
  }
}

const std::vector<ChannelsLastCopy>& supported_channels_last_copies() {
  // The CPU does not change while the program runs: detect once.
  static const std::vector<ChannelsLastCopy> copies = [] {
    std::vector<ChannelsLastCopy> list = extension_channels_last_copies();
    list.push_back({"portable", copy_channels_last_portable});
    return list;
  }();
  return copies;
}

}  // namespace fsa
