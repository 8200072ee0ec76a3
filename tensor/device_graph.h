// device_graph.h: records the kernels a piece of work queues on a device once, then replays
// them many times without the host launching each one (CUDA graphs). Recording runs
// nothing: replay() once to compute. Pointers are fixed at recording, so the work must
// read and write the same tensors on every replay (update them in place), copy no host
// memory to the device, and read no values back. Memory allocated while recording stays
// reserved for the graph until it is destroyed.
#pragma once

#include <functional>
#include <memory>

#include "tensor/device.h"

namespace fsa {

// What a backend returns from Backend::capture.
class CapturedWork {
 public:
  virtual ~CapturedWork() = default;
  virtual void replay() const = 0;
};

class DeviceGraph {
 public:
  // Whether `device`'s backend can record work (CUDA can; the CPU cannot).
  static bool supported(Device device);

  // Records what `work` queues on `device`; throws fsa::Error where that is not supported.
  DeviceGraph(Device device, const std::function<void()>& work);
  void replay() const;

 private:
  std::shared_ptr<CapturedWork> captured_;
};

}  // namespace fsa
