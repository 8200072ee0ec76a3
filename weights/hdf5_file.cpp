// hdf5_file.cpp: Hdf5File over the HDF5 C API. Every HDF5 id is owned by a Handle that
// closes it; every call goes through FSA_H5_CHECK, which turns a negative status into an
// fsa::Error naming the call, the object, the file and HDF5's innermost error description.
#include "weights/hdf5_file.h"

#include <hdf5.h>

#include <filesystem>
#include <string_view>
#include <type_traits>
#include <utility>

namespace fsa {
namespace {

static_assert(std::is_same_v<hid_t, int64_t>, "Hdf5File stores HDF5 ids as int64_t");

// HDF5 prints its error stack to stderr by default; the library reports errors itself.
void silence_hdf5_error_printing() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

herr_t keep_innermost_description(unsigned depth, const H5E_error2_t* error, void* text) {
  if (depth == 0 && error->desc != nullptr) *static_cast<std::string*>(text) = error->desc;
  return 0;
}

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), if any.
std::string hdf5_error_description() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost_description, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

// "H5Dopen2(file_id_, ...)" -> "H5Dopen2".
std::string_view function_name(std::string_view call) { return call.substr(0, call.find('(')); }

template <typename Status>
Status check_hdf5(Status status, std::string_view call, const std::string& file,
                  std::string_view object) {
  if (status >= 0) return status;
  const std::string detail = hdf5_error_description();
  fail("[hdf5] ", function_name(call), " failed on '", object, "' in file '", file, "'",
       detail.empty() ? "" : ": ", detail);
}

#define FSA_H5_CHECK(call, file, object) check_hdf5((call), #call, (file), (object))

// Owns one HDF5 id and closes it with the matching H5?close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// H5Literate / H5Aiterate callbacks must not throw: they only collect names.
herr_t collect_link_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  try {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
  } catch (...) {
    return -1;
  }
}

herr_t collect_attribute_name(hid_t, const char* name, const H5A_info_t*, void* names) {
  try {
    static_cast<std::vector<std::string>*>(names)->emplace_back(name);
    return 0;
  } catch (...) {
    return -1;
  }
}

std::string join_path(const std::string& group_path, const std::string& name) {
  return group_path.ends_with('/') ? group_path + name : group_path + "/" + name;
}

}  // namespace

Hdf5File Hdf5File::open_read(const std::string& path) {
  silence_hdf5_error_printing();
  std::error_code error;
  FSA_CHECK(std::filesystem::is_regular_file(path, error), "[hdf5] cannot open '", path,
            "': no such file");
  const auto size = std::filesystem::file_size(path, error);
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  hdf5_error_description();  // H5Fis_hdf5 may leave an error on the stack; discard it
  FSA_CHECK(is_hdf5 > 0, "[hdf5] '", path, "' is not an HDF5 file (", size,
            " bytes, no HDF5 signature)");
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    const std::string detail = hdf5_error_description();
    fail("[hdf5] H5Fopen failed for '", path, "' (", size,
         " bytes; truncated or damaged?): ", detail);
  }
  return Hdf5File(path, id);
}

Hdf5File Hdf5File::create(const std::string& path) {
  silence_hdf5_error_printing();
  const hid_t id =
      FSA_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path, "/");
  return Hdf5File(path, id);
}

Hdf5File::~Hdf5File() { release(); }

Hdf5File::Hdf5File(Hdf5File&& other) noexcept
    : path_(std::move(other.path_)), file_id_(std::exchange(other.file_id_, -1)) {}

Hdf5File& Hdf5File::operator=(Hdf5File&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    file_id_ = std::exchange(other.file_id_, -1);
  }
  return *this;
}

void Hdf5File::release() noexcept {
  if (file_id_ >= 0) H5Fclose(file_id_);  // never throws: errors on close are dropped here
  file_id_ = -1;
}

void Hdf5File::close() {
  const hid_t id = checked_id("close");
  file_id_ = -1;
  FSA_H5_CHECK(H5Fclose(id), path_, "/");
}

int64_t Hdf5File::checked_id(const char* what) const {
  FSA_CHECK(file_id_ >= 0, "[hdf5] ", what, " on closed file '", path_, "'");
  return file_id_;
}

bool Hdf5File::has_dataset(const std::string& dataset_path) const {
  const hid_t file = checked_id("has_dataset");
  // H5Lexists fails when an intermediate group is missing, so walk the path one link at a time.
  size_t end = dataset_path.find('/', 1);
  while (true) {
    const std::string prefix = dataset_path.substr(0, end);
    if (prefix != "/" &&
        FSA_H5_CHECK(H5Lexists(file, prefix.c_str(), H5P_DEFAULT), path_, prefix) <= 0) {
      return false;
    }
    if (end == std::string::npos) break;
    end = dataset_path.find('/', end + 1);
  }
  Handle object(FSA_H5_CHECK(H5Oopen(file, dataset_path.c_str(), H5P_DEFAULT), path_, dataset_path),
                H5Oclose);
  return H5Iget_type(object.get()) == H5I_DATASET;
}

std::vector<std::string> Hdf5File::list_datasets(const std::string& group_path) const {
  const hid_t file = checked_id("list_datasets");
  Handle group(FSA_H5_CHECK(H5Gopen2(file, group_path.c_str(), H5P_DEFAULT), path_, group_path),
               H5Gclose);
  std::vector<std::string> names;
  FSA_H5_CHECK(
      H5Literate(group.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link_name, &names),
      path_, group_path);
  std::vector<std::string> datasets;
  for (const std::string& name : names) {
    const std::string child = join_path(group_path, name);
    Handle object(FSA_H5_CHECK(H5Oopen(file, child.c_str(), H5P_DEFAULT), path_, child), H5Oclose);
    const H5I_type_t type = H5Iget_type(object.get());
    if (type == H5I_DATASET) datasets.push_back(child);
    if (type == H5I_GROUP) {
      for (std::string& nested : list_datasets(child)) datasets.push_back(std::move(nested));
    }
  }
  return datasets;  // sorted: links are visited in name order, depth first
}

Tensor Hdf5File::read_tensor(const std::string& dataset_path) const {
  const hid_t file = checked_id("read_tensor");
  FSA_CHECK(has_dataset(dataset_path), "[hdf5] no dataset '", dataset_path, "' in file '", path_,
            "'");
  Handle dataset(
      FSA_H5_CHECK(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT), path_, dataset_path),
      H5Dclose);
  Handle type(FSA_H5_CHECK(H5Dget_type(dataset.get()), path_, dataset_path), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  FSA_CHECK(type_class == H5T_FLOAT || type_class == H5T_INTEGER, "[hdf5] dataset '", dataset_path,
            "' in file '", path_, "' is not numeric");

  Handle space(FSA_H5_CHECK(H5Dget_space(dataset.get()), path_, dataset_path), H5Sclose);
  const int rank = FSA_H5_CHECK(H5Sget_simple_extent_ndims(space.get()), path_, dataset_path);
  std::vector<hsize_t> extents(static_cast<size_t>(rank));
  FSA_H5_CHECK(H5Sget_simple_extent_dims(space.get(), extents.data(), nullptr), path_,
               dataset_path);
  const Shape shape(std::vector<int64_t>(extents.begin(), extents.end()));

  Tensor tensor = Tensor::empty(shape, DType::f32);
  if (tensor.numel() > 0) {
    FSA_H5_CHECK(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         tensor.data<float>()),
                 path_, dataset_path);
  }
  return tensor;
}

std::string Hdf5File::read_string_dataset(const std::string& dataset_path) const {
  const hid_t file = checked_id("read_string_dataset");
  FSA_CHECK(has_dataset(dataset_path), "[hdf5] no dataset '", dataset_path, "' in file '", path_,
            "'");
  Handle dataset(
      FSA_H5_CHECK(H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT), path_, dataset_path),
      H5Dclose);
  Handle type(FSA_H5_CHECK(H5Dget_type(dataset.get()), path_, dataset_path), H5Tclose);
  FSA_CHECK(H5Tget_class(type.get()) == H5T_STRING, "[hdf5] dataset '", dataset_path,
            "' in file '", path_, "' is not a string");
  if (FSA_H5_CHECK(H5Tis_variable_str(type.get()), path_, dataset_path) > 0) {
    Handle memory_type(FSA_H5_CHECK(H5Tcopy(H5T_C_S1), path_, dataset_path), H5Tclose);
    FSA_H5_CHECK(H5Tset_size(memory_type.get(), H5T_VARIABLE), path_, dataset_path);
    char* value = nullptr;
    FSA_H5_CHECK(H5Dread(dataset.get(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value),
                 path_, dataset_path);
    std::string result = value != nullptr ? value : "";
    H5free_memory(value);
    return result;
  }
  std::string buffer(H5Tget_size(type.get()), '\0');
  FSA_H5_CHECK(H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
               path_, dataset_path);
  buffer.resize(buffer.find('\0') == std::string::npos ? buffer.size() : buffer.find('\0'));
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) buffer.erase(buffer.find_last_not_of(' ') + 1);
  return buffer;
}

void Hdf5File::write_tensor(const std::string& dataset_path, const Tensor& tensor) {
  const hid_t file = checked_id("write_tensor");
  FSA_CHECK(tensor.defined(), "[hdf5] cannot write undefined tensor '", dataset_path, "' to '",
            path_, "'");
  check_floating("hdf5 write_tensor", tensor);
  const Tensor host = tensor.to(Device::cpu).to(DType::f32);

  const std::vector<hsize_t> extents(host.shape().dims().begin(), host.shape().dims().end());
  Handle space(FSA_H5_CHECK(extents.empty() ? H5Screate(H5S_SCALAR)
                                            : H5Screate_simple(static_cast<int>(extents.size()),
                                                               extents.data(), nullptr),
                            path_, dataset_path),
               H5Sclose);
  Handle link_options(FSA_H5_CHECK(H5Pcreate(H5P_LINK_CREATE), path_, dataset_path), H5Pclose);
  FSA_H5_CHECK(H5Pset_create_intermediate_group(link_options.get(), 1), path_, dataset_path);
  Handle dataset(FSA_H5_CHECK(H5Dcreate2(file, dataset_path.c_str(), H5T_IEEE_F32LE, space.get(),
                                         link_options.get(), H5P_DEFAULT, H5P_DEFAULT),
                              path_, dataset_path),
                 H5Dclose);
  if (host.numel() > 0) {
    FSA_H5_CHECK(H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                          host.data<float>()),
                 path_, dataset_path);
  }
}

bool Hdf5File::has_attribute(const std::string& name, const std::string& object_path) const {
  const hid_t file = checked_id("has_attribute");
  return FSA_H5_CHECK(H5Aexists_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT),
                      path_, object_path) > 0;
}

std::vector<std::string> Hdf5File::list_attributes(const std::string& object_path) const {
  const hid_t file = checked_id("list_attributes");
  Handle object(FSA_H5_CHECK(H5Oopen(file, object_path.c_str(), H5P_DEFAULT), path_, object_path),
                H5Oclose);
  std::vector<std::string> names;
  FSA_H5_CHECK(H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
                           collect_attribute_name, &names),
               path_, object_path);
  return names;
}

std::string Hdf5File::read_string_attribute(const std::string& name,
                                            const std::string& object_path) const {
  const hid_t file = checked_id("read_string_attribute");
  const std::string where = object_path + " attribute " + name;
  Handle attribute(FSA_H5_CHECK(H5Aopen_by_name(file, object_path.c_str(), name.c_str(),
                                                H5P_DEFAULT, H5P_DEFAULT),
                                path_, where),
                   H5Aclose);
  Handle type(FSA_H5_CHECK(H5Aget_type(attribute.get()), path_, where), H5Tclose);
  FSA_CHECK(H5Tget_class(type.get()) == H5T_STRING, "[hdf5] attribute '", name, "' of '",
            object_path, "' in file '", path_, "' is not a string");

  if (FSA_H5_CHECK(H5Tis_variable_str(type.get()), path_, where) > 0) {
    Handle memory_type(FSA_H5_CHECK(H5Tcopy(H5T_C_S1), path_, where), H5Tclose);
    FSA_H5_CHECK(H5Tset_size(memory_type.get(), H5T_VARIABLE), path_, where);
    FSA_H5_CHECK(H5Tset_cset(memory_type.get(), H5Tget_cset(type.get())), path_, where);
    char* value = nullptr;
    FSA_H5_CHECK(H5Aread(attribute.get(), memory_type.get(), &value), path_, where);
    std::string result = value != nullptr ? value : "";
    H5free_memory(value);
    return result;
  }
  // Fixed length: read the raw bytes and drop the padding (NUL or space).
  std::string buffer(H5Tget_size(type.get()), '\0');
  FSA_H5_CHECK(H5Aread(attribute.get(), type.get(), buffer.data()), path_, where);
  buffer.resize(buffer.find('\0') == std::string::npos ? buffer.size() : buffer.find('\0'));
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) {
    buffer.erase(buffer.find_last_not_of(' ') + 1);
  }
  return buffer;
}

std::vector<double> Hdf5File::read_numeric_attribute(const std::string& name,
                                                     const std::string& object_path) const {
  const hid_t file = checked_id("read_numeric_attribute");
  const std::string where = object_path + " attribute " + name;
  Handle attribute(FSA_H5_CHECK(H5Aopen_by_name(file, object_path.c_str(), name.c_str(),
                                                H5P_DEFAULT, H5P_DEFAULT),
                                path_, where),
                   H5Aclose);
  Handle type(FSA_H5_CHECK(H5Aget_type(attribute.get()), path_, where), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  FSA_CHECK(type_class == H5T_FLOAT || type_class == H5T_INTEGER, "[hdf5] attribute '", name,
            "' of '", object_path, "' in file '", path_, "' is not numeric");
  Handle space(FSA_H5_CHECK(H5Aget_space(attribute.get()), path_, where), H5Sclose);
  const hssize_t count = FSA_H5_CHECK(H5Sget_simple_extent_npoints(space.get()), path_, where);
  std::vector<double> values(static_cast<size_t>(count));
  if (count > 0) {
    FSA_H5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, values.data()), path_, where);
  }
  return values;
}

namespace {

// Creates attribute `name` on `object_path`, replacing an existing one.
hid_t create_attribute(hid_t file, const std::string& file_path, const std::string& object_path,
                       const std::string& name, hid_t type, hid_t space) {
  const std::string where = object_path + " attribute " + name;
  if (FSA_H5_CHECK(H5Aexists_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT),
                   file_path, where) > 0) {
    FSA_H5_CHECK(H5Adelete_by_name(file, object_path.c_str(), name.c_str(), H5P_DEFAULT), file_path,
                 where);
  }
  return FSA_H5_CHECK(H5Acreate_by_name(file, object_path.c_str(), name.c_str(), type, space,
                                        H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      file_path, where);
}

}  // namespace

void Hdf5File::write_string_attribute(const std::string& name, const std::string& value,
                                      const std::string& object_path) {
  const hid_t file = checked_id("write_string_attribute");
  const std::string where = object_path + " attribute " + name;
  Handle type(FSA_H5_CHECK(H5Tcopy(H5T_C_S1), path_, where), H5Tclose);
  FSA_H5_CHECK(H5Tset_size(type.get(), H5T_VARIABLE), path_, where);
  FSA_H5_CHECK(H5Tset_cset(type.get(), H5T_CSET_UTF8), path_, where);
  Handle space(FSA_H5_CHECK(H5Screate(H5S_SCALAR), path_, where), H5Sclose);
  Handle attribute(create_attribute(file, path_, object_path, name, type.get(), space.get()),
                   H5Aclose);
  const char* text = value.c_str();
  FSA_H5_CHECK(H5Awrite(attribute.get(), type.get(), &text), path_, where);
}

void Hdf5File::write_integer_attribute(const std::string& name, int64_t value,
                                       const std::string& object_path) {
  const hid_t file = checked_id("write_integer_attribute");
  const std::string where = object_path + " attribute " + name;
  Handle space(FSA_H5_CHECK(H5Screate(H5S_SCALAR), path_, where), H5Sclose);
  Handle attribute(create_attribute(file, path_, object_path, name, H5T_STD_I64LE, space.get()),
                   H5Aclose);
  FSA_H5_CHECK(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), path_, where);
}

void Hdf5File::write_float_attribute(const std::string& name, const std::vector<double>& values,
                                     const std::string& object_path) {
  const hid_t file = checked_id("write_float_attribute");
  const std::string where = object_path + " attribute " + name;
  const hsize_t count = values.size();
  Handle space(FSA_H5_CHECK(H5Screate_simple(1, &count, nullptr), path_, where), H5Sclose);
  Handle attribute(create_attribute(file, path_, object_path, name, H5T_IEEE_F64LE, space.get()),
                   H5Aclose);
  if (count > 0) {
    FSA_H5_CHECK(H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, values.data()), path_, where);
  }
}

}  // namespace fsa
