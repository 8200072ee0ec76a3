// hdf5_file.h: a small RAII wrapper over the HDF5 C API, enough for the weight format:
// float32 datasets as fsa::Tensor, string and numeric attributes, recursive listing.
// Every failing HDF5 call throws fsa::Error naming the file and the call; HDF5's own
// error printing is switched off. hdf5.h stays out of this header (ids are int64_t).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

class Hdf5File {
 public:
  // Opens an existing file read-only; a missing, non-HDF5 or truncated file is an fsa::Error.
  static Hdf5File open_read(const std::string& path);
  // Creates (or truncates) a file for writing.
  static Hdf5File create(const std::string& path);

  ~Hdf5File();
  Hdf5File(Hdf5File&& other) noexcept;
  Hdf5File& operator=(Hdf5File&& other) noexcept;
  Hdf5File(const Hdf5File&) = delete;
  Hdf5File& operator=(const Hdf5File&) = delete;

  const std::string& path() const { return path_; }

  // Datasets are named by absolute HDF5 paths ("/tensors/conv1.weight").
  bool has_dataset(const std::string& dataset_path) const;
  // Every dataset below `group_path`, as sorted absolute paths (recursive).
  std::vector<std::string> list_datasets(const std::string& group_path = "/") const;
  // Reads any numeric dataset, converted to float32 by HDF5; a scalar dataset gives shape ().
  Tensor read_tensor(const std::string& dataset_path) const;
  // Reads a scalar string dataset (fixed or variable length), padding dropped.
  std::string read_string_dataset(const std::string& dataset_path) const;
  // Writes a float tensor (float32 or float64, any device) as a float32 dataset; missing
  // parent groups are created.
  void write_tensor(const std::string& dataset_path, const Tensor& tensor);

  // Attributes live on a group or dataset (`object_path`, the root group by default).
  bool has_attribute(const std::string& name, const std::string& object_path = "/") const;
  std::vector<std::string> list_attributes(const std::string& object_path = "/") const;
  // Reads a fixed- or variable-length string attribute.
  std::string read_string_attribute(const std::string& name,
                                    const std::string& object_path = "/") const;
  // Reads any numeric attribute (scalar or 1-D), converted to double.
  std::vector<double> read_numeric_attribute(const std::string& name,
                                             const std::string& object_path = "/") const;
  // Writes a variable-length UTF-8 string (what h5py writes for a Python str).
  void write_string_attribute(const std::string& name, const std::string& value,
                              const std::string& object_path = "/");
  // Writes a scalar int64 attribute.
  void write_integer_attribute(const std::string& name, int64_t value,
                               const std::string& object_path = "/");
  // Writes a 1-D float64 attribute.
  void write_float_attribute(const std::string& name, const std::vector<double>& values,
                             const std::string& object_path = "/");

  // Writes buffered data to disk and closes the file; later calls on this object throw.
  void close();

 private:
  Hdf5File(std::string path, int64_t file_id) : path_(std::move(path)), file_id_(file_id) {}
  int64_t checked_id(const char* what) const;
  void release() noexcept;

  std::string path_;
  int64_t file_id_ = -1;
};

}  // namespace fsa
