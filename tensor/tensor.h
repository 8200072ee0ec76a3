// tensor.h: the Tensor value type, a shared handle to (storage, shape, dtype, device).
//
// Invariants, relied on by every kernel:
//   - row-major and contiguous; images are NCHW, conv weights (K, C, R, S);
//     dimension letters: N batch, C channels, H W height width, K out-channels,
//     R S kernel height width, P Q output height width;
//   - copying a Tensor copies the handle (like PyTorch): both names see the same data
//     and the same autograd slot; clone() copies the data;
//   - reshape_view() only changes metadata; every other transformation copies.
// This layer knows nothing about gradients: the autograd slot is an opaque pointer that
// autograd/ fills in.
#pragma once

#include <memory>
#include <vector>

#include "tensor/check.h"
#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace fsa {

struct AutogradMeta;  // defined in autograd/autograd_meta.h

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: "no value" (e.g. a missing bias)

  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu) {
    return full(shape, 1.0, dtype, device);
  }
  // Host values converted to `dtype` and placed on `device`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor from_labels(const std::vector<int32_t>& labels, Device device = Device::cpu);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t ndim() const { return shape().ndim(); }
  int64_t dim(int64_t axis) const { return shape()[shape().normalize_axis(axis, "dim")]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  // Typed pointer to the first element; throws if T does not match dtype(). data() may be
  // written through; const_data() is for reading only.
  template <typename T>
  T* data() const {
    check_element_type<T>();
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* const_data() const {
    check_element_type<T>();
    return static_cast<const T*>(const_raw_data());
  }
  void* raw_data() const;
  const void* const_raw_data() const;

  // Same storage, new shape with the same element count. Not recorded by autograd.
  Tensor reshape_view(const Shape& shape) const;
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  // Copies `source` (same shape) into this tensor's storage, across devices and dtypes.
  void copy_from(const Tensor& source) const;

  // Values copied to the host as double (any dtype).
  std::vector<double> to_vector() const;
  // The single value of a one-element tensor.
  double item() const;

  // Two handles are the same tensor when they share the implementation.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // The autograd slot (see autograd/autograd_meta.h); null until autograd sets it.
  const std::shared_ptr<AutogradMeta>& autograd_meta() const;
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) const;

 private:
  struct Impl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    DType dtype;
    std::shared_ptr<AutogradMeta> autograd;
  };
  explicit Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  template <typename T>
  void check_element_type() const {
    FSA_CHECK(dtype_of<T>() == dtype(), "[data] tensor ", shape(), " holds ", dtype(), ", not ",
              dtype_of<T>());
  }
  const Impl& impl(const char* what) const;

  std::shared_ptr<Impl> impl_;
};

// Throws "[op] expected `name` to be ..." unless the tensors agree on device and dtype.
void check_same_device_and_dtype(const char* op, const Tensor& a, const Tensor& b);
// Throws unless the tensor is float32 or float64.
void check_floating(const char* op, const Tensor& x);

}  // namespace fsa
