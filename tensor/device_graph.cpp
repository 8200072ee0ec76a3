// device_graph.cpp: DeviceGraph over Backend::capture.
#include "tensor/device_graph.h"

#include "tensor/backend.h"
#include "tensor/check.h"

namespace fsa {

bool DeviceGraph::supported(Device device) {
  if (device == Device::cuda && !cuda_available()) return false;  // no backend to ask
  return backend_for(device).supports_capture();
}

DeviceGraph::DeviceGraph(Device device, const std::function<void()>& work) {
  FSA_CHECK(supported(device), "[graph] the ", device, " backend cannot record work");
  captured_ = backend_for(device).capture(work);
}

void DeviceGraph::replay() const { captured_->replay(); }

}  // namespace fsa
