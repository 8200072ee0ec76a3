// labels.h: validation shared by the classification losses: logits (N,M) against int32
// class labels (N) with every value in [0, M).
#pragma once

#include "tensor/tensor.h"

namespace fsa {

// Throws naming `op`, the shapes and, for a bad value, the sample and its label.
void check_logits_and_labels(const char* op, const Tensor& logits, const Tensor& labels);

}  // namespace fsa
