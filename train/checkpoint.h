// checkpoint.h: training checkpoints for exact resume: the model's parameters and buffers,
// the optimizer's state, the number of completed steps and the run's configuration (opaque
// text the command compares on resume). Everything else a run draws (data order, crops,
// attack noise) is a pure function of (seed, step), so (step, configuration) fixes it.
// One HDF5 file, written to a temporary file beside the target and renamed over it:
//   /model/<module path>, /optimizer/<slot name>          float32 datasets
//   root attributes: format "fsa-training-checkpoint", format_version 1, kind, step,
//   configuration, and one int64 attribute "counter:<name>" per optimizer counter.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "autograd/optim/optimizer.h"
#include "layers/module.h"

namespace fsa {

inline constexpr const char* kCheckpointFormatName = "fsa-training-checkpoint";
inline constexpr int64_t kCheckpointFormatVersion = 1;

struct TrainingCheckpoint {
  std::string path;           // where it was read from (error messages)
  std::string kind;           // what was trained, e.g. "decoder" or "classifier"
  int64_t step = 0;           // completed optimisation steps
  std::string configuration;  // the run's options as the command wrote them
  std::map<std::string, Tensor> model;
  OptimizerState optimizer;
};

// Writes the checkpoint of `model` and `optimizer` after `step` steps, atomically.
void save_training_checkpoint(const std::string& path, const std::string& kind, int64_t step,
                              const std::string& configuration, const Module& model,
                              const Optimizer& optimizer);

// Reads a checkpoint; a missing file, another format or version is an fsa::Error naming it.
TrainingCheckpoint read_training_checkpoint(const std::string& path);

// Puts the checkpoint's tensors into `model` (strictly: the same names and shapes, one error
// listing every difference) and its state into `optimizer`.
void restore_training_checkpoint(const TrainingCheckpoint& checkpoint, Module& model,
                                 Optimizer& optimizer);

}  // namespace fsa
