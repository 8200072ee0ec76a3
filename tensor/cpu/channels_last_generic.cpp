// channels_last_generic.cpp: processors without x86 extensions; the channels-last copy runs
// the portable loops. CMake compiles this file instead of channels_last_x86.cpp.
#include "tensor/cpu/channels_last.h"

namespace fsa {

std::vector<ChannelsLastCopy> extension_channels_last_copies() { return {}; }

}  // namespace fsa
