// weight_file.cpp: reading, atomic writing and strict matching of fsa weight files
// (layout in docs/weights-format.md). All HDF5 access goes through Hdf5File.
#include "weights/weight_file.h"

#include <filesystem>
#include <sstream>

#include "tensor/atomic_write.h"
#include "weights/hdf5_file.h"

namespace fsa {
namespace {

std::string tensor_dataset_path(const std::string& name) {
  return std::string(kWeightTensorGroup) + "/" + name;
}

void check_tensor_name(const std::string& name, const std::string& path) {
  FSA_CHECK(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
            "[write_weight_file] invalid tensor name '", name, "' for '", path,
            "': names are module paths such as layer1.0.conv1.weight, without '/'");
}

void check_format(const Hdf5File& file) {
  FSA_CHECK(file.has_attribute("format"), "[read_weight_file] '", file.path(),
            "' is not an fsa weight file: no root attribute 'format'");
  const std::string format = file.read_string_attribute("format");
  FSA_CHECK(format == kWeightFormatName, "[read_weight_file] '", file.path(), "' has format '",
            format, "', expected '", kWeightFormatName, "'");
  FSA_CHECK(file.has_attribute("format_version"), "[read_weight_file] '", file.path(),
            "' has no root attribute 'format_version'");
  const std::vector<double> version = file.read_numeric_attribute("format_version");
  FSA_CHECK(version.size() == 1 && version[0] == static_cast<double>(kWeightFormatVersion),
            "[read_weight_file] '", file.path(), "' has an unsupported format_version (this build ",
            "reads version ", kWeightFormatVersion, ")");
}

std::string optional_string(const Hdf5File& file, const char* name) {
  return file.has_attribute(name) ? file.read_string_attribute(name) : std::string();
}

std::vector<double> optional_numbers(const Hdf5File& file, const char* name) {
  return file.has_attribute(name) ? file.read_numeric_attribute(name) : std::vector<double>();
}

WeightAttributes read_attributes(const Hdf5File& file) {
  WeightAttributes attributes;
  attributes.architecture = optional_string(file, "architecture");
  attributes.source = optional_string(file, "source");
  attributes.input_range = optional_string(file, "input_range");
  attributes.mean = optional_numbers(file, "mean");
  attributes.stddev = optional_numbers(file, "std");
  attributes.channel_order = optional_string(file, "channel_order");
  return attributes;
}

void write_attributes(Hdf5File& file, const WeightAttributes& attributes) {
  file.write_string_attribute("format", kWeightFormatName);
  file.write_integer_attribute("format_version", kWeightFormatVersion);
  const std::pair<const char*, const std::string*> strings[] = {
      {"architecture", &attributes.architecture},
      {"source", &attributes.source},
      {"input_range", &attributes.input_range},
      {"channel_order", &attributes.channel_order}};
  for (const auto& [name, value] : strings) {
    if (!value->empty()) file.write_string_attribute(name, *value);
  }
  if (!attributes.mean.empty()) file.write_float_attribute("mean", attributes.mean);
  if (!attributes.stddev.empty()) file.write_float_attribute("std", attributes.stddev);
}

}  // namespace

WeightFile read_weight_file(const std::string& path) {
  const Hdf5File file = Hdf5File::open_read(path);
  check_format(file);
  WeightFile result;
  result.path = path;
  result.attributes = read_attributes(file);
  const std::string prefix = std::string(kWeightTensorGroup) + "/";
  for (const std::string& dataset : file.list_datasets("/")) {
    if (!dataset.starts_with(prefix)) continue;
    result.tensors.emplace(dataset.substr(prefix.size()), file.read_tensor(dataset));
  }
  return result;
}

void write_weight_file(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const WeightAttributes& attributes) {
  for (const auto& [name, tensor] : tensors) check_tensor_name(name, path);
  write_atomically(path, "write_weight_file", [&](const std::string& temporary) {
    Hdf5File file = Hdf5File::create(temporary);
    write_attributes(file, attributes);
    for (const auto& [name, tensor] : tensors) file.write_tensor(tensor_dataset_path(name), tensor);
    file.close();
  });
}

std::map<std::string, Tensor> load_strict(const std::map<std::string, Shape>& expected,
                                          const WeightFile& file) {
  std::vector<std::string> missing, unexpected, misshaped;
  std::map<std::string, Tensor> matched;
  for (const auto& [name, shape] : expected) {
    const auto found = file.tensors.find(name);
    if (found == file.tensors.end()) {
      missing.push_back(concat_message(name, " (model expects ", shape, ")"));
    } else if (found->second.shape() != shape) {
      misshaped.push_back(
          concat_message(name, ": model expects ", shape, ", file has ", found->second.shape()));
    } else {
      matched.emplace(name, found->second);
    }
  }
  for (const auto& [name, tensor] : file.tensors) {
    if (!expected.contains(name)) {
      unexpected.push_back(concat_message(name, " (file has ", tensor.shape(), ")"));
    }
  }
  if (missing.empty() && unexpected.empty() && misshaped.empty()) return matched;

  std::ostringstream message;
  message << "[load_strict] weight file '" << file.path << "' (architecture '"
          << file.attributes.architecture << "') does not match the model: " << missing.size()
          << " missing, " << unexpected.size() << " unexpected, " << misshaped.size()
          << " mis-shaped";
  for (const std::string& line : missing) message << "\n  missing: " << line;
  for (const std::string& line : unexpected) message << "\n  unexpected: " << line;
  for (const std::string& line : misshaped) message << "\n  mis-shaped: " << line;
  throw Error(message.str());
}

std::map<std::string, Tensor> load_strict(const std::map<std::string, Shape>& expected,
                                          const std::string& path) {
  return load_strict(expected, read_weight_file(path));
}

}  // namespace fsa
