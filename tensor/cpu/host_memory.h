// host_memory.h: the CPU backend's host allocator (memory.cpp), shared by tensors and by
// kernel scratch buffers. Blocks of 64 KiB and more are cached when freed and handed out
// again (the smallest that fits, if less than twice the request), so a training or attack
// loop that allocates the same shapes every iteration stops paying for mmap, page faults and
// zeroing after the first one, and holds few blocks beyond those it uses at once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fsa {

// 64-byte aligned memory (one cache line, enough for AVX-512 loads); throws fsa::Error
// when the system has none left.
void* host_allocate(size_t bytes);
// Returns a block from host_allocate; `bytes` is the size it was allocated with.
void host_free(void* data, size_t bytes) noexcept;
// Frees every cached block (for tests, and for callers that want the memory back).
void host_release_cached() noexcept;
// Bytes currently held in the cache, not in use.
size_t host_cached_bytes() noexcept;

// What the allocator hands out, in bytes of its size classes: in use now, the most in use
// at once since the last reset, held in the cache, and the most held at once (in use plus
// cached) since the last reset. The resident memory of the process is at least
// in_use + cached; peak_held is the allocator's share of its peak.
struct HostMemoryStats {
  size_t in_use = 0;
  size_t peak_in_use = 0;
  size_t cached = 0;
  size_t peak_held = 0;
};
HostMemoryStats host_memory_stats() noexcept;
// Starts new peaks from what is in use and held now.
void host_reset_peak() noexcept;

// A kernel's scratch array of `count` values, from the host allocator; not initialised.
template <typename T>
class ScratchBuffer {
 public:
  explicit ScratchBuffer(int64_t count)
      : bytes_(static_cast<size_t>(count) * sizeof(T)),
        data_(static_cast<T*>(bytes_ > 0 ? host_allocate(bytes_) : nullptr)) {}
  ~ScratchBuffer() {
    if (data_ != nullptr) host_free(data_, bytes_);
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  T* get() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

}  // namespace fsa
