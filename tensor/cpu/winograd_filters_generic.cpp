// winograd_filters_generic.cpp: processors without x86 extensions; the Winograd convolution
// transforms its filters with the portable loops. CMake compiles this file instead of
// winograd_filters_x86.cpp.
#include "tensor/cpu/winograd_filters.h"

namespace fsa {

std::vector<FilterPanelTransform> extension_filter_panel_transforms() { return {}; }

}  // namespace fsa
