// gemm_micro_kernel.h: the register-tile kernels of the packed GEMM (gemm_packed.cpp) and
// the direct convolution (conv_packed.cpp), and the run-time choice among them. A
// micro-kernel computes one full tile of mr x nr values of C from a packed A panel
// (depth x mr, depth-major) and nr-wide rows of B:
//   c[i * ldc + j] (+)= sum over d of a[d * mr + i] * b_d[j],  i < mr, j < nr,
// where b_d = b + d * nr for a packed B panel (run), or b + b_offsets[d] for rows read in
// place (run_indirect, run_gathered; the rows need no alignment). Rows read in place may
// come in two halves: b_d[j] for j >= nr / 2 is read at b_d + b_split + (j - nr / 2), so
// that one tile can cover two runs of nr / 2 positions that are not adjacent (b_split =
// nr / 2 for whole rows). A panels and packed B panels are 64-byte aligned; c need not be.
// run_gathered reads A in place as well: the column of depth d starts at a + a_offsets[d], its mr
// values lda apart, so a[d * mr + i] above becomes a[a_offsets[d] + i * lda].
#pragma once

#include <cstdint>
#include <vector>

namespace fsa {

using MicroKernelFn = void (*)(int64_t depth, const float* a, const float* b, float* c, int64_t ldc,
                               bool accumulate);
using IndirectMicroKernelFn = void (*)(int64_t depth, const float* a, const float* b,
                                       const int64_t* b_offsets, int64_t b_split, float* c,
                                       int64_t ldc, bool accumulate);
using GatheredMicroKernelFn = void (*)(int64_t depth, const float* a, const int64_t* a_offsets,
                                       int64_t lda, const float* b, const int64_t* b_offsets,
                                       int64_t b_split, float* c, int64_t ldc, bool accumulate);

struct MicroKernel {
  const char* name;    // e.g. "avx512_12x32"
  const char* family;  // the instruction set: kernels of one family share nr
  int64_t mr, nr;      // tile rows and columns
  MicroKernelFn run;
  IndirectMicroKernelFn run_indirect;
  GatheredMicroKernelFn run_gathered;
};

// Plain loops that the compiler vectorises for whatever the build targets; runs anywhere.
MicroKernel portable_micro_kernel();

// The kernels that need instruction-set extensions and that this CPU supports, fastest
// family first (gemm_micro_kernel_x86.cpp: AVX-512, AVX2+FMA; other processors: none).
std::vector<MicroKernel> extension_micro_kernels();

// Every kernel this CPU can run, fastest family first; the portable kernel is last.
const std::vector<MicroKernel>& supported_micro_kernels();

// `count` rows or columns rounded up to whole micro-panels `width` wide (mr or nr).
inline int64_t round_up_to_panels(int64_t count, int64_t width) {
  return (count + width - 1) / width * width;
}

// The kernel for a product with `rows` rows: from the fastest family this CPU supports, the
// tallest tile unless a shorter one wastes clearly fewer padded rows (64 rows: 8 x 32 rather
// than 12 x 32, which would compute 72).
const MicroKernel& micro_kernel_for(int64_t rows);

}  // namespace fsa
