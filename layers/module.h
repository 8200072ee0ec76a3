// module.h: Module, the base of every layer and model. A module owns named parameters
// (trained), named buffers (state such as batch-norm running statistics) and named child
// modules; paths join names with dots ("layer1.0.conv1.weight", PyTorch's convention), so
// weight files map one-to-one. Modules hold no math: forward() calls autograd ops.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Single-input modules override this; models with other signatures add their own.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  // Parameters then buffers: everything a weight file stores.
  NamedTensors named_tensors() const;
  std::vector<Tensor> parameters() const;

  // Replaces the value of the parameter or buffer at `path` (same shape) in place.
  void assign(const std::string& path, const Tensor& value);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Marks every parameter as requiring (or not) a gradient: frozen encoders say false.
  void requires_grad(bool on);
  // Moves parameters and buffers to `device`.
  void to(Device device);
  void to(DType dtype);

 protected:
  // Registration stores the address of the member, so a module must not be moved.
  // A child registered under the empty name shares its parent's prefix.
  void register_parameter(const std::string& name, Tensor* slot);
  void register_buffer(const std::string& name, Tensor* slot);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    children_.emplace_back(name, child);
    return child;
  }

 private:
  struct Slot {
    std::string name;
    Tensor* tensor;
  };
  void collect(const std::string& prefix, bool parameters, bool buffers, NamedTensors& out) const;
  Tensor* find_slot(const std::string& path);
  void for_each_slot(const std::function<void(Tensor&)>& fn);

  std::vector<Slot> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace fsa
