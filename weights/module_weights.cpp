// module_weights.cpp: strict loading into, and saving of, a module's named tensors.
#include "weights/module_weights.h"

namespace fsa {

WeightAttributes load_module_weights(Module& module, const std::string& path) {
  const WeightFile file = read_weight_file(path);
  std::map<std::string, Shape> expected;
  for (const auto& [name, tensor] : module.named_tensors()) expected[name] = tensor.shape();
  for (const auto& [name, tensor] : load_strict(expected, file)) module.assign(name, tensor);
  return file.attributes;
}

void save_module_weights(const Module& module, const std::string& path,
                         const WeightAttributes& attributes) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : module.named_tensors()) tensors[name] = tensor;
  write_weight_file(path, tensors, attributes);
}

}  // namespace fsa
