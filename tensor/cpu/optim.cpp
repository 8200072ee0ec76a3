// optim.cpp: the optimizer updates, SGD and Adam, exactly as documented in tensor/params.h.
// NOTE: the one documented exception to "kernels write outputs": these update param and
// their state buffers (velocity; m and v) in place. The arithmetic runs in double.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dispatch.h"

namespace fsa {

namespace {

void check_update_operand(const char* op, const char* name, const Tensor& param,
                          const Tensor& operand) {
  FSA_CHECK(operand.defined(), "[", op, "] '", name, "' is undefined for param ", param.shape());
  FSA_CHECK(operand.shape() == param.shape() && operand.dtype() == param.dtype(), "[", op, "] '",
            name, "' ", operand.shape(), " ", operand.dtype(), " does not match param ",
            param.shape(), " ", param.dtype());
}

}  // namespace

// g = grad + weight_decay * p; v = momentum * v + g; step = nesterov ? g + momentum * v : v;
// p -= lr * step. Without momentum the velocity may be undefined and step = g.
void CpuBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                            const SgdParams& p) const {
  check_update_operand("sgd_update", "grad", param, grad);
  const bool use_momentum = p.momentum != 0.0;
  if (use_momentum) check_update_operand("sgd_update", "velocity", param, velocity);
  dispatch_float(param.dtype(), "sgd_update", [&]<typename T>() {
    T* ps = param.data<T>();
    const T* gs = grad.const_data<T>();
    T* vs = use_momentum ? velocity.data<T>() : nullptr;
    const int64_t n = param.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      const double g = gs[i] + p.weight_decay * ps[i];
      double step = g;
      if (use_momentum) {
        const double v = p.momentum * vs[i] + g;
        vs[i] = static_cast<T>(v);
        step = p.nesterov ? g + p.momentum * v : v;
      }
      ps[i] = static_cast<T>(ps[i] - p.lr * step);
    }
  });
}

// g = grad + weight_decay * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2, then
//   pytorch: p -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m/(1-b1^t), v_hat = v/(1-b2^t);
//   tf1:     p -= lr_t * m / (sqrt(v) + eps), lr_t = lr * sqrt(1-b2^t) / (1-b1^t).
void CpuBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& m,
                             const Tensor& v, const AdamParams& p) const {
  check_update_operand("adam_update", "grad", param, grad);
  check_update_operand("adam_update", "m", param, m);
  check_update_operand("adam_update", "v", param, v);
  FSA_CHECK(p.step >= 1, "[adam_update] step counts from 1, got ", p.step);
  const double t = static_cast<double>(p.step);
  const double correction1 = 1.0 - std::pow(p.beta1, t);
  const double correction2 = 1.0 - std::pow(p.beta2, t);
  const double lr_t = p.lr * std::sqrt(correction2) / correction1;
  dispatch_float(param.dtype(), "adam_update", [&]<typename T>() {
    T* ps = param.data<T>();
    const T* gs = grad.const_data<T>();
    T* ms = m.data<T>();
    T* vs = v.data<T>();
    const int64_t n = param.numel();
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      const double g = gs[i] + p.weight_decay * ps[i];
      const double m_i = p.beta1 * ms[i] + (1.0 - p.beta1) * g;
      const double v_i = p.beta2 * vs[i] + (1.0 - p.beta2) * g * g;
      ms[i] = static_cast<T>(m_i);
      vs[i] = static_cast<T>(v_i);
      double step = 0.0;
      if (p.form == AdamForm::pytorch) {
        step = p.lr * (m_i / correction1) / (std::sqrt(v_i / correction2) + p.eps);
      } else {
        step = lr_t * m_i / (std::sqrt(v_i) + p.eps);
      }
      ps[i] = static_cast<T>(ps[i] - step);
    }
  });
}

}  // namespace fsa
