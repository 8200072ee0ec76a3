// handles.h: RAII owners for cuDNN descriptors and for temporary device buffers (cuDNN
// workspaces) taken from the backend's caching allocator. Destructors never throw.
#pragma once

#include <climits>

#include "tensor/cuda/cuda_backend.h"

namespace fsa {

inline int to_int(int64_t value, const char* op) {
  FSA_CHECK(value >= 0 && value <= INT_MAX, "[", op, "] extent ", value, " is too large for cuDNN");
  return static_cast<int>(value);
}

// A dense float32 NCHW tensor descriptor.
class TensorDescriptor {
 public:
  TensorDescriptor(int64_t n, int64_t c, int64_t h, int64_t w) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&descriptor_));
    const cudnnStatus_t status = cudnnSetTensor4dDescriptor(
        descriptor_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(n, "cudnn"), to_int(c, "cudnn"),
        to_int(h, "cudnn"), to_int(w, "cudnn"));
    if (status != CUDNN_STATUS_SUCCESS) cudnnDestroyTensorDescriptor(descriptor_);
    CUDNN_CHECK(status);
  }
  explicit TensorDescriptor(const Shape& nchw)
      : TensorDescriptor(nchw[0], nchw[1], nchw[2], nchw[3]) {}
  ~TensorDescriptor() { cudnnDestroyTensorDescriptor(descriptor_); }
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  cudnnTensorDescriptor_t get() const { return descriptor_; }

 private:
  cudnnTensorDescriptor_t descriptor_ = nullptr;
};

// A float32 (K, C, R, S) filter descriptor.
class FilterDescriptor {
 public:
  explicit FilterDescriptor(const Shape& kcrs) {
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&descriptor_));
    const cudnnStatus_t status = cudnnSetFilter4dDescriptor(
        descriptor_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(kcrs[0], "cudnn"),
        to_int(kcrs[1], "cudnn"), to_int(kcrs[2], "cudnn"), to_int(kcrs[3], "cudnn"));
    if (status != CUDNN_STATUS_SUCCESS) cudnnDestroyFilterDescriptor(descriptor_);
    CUDNN_CHECK(status);
  }
  ~FilterDescriptor() { cudnnDestroyFilterDescriptor(descriptor_); }
  FilterDescriptor(const FilterDescriptor&) = delete;
  FilterDescriptor& operator=(const FilterDescriptor&) = delete;
  cudnnFilterDescriptor_t get() const { return descriptor_; }

 private:
  cudnnFilterDescriptor_t descriptor_ = nullptr;
};

// Cross-correlation (PyTorch's conv2d) with square stride and zero padding, float32 math.
class ConvDescriptor {
 public:
  ConvDescriptor(const Conv2dParams& p, cudnnMathType_t math_type) {
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&descriptor_));
    cudnnStatus_t status = cudnnSetConvolution2dDescriptor(
        descriptor_, to_int(p.padding, "conv2d"), to_int(p.padding, "conv2d"),
        to_int(p.stride, "conv2d"), to_int(p.stride, "conv2d"), 1, 1, CUDNN_CROSS_CORRELATION,
        CUDNN_DATA_FLOAT);
    if (status == CUDNN_STATUS_SUCCESS)
      status = cudnnSetConvolutionMathType(descriptor_, math_type);
    if (status != CUDNN_STATUS_SUCCESS) cudnnDestroyConvolutionDescriptor(descriptor_);
    CUDNN_CHECK(status);
  }
  ~ConvDescriptor() { cudnnDestroyConvolutionDescriptor(descriptor_); }
  ConvDescriptor(const ConvDescriptor&) = delete;
  ConvDescriptor& operator=(const ConvDescriptor&) = delete;
  cudnnConvolutionDescriptor_t get() const { return descriptor_; }

 private:
  cudnnConvolutionDescriptor_t descriptor_ = nullptr;
};

// A scratch device buffer, back to the allocator's cache when it goes out of scope (safe
// at once: later work on the backend's one stream runs after the work that used it).
class DeviceBuffer {
 public:
  DeviceBuffer(const CudaBackend& backend, size_t bytes) : backend_(backend), bytes_(bytes) {
    if (bytes_ > 0) data_ = backend_.allocate(bytes_);
  }
  ~DeviceBuffer() { backend_.deallocate(data_, bytes_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  const CudaBackend& backend_;
  size_t bytes_;
  void* data_ = nullptr;
};

}  // namespace fsa
