// winograd_filters.h: the filter transforms of the Winograd convolution (conv_winograd.cpp),
// one row panel of mr filters at a time, and the run-time choice among their versions. A
// version writes u = G w G^T of filters k0 .. k0 + mr - 1 over all C channels as the
// micro-kernel's A panels: position xi's (mr, C) slice at u[xi position_stride + c mr + i],
// zero for filters past K. The filters are read through a FilterLayout (conv_packed.h).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/cpu/conv_packed.h"

namespace fsa {

using FilterPanelTransformFn = void (*)(const float* w, const FilterLayout& layout,
                                        const ConvGeometry& g, int64_t mr, int64_t k0,
                                        int64_t position_stride, float* u);

struct FilterPanelTransform {
  const char* name;  // e.g. "avx512"
  FilterPanelTransformFn run;
};

// Plain loops (conv_winograd.cpp): the reference the others are checked against; mr <= 16.
void transform_filter_panel_portable(const float* w, const FilterLayout& layout,
                                     const ConvGeometry& g, int64_t mr, int64_t k0,
                                     int64_t position_stride, float* u);

// The versions that need instruction-set extensions and that this CPU supports
// (winograd_filters_x86.cpp: AVX-512; other processors: none).
std::vector<FilterPanelTransform> extension_filter_panel_transforms();

// Every version this CPU can run, fastest first; the portable one is last.
const std::vector<FilterPanelTransform>& supported_filter_panel_transforms();

}  // namespace fsa
