// storage.cpp: allocation and release go through the device's backend.
#include "tensor/storage.h"

#include "tensor/backend.h"

namespace fsa {

Storage::Storage(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (bytes_ > 0) data_ = backend_for(device_).allocate(bytes_);
}

Storage::~Storage() {
  if (data_ != nullptr) backend_for(device_).deallocate(data_, bytes_);
}

}  // namespace fsa
