// gemm_packed.h: the packed, cache-blocked float32 GEMM behind gemm_f32_blocked and the
// convolutions: C (M, N) = op(A) (M, K) op(B) (K, N), written (never accumulated).
// An operand is anything that can pack a block of itself into micro-panels (GemmOperand):
// a strided matrix (StridedOperand), or, in conv.cpp, the im2col matrix of a batch of
// images, which is never materialised. The output may be split into column groups (one
// image each) and gets an optional per-row bias.
#pragma once

#include <cstdint>
#include <limits>

#include "tensor/cpu/gemm_micro_kernel.h"

namespace fsa {

// An operand seen as a matrix indexed by (index, depth): for op(A) the index is the row,
// for op(B) the column; depth runs along the inner dimension K.
class GemmOperand {
 public:
  virtual ~GemmOperand() = default;
  // Packs indices [first, first + count) x depths [d0, d0 + depth) into panels of `width`
  // indices: out[(t * depth + d) * width + u] = value(first + t * width + u, d0 + d),
  // and zero for the indices past `count` in the last panel.
  virtual void pack(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
                    float* out) const = 0;
};

// One axis of a strided matrix. Position v lies at offset (v / group) * group_stride +
// (v % group) * stride: `group` consecutive positions (one image) are `stride` apart and
// groups `group_stride` apart. An ungrouped axis has one group that never ends.
struct StridedAxis {
  int64_t stride = 1;
  int64_t group = std::numeric_limits<int64_t>::max();
  int64_t group_stride = 0;
  int64_t offset(int64_t v) const { return v / group * group_stride + v % group * stride; }
};

// value(index, depth) = data[index_axis.offset(index) + depth_axis.offset(depth)].
class StridedOperand final : public GemmOperand {
 public:
  StridedOperand(const float* data, StridedAxis index_axis, StridedAxis depth_axis)
      : data_(data), index_axis_(index_axis), depth_axis_(depth_axis) {}
  void pack(int64_t first, int64_t count, int64_t d0, int64_t depth, int64_t width,
            float* out) const override;

 private:
  const float* data_;
  StridedAxis index_axis_, depth_axis_;
};

// op(A) of a row-major A with row stride lda, and op(B) of B with row stride ldb.
StridedOperand left_operand(const float* A, int64_t lda, bool transpose_a);
StridedOperand right_operand(const float* B, int64_t ldb, bool transpose_b);

// Where C goes: C(i, j) at data[i * row_stride + columns.offset(j)], with columns.stride 1;
// plus row_bias[i] when row_bias is set.
struct GemmOutput {
  float* data;
  int64_t row_stride;
  StridedAxis columns;
  const float* row_bias = nullptr;
};

// C = op(A) op(B) (+ bias), with the given micro-kernel (by default micro_kernel_for(M)),
// on the OpenMP threads when the product is large enough to pay for them.
void gemm_packed(int64_t M, int64_t N, int64_t K, const GemmOperand& a, const GemmOperand& b,
                 const GemmOutput& c, const MicroKernel* kernel = nullptr);

}  // namespace fsa
