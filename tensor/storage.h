// storage.h: a reference-counted block of memory on one device. Tensors share a Storage
// through std::shared_ptr; the block is returned to its device's backend when the last
// tensor that uses it goes away. A version counts the times a writable pointer to the block
// was handed out, so that data derived from the contents (a convolution's transformed
// filters) can be kept with the storage and recomputed only after a write.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tensor/device.h"

namespace fsa {

// Data computed from a storage's contents and kept with it; valid while the storage's
// version equals `version`.
struct DerivedData {
  virtual ~DerivedData() = default;
  uint64_t version = 0;
};

class Storage {
 public:
  Storage(Device device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  // Incremented by every writable access (Tensor::data, Tensor::raw_data); reads through
  // Tensor::const_data leave it alone.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  void mark_modified() { version_.fetch_add(1, std::memory_order_acq_rel); }

  // Derived data kept under `name` (null if none); it lives as long as the storage.
  std::shared_ptr<DerivedData> find_derived(const std::string& name) const;
  void keep_derived(const std::string& name, std::shared_ptr<DerivedData> data);
  std::vector<std::string> derived_names() const;  // what is kept (tests, inspection)

 private:
  Device device_;
  size_t bytes_;
  void* data_ = nullptr;
  std::atomic<uint64_t> version_{0};
  mutable std::mutex derived_mutex_;
  std::map<std::string, std::shared_ptr<DerivedData>> derived_;
};

}  // namespace fsa
