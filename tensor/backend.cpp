// backend.cpp: backend_for(), the one place the engine branches on the device.
#include "tensor/backend.h"

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cuda_entry.h"

namespace fsa {

const Backend& backend_for(Device device) {
  if (device == Device::cpu) return cpu_backend();
  return cuda_backend();
}

}  // namespace fsa
