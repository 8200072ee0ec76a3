// module_weights.h: weight files <-> modules. Loading is strict (weights/weight_file.h):
// every parameter and buffer of the module must be in the file with its shape, and the
// file may hold nothing else; one error lists every problem.
#pragma once

#include <string>

#include "layers/module.h"
#include "weights/weight_file.h"

namespace fsa {

// Copies the file's tensors into `module` and returns the file's attributes.
WeightAttributes load_module_weights(Module& module, const std::string& path);
// Writes every parameter and buffer of `module` (atomically: temp file + rename).
void save_module_weights(const Module& module, const std::string& path,
                         const WeightAttributes& attributes);

}  // namespace fsa
