// winograd_filters_x86.cpp: the Winograd filter transform with AVX-512 (compiled for it
// through a function target attribute, offered only when the CPU reports it). It takes the
// (channel, filter) pairs of a panel 16 at a time in the order of the A panels, loads each
// pair's 9 contiguous taps as one row, transposes the 16 rows in registers so that each tap
// becomes a vector over the pairs, transforms those vectors and stores each position's 16
// values with one store (the portable version gathers the taps one or two floats at a time).
// Where the weights come from memory, reading them is most of its time: docs/PERFORMANCE.md,
// change 26.
#include <immintrin.h>

#include <algorithm>

#include "tensor/cpu/avx512_transpose.h"
#include "tensor/cpu/winograd_filters.h"

namespace fsa {

namespace {

constexpr int kLanes = 16;

// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] applied to one column (or row) of 3 vectors.
struct Four {
  __m512 v0, v1, v2, v3;
};

__attribute__((target("avx512f"))) inline Four apply_g(__m512 w0, __m512 w1, __m512 w2) {
  const __m512 half = _mm512_set1_ps(0.5f);
  return {w0, _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(w0, w1), w2)),
          _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(w0, w1), w2)), w2};
}

// Four vectors `stride` floats apart, the lanes in `mask`.
__attribute__((target("avx512f"))) inline void store_four(Four values, __mmask16 mask,
                                                          int64_t stride, float* out) {
  _mm512_mask_storeu_ps(out, mask, values.v0);
  _mm512_mask_storeu_ps(out + stride, mask, values.v1);
  _mm512_mask_storeu_ps(out + 2 * stride, mask, values.v2);
  _mm512_mask_storeu_ps(out + 3 * stride, mask, values.v3);
}

// The 9 taps that start at w[at] in lanes 0..8 (the lanes after them are whatever follows in
// memory, or zero at the end of w, which holds `floats` floats).
// Whole loads: masked ones ran at half the speed here (the AMD EPYC of session 13).
__attribute__((target("avx512f"))) inline __m512 load_taps(const float* w, int64_t floats,
                                                           int64_t at) {
  return at + kLanes <= floats ? _mm512_loadu_ps(w + at) : _mm512_maskz_loadu_ps(0x1ff, w + at);
}

// Each row load also prefetches the same filter's taps this many channels on. The weights
// of the deep layers do not fit in L2 and come from memory at each call; where the channels
// lie far apart (the input gradient's layout: 9 K floats) no hardware prefetcher follows them
// (VGG-19's conv4_1 at batch 8, forward and input gradient: 9 % faster).
constexpr int64_t kChannelsAhead = 4;

inline void prefetch(const float* address) {
  _mm_prefetch(reinterpret_cast<const char*>(address), _MM_HINT_T0);
}

template <bool kFlipped>
__attribute__((target("avx512f"))) void transform_filter_panel_avx512(
    const float* w, const FilterLayout& layout, const ConvGeometry& g, int64_t mr, int64_t k0,
    int64_t position_stride, float* u) {
  const int64_t filters = std::min(mr, g.K - k0), pairs = g.C * mr, floats = g.K * g.C * 9;
  int64_t c = 0, i = 0;  // the pair of the next row: channel c, filter k0 + i
  for (int64_t first = 0; first < pairs; first += kLanes) {
    const int64_t count = std::min<int64_t>(kLanes, pairs - first);
    __m512 rows[kLanes];
    for (int64_t row = 0; row < kLanes; ++row) {
      const bool present = row < count && i < filters;
      const int64_t at = (k0 + i) * layout.output_stride + c * layout.input_stride;
      prefetch(w + std::min(at + kChannelsAhead * layout.input_stride, floats - 1));
      rows[row] = present ? load_taps(w, floats, at) : _mm512_setzero_ps();
      if (++i == mr) {
        i = 0;
        ++c;
      }
    }
    transpose_16x16(rows);  // rows[t]: tap t of the 16 pairs
    const auto tap = [&](int r, int s) { return rows[kFlipped ? 8 - (3 * r + s) : 3 * r + s]; };
    // G w, column by column: column s holds row a of G w in its value a.
    const Four g0 = apply_g(tap(0, 0), tap(1, 0), tap(2, 0));
    const Four g1 = apply_g(tap(0, 1), tap(1, 1), tap(2, 1));
    const Four g2 = apply_g(tap(0, 2), tap(1, 2), tap(2, 2));
    // (G w) G^T, row by row.
    const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1);
    float* out = u + first;
    store_four(apply_g(g0.v0, g1.v0, g2.v0), mask, position_stride, out);
    store_four(apply_g(g0.v1, g1.v1, g2.v1), mask, position_stride, out + 4 * position_stride);
    store_four(apply_g(g0.v2, g1.v2, g2.v2), mask, position_stride, out + 8 * position_stride);
    store_four(apply_g(g0.v3, g1.v3, g2.v3), mask, position_stride, out + 12 * position_stride);
  }
}

void transform_filter_panel_avx512_any(const float* w, const FilterLayout& layout,
                                       const ConvGeometry& g, int64_t mr, int64_t k0,
                                       int64_t position_stride, float* u) {
  if (layout.flipped) {
    transform_filter_panel_avx512<true>(w, layout, g, mr, k0, position_stride, u);
  } else {
    transform_filter_panel_avx512<false>(w, layout, g, mr, k0, position_stride, u);
  }
}

}  // namespace

std::vector<FilterPanelTransform> extension_filter_panel_transforms() {
  if (!__builtin_cpu_supports("avx512f")) return {};
  return {{"avx512", transform_filter_panel_avx512_any}};
}

}  // namespace fsa
