// host_memory.h: the CPU backend's host allocator (memory.cpp), shared by tensors and by
// kernel scratch buffers. Blocks of 64 KiB and more are cut from large segments that stay
// when freed: a request takes the front of the smallest free range that fits, and freed
// neighbours merge again (host_arena.h). So a training or attack loop stops paying for mmap,
// page faults and zeroing after its first iteration, and holds little beyond its peak in use.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fsa {

// 64-byte aligned memory (one cache line, enough for AVX-512 loads); throws fsa::Error
// when the system has none left.
void* host_allocate(size_t bytes);
// Returns a block from host_allocate; `bytes` is the size it was allocated with.
void host_free(void* data, size_t bytes) noexcept;
// Gives back every segment with nothing in use (for tests, and for callers that want the
// memory back).
void host_release_cached() noexcept;
// Bytes currently held free in segments, not in use.
size_t host_cached_bytes() noexcept;

// What the allocator hands out, in bytes of its size classes (a large request served with a
// whole free range counts the whole range): in use now, the most in use at once since the
// last reset, free in segments (cached), held (taken from the system and not given back: in use
// plus cached), and the most held at once since the last reset. `held` is the allocator's share
// of the resident memory (less the pages never touched), peak_held its share of the peak.
struct HostMemoryStats {
  size_t in_use = 0;
  size_t peak_in_use = 0;
  size_t cached = 0;
  size_t held = 0;
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
