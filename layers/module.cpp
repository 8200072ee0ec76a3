// module.cpp: traversal of the module tree: naming, device moves, train/eval.
#include "layers/module.h"

#include "autograd/variable.h"

namespace fsa {

Tensor Module::forward(const Tensor&) {
  fail("[module] this module has no single-input forward()");
}

void Module::collect(const std::string& prefix, bool parameters, bool buffers,
                     NamedTensors& out) const {
  if (parameters) {
    for (const Slot& slot : parameters_) out.emplace_back(prefix + slot.name, *slot.tensor);
  }
  if (buffers) {
    for (const Slot& slot : buffers_) out.emplace_back(prefix + slot.name, *slot.tensor);
  }
  for (const auto& [name, child] : children_) {
    child->collect(name.empty() ? prefix : prefix + name + ".", parameters, buffers, out);
  }
}

Module::NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

Module::NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

Module::NamedTensors Module::named_tensors() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

Tensor* Module::find_slot(const std::string& path) {
  for (std::vector<Slot>* slots : {&parameters_, &buffers_}) {
    for (Slot& slot : *slots) {
      if (slot.name == path) return slot.tensor;
    }
  }
  for (auto& [name, child] : children_) {
    if (name.empty()) {
      if (Tensor* found = child->find_slot(path)) return found;
      continue;
    }
    if (path.size() > name.size() && path.compare(0, name.size(), name) == 0 &&
        path[name.size()] == '.') {
      if (Tensor* found = child->find_slot(path.substr(name.size() + 1))) return found;
    }
  }
  return nullptr;
}

void Module::assign(const std::string& path, const Tensor& value) {
  Tensor* slot = find_slot(path);
  FSA_CHECK(slot != nullptr, "[module] no parameter or buffer named '", path, "'");
  FSA_CHECK(slot->shape() == value.shape(), "[module] '", path, "' has shape ", slot->shape(),
            ", the value has ", value.shape());
  slot->copy_from(value);
}

void Module::for_each_slot(const std::function<void(Tensor&)>& fn) {
  for (std::vector<Slot>* slots : {&parameters_, &buffers_}) {
    for (Slot& slot : *slots) {
      if (slot.tensor->defined()) fn(*slot.tensor);
    }
  }
  for (auto& [name, child] : children_) child->for_each_slot(fn);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::requires_grad(bool on) {
  for (Tensor& p : parameters()) set_requires_grad(p, on);
}

void Module::to(Device device) {
  for_each_slot([&](Tensor& t) {
    const bool marked = fsa::requires_grad(t);
    t = t.to(device);
    set_requires_grad(t, marked);
  });
}

void Module::to(DType dtype) {
  for_each_slot([&](Tensor& t) {
    const bool marked = fsa::requires_grad(t);
    t = t.to(dtype);
    set_requires_grad(t, marked);
  });
}

void Module::register_parameter(const std::string& name, Tensor* slot) {
  parameters_.push_back({name, slot});
}
void Module::register_buffer(const std::string& name, Tensor* slot) {
  buffers_.push_back({name, slot});
}

}  // namespace fsa
