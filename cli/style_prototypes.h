// style_prototypes.h: the style prototypes of `fsa attack fi` (and `fsa gradcheck fi`):
// a seeded choice of k images per class from the CIFAR-10 training split, encoded at the
// attack's layer (attack/style_interpolation.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attack/style_interpolation.h"
#include "layers/module.h"

namespace fsa::cli {

// The labels of every record of a CIFAR-10 binary file (read without the pixels).
std::vector<int32_t> read_cifar10_labels(const std::string& path);

// k = per_class prototypes per class from the training split in `train_dir`
// (data_batch_{1..5}.bin), chosen by choose_prototype_indices(seed); their records are
// indices into the split (0..49999). The images go to the encoder as `dtype` on `device`.
StylePrototypes training_style_prototypes(Module& encoder, const std::string& train_dir,
                                          int64_t per_class, uint64_t seed,
                                          Device device = Device::cpu, DType dtype = DType::f32);

}  // namespace fsa::cli
