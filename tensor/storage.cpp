// storage.cpp: allocation and release go through the device's backend; derived data is kept
// in a map guarded by a mutex (kernels may run on several host threads).
#include "tensor/storage.h"

#include "tensor/backend.h"

namespace fsa {

Storage::Storage(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  if (bytes_ > 0) data_ = backend_for(device_).allocate(bytes_);
}

Storage::~Storage() {
  if (data_ != nullptr) backend_for(device_).deallocate(data_, bytes_);
}

std::shared_ptr<DerivedData> Storage::find_derived(const std::string& name) const {
  std::lock_guard<std::mutex> lock(derived_mutex_);
  const auto found = derived_.find(name);
  return found == derived_.end() ? nullptr : found->second;
}

void Storage::keep_derived(const std::string& name, std::shared_ptr<DerivedData> data) {
  std::lock_guard<std::mutex> lock(derived_mutex_);
  derived_[name] = std::move(data);
}

std::vector<std::string> Storage::derived_names() const {
  std::lock_guard<std::mutex> lock(derived_mutex_);
  std::vector<std::string> names;
  for (const auto& [name, data] : derived_) names.push_back(name);
  return names;
}

}  // namespace fsa
