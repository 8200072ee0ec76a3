// checkpoint.cpp: writing, reading and restoring training checkpoints through Hdf5File.
#include "train/checkpoint.h"

#include <filesystem>

#include "tensor/atomic_write.h"
#include "weights/hdf5_file.h"
#include "weights/weight_file.h"

namespace fsa {

namespace {

constexpr const char* kModelGroup = "/model";
constexpr const char* kOptimizerGroup = "/optimizer";
constexpr const char* kCounterPrefix = "counter:";

void write_contents(Hdf5File& file, const std::string& kind, int64_t step,
                    const std::string& configuration, const Module& model,
                    const Optimizer& optimizer) {
  file.write_string_attribute("format", kCheckpointFormatName);
  file.write_integer_attribute("format_version", kCheckpointFormatVersion);
  file.write_string_attribute("kind", kind);
  file.write_integer_attribute("step", step);
  file.write_string_attribute("configuration", configuration);
  for (const auto& [name, tensor] : model.named_tensors()) {
    file.write_tensor(std::string(kModelGroup) + "/" + name, tensor);
  }
  const OptimizerState state = optimizer.state();
  for (const auto& [name, tensor] : state.tensors) {
    file.write_tensor(std::string(kOptimizerGroup) + "/" + name, tensor);
  }
  for (const auto& [name, value] : state.counters) {
    file.write_integer_attribute(kCounterPrefix + name, value);
  }
}

void check_format(const Hdf5File& file) {
  const bool ours =
      file.has_attribute("format") && file.read_string_attribute("format") == kCheckpointFormatName;
  FSA_CHECK(ours, "[checkpoint] '", file.path(), "' is not an fsa training checkpoint");
  const std::vector<double> version = file.read_numeric_attribute("format_version");
  FSA_CHECK(version.size() == 1 && version[0] == static_cast<double>(kCheckpointFormatVersion),
            "[checkpoint] '", file.path(), "' has an unsupported format_version (this build reads ",
            kCheckpointFormatVersion, ")");
}

// Datasets below `group` by their name relative to it.
std::map<std::string, Tensor> read_group(const Hdf5File& file, const std::string& group) {
  std::map<std::string, Tensor> tensors;
  const std::string prefix = group + "/";
  for (const std::string& dataset : file.list_datasets("/")) {
    if (dataset.starts_with(prefix)) {
      tensors.emplace(dataset.substr(prefix.size()), file.read_tensor(dataset));
    }
  }
  return tensors;
}

}  // namespace

void save_training_checkpoint(const std::string& path, const std::string& kind, int64_t step,
                              const std::string& configuration, const Module& model,
                              const Optimizer& optimizer) {
  FSA_CHECK(step >= 0, "[checkpoint] step must be >= 0, got ", step);
  write_atomically(path, "checkpoint", [&](const std::string& temporary) {
    Hdf5File file = Hdf5File::create(temporary);
    write_contents(file, kind, step, configuration, model, optimizer);
    file.close();
  });
}

TrainingCheckpoint read_training_checkpoint(const std::string& path) {
  FSA_CHECK(std::filesystem::is_regular_file(path), "[checkpoint] '", path, "' does not exist");
  const Hdf5File file = Hdf5File::open_read(path);
  check_format(file);
  TrainingCheckpoint checkpoint;
  checkpoint.path = path;
  checkpoint.kind = file.read_string_attribute("kind");
  checkpoint.step = static_cast<int64_t>(file.read_numeric_attribute("step").at(0));
  checkpoint.configuration = file.read_string_attribute("configuration");
  checkpoint.model = read_group(file, kModelGroup);
  checkpoint.optimizer.tensors = read_group(file, kOptimizerGroup);
  const std::string prefix = kCounterPrefix;
  for (const std::string& name : file.list_attributes()) {
    if (!name.starts_with(prefix)) continue;
    checkpoint.optimizer.counters[name.substr(prefix.size())] =
        static_cast<int64_t>(file.read_numeric_attribute(name).at(0));
  }
  return checkpoint;
}

void restore_training_checkpoint(const TrainingCheckpoint& checkpoint, Module& model,
                                 Optimizer& optimizer) {
  std::map<std::string, Shape> expected;
  for (const auto& [name, tensor] : model.named_tensors()) expected[name] = tensor.shape();
  WeightFile as_weights;
  as_weights.path = checkpoint.path;
  as_weights.tensors = checkpoint.model;
  as_weights.attributes.architecture = checkpoint.kind + " checkpoint";
  for (const auto& [name, tensor] : load_strict(expected, as_weights)) model.assign(name, tensor);
  optimizer.load_state(checkpoint.optimizer);
}

}  // namespace fsa
