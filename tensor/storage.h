// storage.h: a reference-counted block of memory on one device. Tensors share a Storage
// through std::shared_ptr; the block is returned to its device's backend when the last
// tensor that uses it goes away.
#pragma once

#include <cstddef>

#include "tensor/device.h"

namespace fsa {

class Storage {
 public:
  Storage(Device device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Device device_;
  size_t bytes_;
  void* data_ = nullptr;
};

}  // namespace fsa
