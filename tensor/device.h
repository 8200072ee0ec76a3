// device.h: where a tensor's memory lives. The CUDA backend is optional at build time;
// cuda_available() says whether this build has it and a GPU is present.
#pragma once

#include <ostream>

namespace fsa {

enum class Device { cpu, cuda };

inline const char* device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }
inline std::ostream& operator<<(std::ostream& out, Device device) {
  return out << device_name(device);
}

// Parses "cpu" or "cuda"; throws fsa::Error otherwise.
Device parse_device(const char* name);

// True when the engine was built with the CUDA backend and a GPU can be used.
bool cuda_available();

}  // namespace fsa
