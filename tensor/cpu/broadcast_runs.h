// broadcast_runs.h: a NumPy broadcast walked as runs. The output (row-major) is cut into
// runs of `length()` consecutive elements, the longest trailing block of axes over which
// every operand is either contiguous (the same extents as the output: step 1) or a single
// repeated value (extent 1: step 0). Per run, each operand's offset is computed once, so the
// loop inside a run is a plain, vectorisable loop. Used by elementwise.cpp and reduce.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/broadcast.h"
#include "tensor/shape.h"

namespace fsa {

class BroadcastRuns {
 public:
  // `operands` must broadcast to `output`.
  BroadcastRuns(const Shape& output, const std::vector<Shape>& operands) {
    const int64_t ndim = output.ndim();
    std::vector<int64_t> steps(operands.size(), -1);  // -1: not fixed yet
    for (int64_t axis = ndim - 1; axis >= 0; --axis) {
      if (output[axis] == 1) continue;  // an extent-1 axis changes nothing
      bool fits = true;
      std::vector<int64_t> axis_steps(operands.size());
      for (size_t k = 0; k < operands.size(); ++k) {
        const int64_t lead = ndim - operands[k].ndim();
        const int64_t extent = axis >= lead ? operands[k][axis - lead] : 1;
        axis_steps[k] = extent == 1 ? 0 : 1;
        if (steps[k] != -1 && steps[k] != axis_steps[k]) fits = false;
      }
      if (!fits) break;
      steps = axis_steps;
      length_ *= output[axis];
    }
    for (size_t k = 0; k < operands.size(); ++k) {
      steps_.push_back(steps[k] == -1 ? 0 : steps[k]);
      indexers_.emplace_back(operands[k], output);
    }
    count_ = length_ > 0 ? output.numel() / length_ : 0;
  }

  int64_t length() const { return length_; }  // elements per run
  int64_t count() const { return count_; }    // runs
  int64_t step(size_t operand) const { return steps_[operand]; }
  // The offset in `operand` of output element `first` (the start of a run).
  int64_t offset(size_t operand, int64_t first) const { return indexers_[operand](first); }

 private:
  int64_t length_ = 1, count_ = 0;
  std::vector<int64_t> steps_;
  std::vector<BroadcastIndexer> indexers_;
};

}  // namespace fsa
