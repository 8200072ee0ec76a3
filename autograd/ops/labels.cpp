// labels.cpp: validation of logits and class labels for the classification losses.
#include "autograd/ops/labels.h"

#include "autograd/ops/common.h"

namespace fsa {

void check_logits_and_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  check_input(op, "logits", logits, 2);
  FSA_CHECK(labels.defined(), "[", op, "] labels are undefined (logits ", logits.shape(), ")");
  FSA_CHECK(labels.dtype() == DType::i32, "[", op, "] labels must be int32, got ", labels.dtype(),
            " ", labels.shape());
  FSA_CHECK(labels.ndim() == 1 && labels.dim(0) == logits.dim(0), "[", op, "] labels ",
            labels.shape(), " do not match logits ", logits.shape(), ": expected (", logits.dim(0),
            ")");
  FSA_CHECK(labels.device() == logits.device(), "[", op, "] labels on ", labels.device(),
            ", logits on ", logits.device());
  // NOTE: checked on the CPU only. Reading GPU labels back would stall every loss call (and
  // cannot be recorded in a graph); there the kernels give NaN for a label out of range.
  if (labels.device() != Device::cpu) return;
  const int64_t classes = logits.dim(1);
  const std::vector<double> values = labels.to_vector();
  for (size_t n = 0; n < values.size(); ++n) {
    FSA_CHECK(values[n] >= 0 && values[n] < static_cast<double>(classes), "[", op, "] label ",
              values[n], " of sample ", n, " is outside [0, ", classes, ") for logits ",
              logits.shape());
  }
}

}  // namespace fsa
