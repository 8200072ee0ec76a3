// loss.cpp: per-sample classification losses of logits (N,M) and int32 labels (N):
// softmax cross-entropy (stable log-sum-exp, in double) and the Carlini-Wagner margin
// hinge of tensor/params.h. Each returns or takes per-sample values (N).
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

// Labels are validated by the op; this cheap re-check keeps a bad label from reading out of
// bounds. Runs before any parallel loop (no throwing inside OpenMP).
void check_labels_in_range(const char* op, const Tensor& labels, int64_t classes) {
  const int32_t* values = labels.const_data<int32_t>();
  for (int64_t n = 0; n < labels.numel(); ++n) {
    FSA_CHECK(values[n] >= 0 && values[n] < classes, "[", op, "] label ", values[n], " of sample ",
              n, " is outside [0, ", classes, ")");
  }
}

// Untargeted margins take top_k of the (classes - 1) wrong logits: a cheap re-check of the op.
void check_top_k(const char* op, const CwMarginParams& p, int64_t classes) {
  FSA_CHECK(classes >= 2 && (p.targeted || (p.top_k >= 1 && p.top_k < classes)), "[", op,
            "] top_k = ", p.top_k, " is out of range for ", classes, " classes");
}

// log(sum_j exp(z_j)) of one row, shifted by its maximum so no exp overflows.
template <typename T>
double log_sum_exp(const T* row, int64_t classes) {
  const double shift = *std::max_element(row, row + classes);
  double total = 0.0;
  for (int64_t j = 0; j < classes; ++j) total += std::exp(row[j] - shift);
  return shift + std::log(total);
}

// The wrong classes of one row (every j != label) ordered by logit, largest first;
// NOTE: ties are broken by the lower index first, so the choice is deterministic.
template <typename T>
std::vector<int64_t> wrong_classes_by_logit(const T* row, int64_t classes, int64_t label,
                                            int64_t keep) {
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(classes - 1));
  for (int64_t j = 0; j < classes; ++j)
    if (j != label) order.push_back(j);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), [row](int64_t i, int64_t j) {
    return row[i] > row[j] || (row[i] == row[j] && i < j);
  });
  order.resize(static_cast<size_t>(keep));
  return order;
}

// One active hinge max(0, z_up - z_down + kappa) of a CW margin: its gradient is +1 on
// z_up and -1 on z_down while the hinge is positive (0 at the kink, as relu).
struct Hinge {
  int64_t up, down;
};

// The hinges of one sample's CW margin.
//   untargeted: up = y, down = each of the top_k largest wrong logits;
//   targeted (y is the target): up = the largest wrong logit, down = y.
template <typename T>
std::vector<Hinge> cw_hinges(const T* row, int64_t classes, int64_t label,
                             const CwMarginParams& p) {
  std::vector<Hinge> hinges;
  if (p.targeted) {
    const int64_t best_wrong = wrong_classes_by_logit(row, classes, label, 1).front();
    hinges.push_back({best_wrong, label});
  } else {
    for (int64_t wrong : wrong_classes_by_logit(row, classes, label, p.top_k))
      hinges.push_back({label, wrong});
  }
  return hinges;
}

template <typename T>
double hinge_value(const T* row, const Hinge& hinge, double kappa) {
  return static_cast<double>(row[hinge.up]) - static_cast<double>(row[hinge.down]) + kappa;
}

}  // namespace

Tensor CpuBackend::softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels) const {
  const int64_t samples = logits.dim(0), classes = logits.dim(1);
  check_labels_in_range("softmax_cross_entropy_forward", labels, classes);
  Tensor loss = Tensor::empty(Shape{samples}, logits.dtype());
  dispatch_float(logits.dtype(), "softmax_cross_entropy_forward", [&]<typename T>() {
    const T* z = logits.const_data<T>();
    const int32_t* y = labels.const_data<int32_t>();
    T* out = loss.data<T>();
#pragma omp parallel for if (samples * classes > 32768)
    for (int64_t n = 0; n < samples; ++n) {
      const T* row = z + n * classes;
      out[n] = static_cast<T>(log_sum_exp(row, classes) - row[y[n]]);
    }
  });
  return loss;
}

// d loss_n / d z_nj = softmax(z_n)_j - [j == y_n], scaled by dy_n.
Tensor CpuBackend::softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                                  const Tensor& dy) const {
  const int64_t samples = logits.dim(0), classes = logits.dim(1);
  check_labels_in_range("softmax_cross_entropy_backward", labels, classes);
  Tensor dx = Tensor::empty(logits.shape(), logits.dtype());
  dispatch_float(logits.dtype(), "softmax_cross_entropy_backward", [&]<typename T>() {
    const T* z = logits.const_data<T>();
    const int32_t* y = labels.const_data<int32_t>();
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for if (samples * classes > 32768)
    for (int64_t n = 0; n < samples; ++n) {
      const T* row = z + n * classes;
      const double lse = log_sum_exp(row, classes);
      for (int64_t j = 0; j < classes; ++j) {
        const double target = j == y[n] ? 1.0 : 0.0;
        dxs[n * classes + j] = static_cast<T>(dys[n] * (std::exp(row[j] - lse) - target));
      }
    }
  });
  return dx;
}

Tensor CpuBackend::cw_margin_forward(const Tensor& logits, const Tensor& labels,
                                     const CwMarginParams& p) const {
  const int64_t samples = logits.dim(0), classes = logits.dim(1);
  check_labels_in_range("cw_margin_forward", labels, classes);
  check_top_k("cw_margin_forward", p, classes);
  Tensor loss = Tensor::empty(Shape{samples}, logits.dtype());
  dispatch_float(logits.dtype(), "cw_margin_forward", [&]<typename T>() {
    const T* z = logits.const_data<T>();
    const int32_t* y = labels.const_data<int32_t>();
    T* out = loss.data<T>();
#pragma omp parallel for if (samples * classes > 32768)
    for (int64_t n = 0; n < samples; ++n) {
      const T* row = z + n * classes;
      double total = 0.0;
      for (const Hinge& hinge : cw_hinges(row, classes, y[n], p))
        total += std::max(0.0, hinge_value(row, hinge, p.kappa));
      out[n] = static_cast<T>(total);
    }
  });
  return loss;
}

Tensor CpuBackend::cw_margin_backward(const Tensor& logits, const Tensor& labels, const Tensor& dy,
                                      const CwMarginParams& p) const {
  const int64_t samples = logits.dim(0), classes = logits.dim(1);
  check_labels_in_range("cw_margin_backward", labels, classes);
  check_top_k("cw_margin_backward", p, classes);
  Tensor dx = Tensor::zeros(logits.shape(), logits.dtype());
  dispatch_float(logits.dtype(), "cw_margin_backward", [&]<typename T>() {
    const T* z = logits.const_data<T>();
    const int32_t* y = labels.const_data<int32_t>();
    const T* dys = dy.const_data<T>();
    T* dxs = dx.data<T>();
#pragma omp parallel for if (samples * classes > 32768)
    for (int64_t n = 0; n < samples; ++n) {
      const T* row = z + n * classes;
      T* drow = dxs + n * classes;
      for (const Hinge& hinge : cw_hinges(row, classes, y[n], p)) {
        if (hinge_value(row, hinge, p.kappa) <= 0.0) continue;
        drow[hinge.up] += dys[n];
        drow[hinge.down] -= dys[n];
      }
    }
  });
  return dx;
}

}  // namespace fsa
