// random.h: a counter-based random number generator (Philox-4x32-10, Salmon et al. 2011).
// The value for element i is a pure function of (seed, offset + i), so results do not
// depend on the thread count or on the device; the CUDA kernels use the same functions.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/elementwise_math.h"  // FSA_HOST_DEVICE

namespace fsa {

struct PhiloxBlock {
  uint32_t word[4];
};

// Four 32-bit random words for `counter` under `seed` (ten rounds).
FSA_HOST_DEVICE inline PhiloxBlock philox4x32(uint64_t counter, uint64_t seed) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 53 random bits, for element `index`.
FSA_HOST_DEVICE inline double philox_uniform(uint64_t seed, uint64_t index) {
  const PhiloxBlock block = philox4x32(index, seed);
  const uint64_t bits = (static_cast<uint64_t>(block.word[0]) << 21) ^ (block.word[1] >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * 0x1.0p-53;
}

// Standard normal for element `index` (Box-Muller on two words of the same block).
FSA_HOST_DEVICE inline double philox_normal(uint64_t seed, uint64_t index) {
  const PhiloxBlock block = philox4x32(index, seed);
  const double u1 = (static_cast<double>(block.word[2]) + 1.0) * 0x1.0p-32;  // (0, 1]
  const double u2 = static_cast<double>(block.word[3]) * 0x1.0p-32;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// A seeded stream for host-side draws (shuffles, targets): call k gives element k.
class RandomStream {
 public:
  explicit RandomStream(uint64_t seed, uint64_t offset = 0) : seed_(seed), next_(offset) {}
  double uniform() { return philox_uniform(seed_, next_++); }
  double normal() { return philox_normal(seed_, next_++); }
  // Uniform integer in [0, bound).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>(uniform() * static_cast<double>(bound));
  }
  uint64_t position() const { return next_; }

 private:
  uint64_t seed_;
  uint64_t next_;
};

}  // namespace fsa
