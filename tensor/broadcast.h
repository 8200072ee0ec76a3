// broadcast.h: index arithmetic for NumPy broadcasting, shared by the backends.
// BroadcastIndexer maps a flat index of the output shape to the flat index of an input
// whose shape broadcasts to it (extent-1 and missing leading dimensions get stride 0).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/shape.h"

namespace fsa {

class BroadcastIndexer {
 public:
  BroadcastIndexer(const Shape& input, const Shape& output) : out_dims_(output.dims()) {
    const int64_t lead = output.ndim() - input.ndim();
    const std::vector<int64_t> in_strides = input.strides();
    strides_.assign(out_dims_.size(), 0);
    for (int64_t i = 0; i < input.ndim(); ++i) {
      if (input[i] != 1)
        strides_[static_cast<size_t>(lead + i)] = in_strides[static_cast<size_t>(i)];
    }
  }

  int64_t operator()(int64_t flat) const {
    int64_t index = 0;
    for (int64_t axis = static_cast<int64_t>(out_dims_.size()) - 1; axis >= 0; --axis) {
      const int64_t extent = out_dims_[static_cast<size_t>(axis)];
      index += (flat % extent) * strides_[static_cast<size_t>(axis)];
      flat /= extent;
    }
    return index;
  }

 private:
  std::vector<int64_t> out_dims_;
  std::vector<int64_t> strides_;
};

}  // namespace fsa
