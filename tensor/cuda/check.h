// check.h: CUDA_CHECK / CUBLAS_CHECK / CUDNN_CHECK wrap every CUDA, cuBLAS and cuDNN call
// and throw fsa::Error naming the failing call, the library's error text, file and line.
// CUDA_CHECK_LAUNCH() checks the kernel launch just made (bad configuration, no device).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "tensor/check.h"

namespace fsa {

inline const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "unknown cuBLAS status";
  }
}

}  // namespace fsa

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    const cudaError_t fsa_cuda_status = (call);                                             \
    if (fsa_cuda_status != cudaSuccess)                                                     \
      ::fsa::fail("[cuda] ", #call, " failed: ", cudaGetErrorString(fsa_cuda_status), " (", \
                  __FILE__, ":", __LINE__, ")");                                            \
  } while (0)

#define CUBLAS_CHECK(call)                                                                       \
  do {                                                                                           \
    const cublasStatus_t fsa_cublas_status = (call);                                             \
    if (fsa_cublas_status != CUBLAS_STATUS_SUCCESS)                                              \
      ::fsa::fail("[cublas] ", #call, " failed: ", ::fsa::cublas_status_name(fsa_cublas_status), \
                  " (", __FILE__, ":", __LINE__, ")");                                           \
  } while (0)

#define CUDNN_CHECK(call)                                                                      \
  do {                                                                                         \
    const cudnnStatus_t fsa_cudnn_status = (call);                                             \
    if (fsa_cudnn_status != CUDNN_STATUS_SUCCESS)                                              \
      ::fsa::fail("[cudnn] ", #call, " failed: ", cudnnGetErrorString(fsa_cudnn_status), " (", \
                  __FILE__, ":", __LINE__, ")");                                               \
  } while (0)

#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
