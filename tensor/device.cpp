// device.cpp: device names and the CUDA availability query.
#include "tensor/device.h"

#include <string>

#include "tensor/check.h"
#include "tensor/cuda_entry.h"

namespace fsa {

Device parse_device(const char* name) {
  const std::string text(name);
  if (text == "cpu") return Device::cpu;
  if (text == "cuda") return Device::cuda;
  fail("[device] unknown device '", text, "': expected cpu or cuda");
}

bool cuda_available() { return cuda_device_present(); }

}  // namespace fsa
