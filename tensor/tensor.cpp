// tensor.cpp: construction, metadata, conversions and host access of Tensor.
#include "tensor/tensor.h"

#include "tensor/backend.h"

namespace fsa {

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape.dims()) FSA_CHECK(d >= 0, "[empty] negative extent in shape ", shape);
  auto impl = std::make_shared<Impl>();
  impl->storage =
      std::make_shared<Storage>(device, static_cast<size_t>(shape.numel()) * dtype_size(dtype));
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor result = empty(shape, dtype, device);
  backend_for(device).fill(result, value);
  return result;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype,
                           Device device) {
  FSA_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "[from_vector] ", values.size(),
            " values do not fill shape ", shape);
  Tensor host = empty(shape, DType::f64, Device::cpu);
  std::copy(values.begin(), values.end(), host.data<double>());
  return host.to(dtype).to(device);
}

Tensor Tensor::from_labels(const std::vector<int32_t>& labels, Device device) {
  Tensor host = empty(Shape{static_cast<int64_t>(labels.size())}, DType::i32, Device::cpu);
  std::copy(labels.begin(), labels.end(), host.data<int32_t>());
  return host.to(device);
}

const Tensor::Impl& Tensor::impl(const char* what) const {
  FSA_CHECK(impl_ != nullptr, "[", what, "] called on an undefined tensor");
  return *impl_;
}

const Shape& Tensor::shape() const { return impl("shape").shape; }
DType Tensor::dtype() const { return impl("dtype").dtype; }
Device Tensor::device() const { return impl("device").storage->device(); }
void* Tensor::raw_data() const { return impl("data").storage->data(); }
const void* Tensor::const_raw_data() const { return impl("data").storage->data(); }

Tensor Tensor::reshape_view(const Shape& shape) const {
  FSA_CHECK(shape.numel() == numel(), "[reshape] cannot view ", this->shape(), " as ", shape);
  auto impl = std::make_shared<Impl>();
  impl->storage = impl_->storage;
  impl->shape = shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor result = empty(shape(), dtype(), device());
  backend_for(device()).copy_within(result.raw_data(), const_raw_data(), nbytes());
  return result;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor result = empty(shape(), dtype(), target);
  result.copy_from(*this);
  return result;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  return backend_for(device()).cast(*this, target);
}

void Tensor::copy_from(const Tensor& source) const {
  FSA_CHECK(source.shape() == shape(), "[copy_from] source ", source.shape(), " does not match ",
            shape());
  const Tensor converted = source.to(dtype());
  if (converted.device() == device()) {
    backend_for(device()).copy_within(raw_data(), converted.const_raw_data(), nbytes());
  } else if (converted.device() == Device::cpu) {
    backend_for(device()).copy_from_host(raw_data(), converted.const_raw_data(), nbytes());
  } else {
    backend_for(converted.device()).copy_to_host(raw_data(), converted.const_raw_data(), nbytes());
  }
}

std::vector<double> Tensor::to_vector() const {
  const Tensor host = to(Device::cpu).to(DType::f64);
  const double* values = host.const_data<double>();
  return std::vector<double>(values, values + numel());
}

double Tensor::item() const {
  FSA_CHECK(numel() == 1, "[item] needs a one-element tensor, got ", shape());
  return to_vector()[0];
}

const std::shared_ptr<AutogradMeta>& Tensor::autograd_meta() const {
  return impl("autograd_meta").autograd;
}

void Tensor::set_autograd_meta(std::shared_ptr<AutogradMeta> meta) const {
  FSA_CHECK(impl_ != nullptr, "[set_autograd_meta] called on an undefined tensor");
  impl_->autograd = std::move(meta);
}

void check_same_device_and_dtype(const char* op, const Tensor& a, const Tensor& b) {
  FSA_CHECK(a.device() == b.device(), "[", op, "] tensors on different devices: ", a.shape(),
            " on ", a.device(), ", ", b.shape(), " on ", b.device());
  FSA_CHECK(a.dtype() == b.dtype(), "[", op, "] tensors of different dtypes: ", a.shape(), " ",
            a.dtype(), ", ", b.shape(), " ", b.dtype());
}

void check_floating(const char* op, const Tensor& x) {
  FSA_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "[", op,
            "] needs a float32 or float64 tensor, got ", x.dtype(), " ", x.shape());
}

}  // namespace fsa
