// cuda_backend.cpp: the CUDA backend singleton, its lazily created stream and library
// handles, the convolution algorithm cache and the two entry points of cuda_entry.h.
// Host code only; the kernels live in the .cu files of the same directory.
#include "tensor/cuda/cuda_backend.h"

#include <cstdio>
#include <cstdlib>

#include "tensor/cuda_entry.h"

namespace fsa {

bool cuda_device_present() {
  // No driver or no GPU makes cudaGetDeviceCount fail: that answers "no", it never throws.
  static const bool present = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return count > 0;
  }();
  return present;
}

long environment_integer(const char* name, long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  FSA_CHECK(*end == '\0' && value >= 0 && value < (long{1} << 40), "[cuda] ", name, "=", text,
            " is not a non-negative integer");
  return value;
}

bool tf32_allowed() {
  static const bool allowed = environment_integer("FSA_CUDA_TF32", 0) != 0;
  return allowed;
}

const CudaBackend& cuda_backend_instance() {
  // NOTE: deliberately never destroyed: tensors owned by static objects may release their
  // memory after main() returns, and the CUDA runtime cleans up the device at exit.
  static const CudaBackend* backend = new CudaBackend();
  return *backend;
}

const Backend& cuda_backend() {
  FSA_CHECK(cuda_device_present(),
            "[cuda] no usable CUDA device (no GPU, or no driver) in this process");
  return cuda_backend_instance();
}

cudaStream_t CudaBackend::stream() const {
  std::call_once(stream_created_, [this] { CUDA_CHECK(cudaStreamCreate(&stream_)); });
  return stream_;
}

cublasHandle_t CudaBackend::cublas() const {
  std::call_once(cublas_created_, [this] {
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream()));
    if (tf32_allowed()) CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_TF32_TENSOR_OP_MATH));
  });
  return cublas_;
}

cudnnHandle_t CudaBackend::cudnn() const {
  std::call_once(cudnn_created_, [this] {
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream()));
  });
  return cudnn_;
}

namespace {

// FSA_CUDNN_LOG=1: each convolution algorithm that cuDNN's search chooses is printed.
bool conv_algorithm_log_enabled() {
  static const bool enabled = environment_integer("FSA_CUDNN_LOG", 0) != 0;
  return enabled;
}

// One line per choice on stderr: the key {direction (0 forward, 1 data gradient, 2 weight
// gradient), x N C H W, w K C R S, stride, padding}, the cudnn*Algo_t, the cudnnMathType_t
// (0 default, 1 tensor op, 3 FMA) and the workspace.
void log_conv_algorithm(const ConvKey& key, const ConvAlgorithm& chosen) {
  std::fprintf(stderr, "[cudnn] conv");
  for (const int64_t value : key) std::fprintf(stderr, " %lld", static_cast<long long>(value));
  std::fprintf(stderr, ": algorithm %d, math %d, workspace %zu bytes\n", chosen.algorithm,
               chosen.math_type, chosen.workspace_bytes);
}

}  // namespace

ConvAlgorithm CudaBackend::conv_algorithm(const ConvKey& key,
                                          const std::function<ConvAlgorithm()>& choose) const {
  {
    std::lock_guard<std::mutex> lock(conv_algorithms_mutex_);
    auto found = conv_algorithms_.find(key);
    if (found != conv_algorithms_.end()) return found->second;
  }
  const ConvAlgorithm chosen = choose();  // outside the lock: it calls into cuDNN
  if (conv_algorithm_log_enabled()) log_conv_algorithm(key, chosen);
  std::lock_guard<std::mutex> lock(conv_algorithms_mutex_);
  conv_algorithms_.emplace(key, chosen);
  return chosen;
}

void check_cuda_f32(const char* op, const Tensor& x) {
  FSA_CHECK(x.device() == Device::cuda, "[", op, "] expected a tensor on cuda, got ", x.shape(),
            " on ", x.device());
  FSA_CHECK(x.dtype() != DType::f64, "[", op, "] float64 is CPU-only (tensor ", x.shape(), ")");
  FSA_CHECK(x.dtype() == DType::f32, "[", op, "] needs a float32 tensor on cuda, got ", x.dtype(),
            " ", x.shape());
}

void check_cuda_i32(const char* op, const Tensor& x) {
  FSA_CHECK(x.device() == Device::cuda, "[", op, "] expected a tensor on cuda, got ", x.shape(),
            " on ", x.device());
  FSA_CHECK(x.dtype() == DType::i32, "[", op, "] needs an int32 tensor, got ", x.dtype(), " ",
            x.shape());
}

}  // namespace fsa
