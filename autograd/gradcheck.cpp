// gradcheck.cpp: analytic gradients from the engine against central differences. Leaves on
// the host are perturbed in place; elsewhere through a host copy of the leaf.
#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "tensor/backend.h"

namespace fsa {

namespace {

double weighted_output(const std::function<Tensor()>& f, const std::vector<double>& cotangent) {
  NoGradGuard no_grad;
  const std::vector<double> y = f().to_vector();
  FSA_CHECK(y.size() == cotangent.size(), "[gradcheck] the output changed size from ",
            cotangent.size(), " to ", y.size(), " elements");
  double total = 0.0;
  for (size_t i = 0; i < y.size(); ++i) total += y[i] * cotangent[i];
  return total;
}

// Sets element `index` of `leaf` to `value`.
class ElementWriter {
 public:
  explicit ElementWriter(const Tensor& leaf) : leaf_(leaf) {
    if (leaf.device() != Device::cpu) host_ = leaf.to_vector();
  }
  double get(int64_t index) const {
    return host_.empty() ? leaf_.data<double>()[index] : host_[static_cast<size_t>(index)];
  }
  void set(int64_t index, double value) {
    if (host_.empty()) {
      leaf_.data<double>()[index] = value;
      return;
    }
    host_[static_cast<size_t>(index)] = value;
    leaf_.copy_from(Tensor::from_vector(host_, leaf_.shape(), DType::f64, Device::cpu));
  }

 private:
  Tensor leaf_;
  std::vector<double> host_;
};

std::vector<int64_t> chosen_elements(int64_t count, int64_t max_elements) {
  std::vector<int64_t> indices;
  if (max_elements < 0 || max_elements >= count) {
    for (int64_t i = 0; i < count; ++i) indices.push_back(i);
    return indices;
  }
  for (int64_t j = 0; j < max_elements; ++j) {
    // Evenly spread, first and last included.
    const int64_t i = max_elements == 1 ? 0 : j * (count - 1) / (max_elements - 1);
    if (indices.empty() || indices.back() != i) indices.push_back(i);
  }
  return indices;
}

}  // namespace

std::vector<LeafGradients> compare_gradients(const std::function<Tensor()>& f,
                                             const std::vector<Tensor>& leaves,
                                             const GradcheckSettings& settings) {
  FSA_CHECK(settings.step > 0.0, "[gradcheck] the step must be positive, got ", settings.step);
  for (const Tensor& leaf : leaves) {
    FSA_CHECK(leaf.defined() && leaf.dtype() == DType::f64 && requires_grad(leaf),
              "[gradcheck] every leaf must be a float64 tensor with requires_grad, got ",
              leaf.defined() ? leaf.shape() : Shape{});
    zero_grad(leaf);
  }
  const Tensor y = f();
  Tensor cotangent = Tensor::empty(y.shape(), DType::f64);
  backend_for(Device::cpu).fill_uniform(cotangent, -1.0, 1.0, settings.seed, 0);
  backward(y, cotangent.to(y.device()).to(y.dtype()));
  const std::vector<double> r = cotangent.to_vector();

  std::vector<LeafGradients> results;
  for (const Tensor& leaf : leaves) {
    LeafGradients g;
    g.elements = leaf.numel();
    g.indices = chosen_elements(g.elements, settings.max_elements);
    const Tensor analytic_tensor = grad(leaf);
    const std::vector<double> analytic = analytic_tensor.defined()
                                             ? analytic_tensor.to_vector()
                                             : std::vector<double>(static_cast<size_t>(g.elements));
    for (double a : analytic) g.scale = std::max(g.scale, std::abs(a));
    ElementWriter writer(leaf);
    for (int64_t index : g.indices) {
      const double saved = writer.get(index);
      writer.set(index, saved + settings.step);
      const double plus = weighted_output(f, r);
      writer.set(index, saved - settings.step);
      const double minus = weighted_output(f, r);
      writer.set(index, saved);
      g.analytic.push_back(analytic[static_cast<size_t>(index)]);
      g.numeric.push_back((plus - minus) / (2.0 * settings.step));
    }
    results.push_back(std::move(g));
  }
  return results;
}

GradcheckWorst worst_error(const LeafGradients& g) {
  GradcheckWorst worst;
  worst.checked = static_cast<int64_t>(g.indices.size());
  double scale = g.scale;
  for (double n : g.numeric) scale = std::max(scale, std::abs(n));
  const double floor = std::max(1e-3 * scale, 1e-300);
  for (size_t j = 0; j < g.indices.size(); ++j) {
    const double a = g.analytic[j], n = g.numeric[j];
    const double absolute = std::abs(a - n);
    const double relative = absolute / std::max({std::abs(a), std::abs(n), floor});
    worst.absolute = std::max(worst.absolute, absolute);
    if (worst.index < 0 || relative > worst.relative || std::isnan(relative)) {
      worst.relative = relative;
      worst.index = g.indices[j];
      worst.analytic = a;
      worst.numeric = n;
    }
  }
  return worst;
}

}  // namespace fsa
