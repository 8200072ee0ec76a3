// avx512_transpose.h: a 16 x 16 float transpose in AVX-512 registers, for the x86 files that
// compile functions for AVX-512 through a target attribute (winograd_filters_x86.cpp,
// channels_last_x86.cpp). Include it only from such files.
#pragma once

#include <immintrin.h>

// GCC 12's shuffle intrinsics fill the result they start from with _mm512_undefined_ps
// (`__m512 __Y = __Y;`), which -Wuninitialized and -Wmaybe-uninitialized report once they
// are inlined into the including file's functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace fsa {

// rows[r][j] becomes rows[j][r]: pairs of rows interleaved by floats, then by pairs of
// floats, then 128-bit lanes gathered across groups of 4 rows.
__attribute__((target("avx512f"))) inline void transpose_16x16(__m512 rows[16]) {
  __m512 by_float[16], by_pair[16];
  for (int k = 0; k < 8; ++k) {
    by_float[2 * k] = _mm512_unpacklo_ps(rows[2 * k], rows[2 * k + 1]);
    by_float[2 * k + 1] = _mm512_unpackhi_ps(rows[2 * k], rows[2 * k + 1]);
  }
  // by_pair[4 k + j], 128-bit lane l: rows 4 k .. 4 k + 3 of column 4 l + j.
  for (int k = 0; k < 4; ++k) {
    const __m512d a0 = _mm512_castps_pd(by_float[4 * k]);
    const __m512d a1 = _mm512_castps_pd(by_float[4 * k + 1]);
    const __m512d a2 = _mm512_castps_pd(by_float[4 * k + 2]);
    const __m512d a3 = _mm512_castps_pd(by_float[4 * k + 3]);
    by_pair[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    by_pair[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    by_pair[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    by_pair[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  // Column 4 l + j: lane l of by_pair[j], by_pair[4 + j], by_pair[8 + j], by_pair[12 + j].
  constexpr int kEvenLanes = 0x88, kOddLanes = 0xdd;  // lanes 0, 2 (1, 3) of each operand
  for (int j = 0; j < 4; ++j) {
    const __m512 top_even = _mm512_shuffle_f32x4(by_pair[j], by_pair[4 + j], kEvenLanes);
    const __m512 top_odd = _mm512_shuffle_f32x4(by_pair[j], by_pair[4 + j], kOddLanes);
    const __m512 bottom_even = _mm512_shuffle_f32x4(by_pair[8 + j], by_pair[12 + j], kEvenLanes);
    const __m512 bottom_odd = _mm512_shuffle_f32x4(by_pair[8 + j], by_pair[12 + j], kOddLanes);
    rows[j] = _mm512_shuffle_f32x4(top_even, bottom_even, kEvenLanes);
    rows[8 + j] = _mm512_shuffle_f32x4(top_even, bottom_even, kOddLanes);
    rows[4 + j] = _mm512_shuffle_f32x4(top_odd, bottom_odd, kEvenLanes);
    rows[12 + j] = _mm512_shuffle_f32x4(top_odd, bottom_odd, kOddLanes);
  }
}

}  // namespace fsa
