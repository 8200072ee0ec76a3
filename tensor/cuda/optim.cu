// optim.cu: SGD and Adam updates in place, one thread per parameter element, the twin of
// cpu/optim.cpp (formulas in tensor/params.h). Step-dependent scalars (Adam's bias
// corrections) are computed once on the host in double.
#include <cmath>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

// g = grad + wd p; v = momentum v + g; step = nesterov ? g + momentum v : v; p -= lr step.
// Without a velocity buffer (momentum 0) step = g.
__global__ void sgd_kernel(float* param, const float* grad, float* velocity, float lr,
                           float momentum, float weight_decay, bool nesterov, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const float g = grad[i] + weight_decay * param[i];
    float step = g;
    if (velocity != nullptr) {
      const float v = momentum * velocity[i] + g;
      velocity[i] = v;
      step = nesterov ? g + momentum * v : v;
    }
    param[i] -= lr * step;
  }
}

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= step_size m / (sqrt(v) / sqrt_bias2 + eps_scaled), where the host folded the form's
// bias corrections into step_size, sqrt_bias2 and eps.
__global__ void adam_kernel(float* param, const float* grad, float* m, float* v, float beta1,
                            float beta2, float weight_decay, float step_size, float sqrt_bias2,
                            float eps, int64_t n) {
  for (int64_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const float g = grad[i] + weight_decay * param[i];
    const float m_new = beta1 * m[i] + (1.0f - beta1) * g;
    const float v_new = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = m_new;
    v[i] = v_new;
    param[i] -= step_size * m_new / (sqrtf(v_new) / sqrt_bias2 + eps);
  }
}

}  // namespace

void CudaBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& velocity,
                             const SgdParams& p) const {
  check_cuda_f32("sgd_update", param);
  check_cuda_f32("sgd_update", grad);
  float* velocity_data = nullptr;  // as on the CPU: without momentum the buffer is untouched
  if (velocity.defined() && p.momentum != 0.0) {
    check_cuda_f32("sgd_update", velocity);
    velocity_data = velocity.data<float>();
  }
  FSA_CHECK(velocity.defined() || p.momentum == 0.0, "[sgd_update] momentum ", p.momentum,
            " needs a velocity buffer");
  const int64_t n = param.numel();
  if (n == 0) return;
  sgd_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      param.data<float>(), grad.data<float>(), velocity_data, static_cast<float>(p.lr),
      static_cast<float>(p.momentum), static_cast<float>(p.weight_decay), p.nesterov, n);
  CUDA_CHECK_LAUNCH();
}

// PyTorch: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//          (= lr m_hat / (sqrt(v_hat) + eps));
// TF-1:    p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
void CudaBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& m,
                              const Tensor& v, const AdamParams& p) const {
  check_cuda_f32("adam_update", param);
  check_cuda_f32("adam_update", grad);
  check_cuda_f32("adam_update", m);
  check_cuda_f32("adam_update", v);
  FSA_CHECK(p.step >= 1, "[adam_update] step counts from 1, got ", p.step);
  const double t = static_cast<double>(p.step);
  const double bias1 = 1.0 - std::pow(p.beta1, t), bias2 = 1.0 - std::pow(p.beta2, t);
  const bool pytorch = p.form == AdamForm::pytorch;
  const double step_size = pytorch ? p.lr / bias1 : p.lr * std::sqrt(bias2) / bias1;
  const double sqrt_bias2 = pytorch ? std::sqrt(bias2) : 1.0;
  const int64_t n = param.numel();
  if (n == 0) return;
  adam_kernel<<<grid_for(n), kBlockSize, 0, stream()>>>(
      param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(),
      static_cast<float>(p.beta1), static_cast<float>(p.beta2), static_cast<float>(p.weight_decay),
      static_cast<float>(step_size), static_cast<float>(sqrt_bias2), static_cast<float>(p.eps), n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fsa
