// conv.cu: 2-D cross-correlation through cuDNN, the twin of cpu/conv.cpp: forward (plus
// the bias, one kernel of our own), backward data and backward filter. Each direction's
// algorithm is chosen once per shape by cuDNN's timed search (the Find*Ex calls, run on the
// call's own buffers, as PyTorch's cudnn.benchmark) and cached in the backend; workspaces
// come from the caching allocator.
#include <algorithm>

#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/handles.h"
#include "tensor/cuda/launch.cuh"

namespace fsa {

namespace {

// The math cuDNN searches with: FMA keeps float32 accuracy, like the CPU; with
// FSA_CUDA_TF32=1 (tf32_allowed), CUDNN_DEFAULT_MATH lets it use TF32 tensor cores, and the
// algorithms it then reports under either tensor-core math type are preferred.
cudnnMathType_t search_math() { return tf32_allowed() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

bool preferred_math(cudnnMathType_t math) {
  if (tf32_allowed()) return math == CUDNN_DEFAULT_MATH || math == CUDNN_TENSOR_OP_MATH;
  return math == CUDNN_FMA_MATH;
}

constexpr float kOne = 1.0f, kZero = 0.0f;

// The most workspace an algorithm may take, and the scratch memory its search gets:
// FSA_CUDNN_WORKSPACE_MB when set, else 4 GiB or half the free device memory at the first
// search, whichever is less. Large workspaces matter: at 16x224x224 the fastest VGG-19
// algorithms need over the 256 MiB this was once capped at (docs/RESULTS.md, "On a GPU").
// The limit is fixed once, so every search reuses the same cached scratch block (a limit
// taken from the free memory at each search would shrink by the cached block and ask for
// a new one each time).
constexpr size_t kDefaultWorkspaceLimit = size_t{4} << 30;

size_t workspace_limit() {
  static const size_t limit = [] {
    const long configured_mb = environment_integer("FSA_CUDNN_WORKSPACE_MB", -1);
    if (configured_mb >= 0) return size_t(configured_mb) << 20;
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    return std::min(kDefaultWorkspaceLimit, free_bytes / 2);
  }();
  return limit;
}

// Whether only deterministic algorithms may run (FSA_CUDNN_DETERMINISTIC, default 1). With 0
// the fastest wins, as under PyTorch's defaults; its gradients may then differ between runs
// in the last bits (some backward algorithms sum with atomics).
bool deterministic_only() {
  static const bool only = environment_integer("FSA_CUDNN_DETERMINISTIC", 1) != 0;
  return only;
}

enum ConvDirection : int64_t { kForward = 0, kBackwardData = 1, kBackwardWeight = 2 };

ConvKey conv_key(ConvDirection direction, const Shape& x, const Shape& w, const Conv2dParams& p) {
  return {direction, x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], p.stride, p.padding};
}

// (N,C,H,W) * (K,C,R,S) -> (N,K,P,Q)
Shape conv_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  const int64_t out_h = (x[2] + 2 * p.padding - w[2]) / p.stride + 1;
  const int64_t out_w = (x[3] + 2 * p.padding - w[3]) / p.stride + 1;
  FSA_CHECK(out_h > 0 && out_w > 0, "[conv2d] kernel ", w, " does not fit input ", x,
            " with padding ", p.padding);
  return Shape{x[0], w[0], out_h, out_w};
}

// The first (fastest) algorithm of cuDNN's ranking that it can run within `workspace_limit`
// bytes, preferring the requested math (preferred_math) and deterministic algorithms
// (reproducible gradients), then relaxing those in turn; never one that converts the data to half
// precision. `workspace_of(algo, math, &bytes)` says whether the algorithm runs and what it needs.
template <typename Perf, typename WorkspaceQuery>
ConvAlgorithm pick_algorithm(const Perf* ranking, int count, size_t workspace_limit,
                             WorkspaceQuery workspace_of, const char* op) {
  for (int relaxed = 0; relaxed < 3; ++relaxed) {
    for (int i = 0; i < count; ++i) {
      const Perf& perf = ranking[i];
      if (perf.status != CUDNN_STATUS_SUCCESS) continue;
      if (perf.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (relaxed < 2 && !preferred_math(perf.mathType)) continue;
      if (relaxed < 1 && deterministic_only() && perf.determinism != CUDNN_DETERMINISTIC) continue;
      size_t bytes = 0;
      if (!workspace_of(perf.algo, perf.mathType, &bytes) || bytes > workspace_limit) continue;
      return {static_cast<int>(perf.algo), static_cast<int>(perf.mathType), bytes};
    }
  }
  fail("[", op, "] cuDNN offers no algorithm for this convolution");
}

// The descriptors of one call: input x (N,C,H,W), filter w (K,C,R,S), output y (N,K,P,Q).
struct ConvShapes {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvShapes(const Shape& x_shape, const Shape& w_shape, const Shape& y_shape)
      : x(x_shape), y(y_shape), w(w_shape) {}
};

// Each choose_* times cuDNN's candidates on the call's own tensors (its output is
// overwritten by the real call afterwards).
ConvAlgorithm choose_forward(const CudaBackend& backend, const ConvShapes& d, const Conv2dParams& p,
                             const float* x, const float* w, float* y) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, search_math());
  const DeviceBuffer scratch(backend, workspace_limit());
  cudnnConvolutionFwdAlgoPerf_t ranking[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
      handle, d.x.get(), x, d.w.get(), w, conv.get(), d.y.get(), y,
      CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, ranking, scratch.data(), scratch.bytes()));
  auto workspace_of = [&](cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math, size_t* bytes) {
    const ConvDescriptor candidate(p, math);
    return cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), candidate.get(),
                                                   d.y.get(), algo, bytes) == CUDNN_STATUS_SUCCESS;
  };
  return pick_algorithm(ranking, count, scratch.bytes(), workspace_of, "conv2d_forward");
}

ConvAlgorithm choose_backward_data(const CudaBackend& backend, const ConvShapes& d,
                                   const Conv2dParams& p, const float* w, const float* dy,
                                   float* dx) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, search_math());
  const DeviceBuffer scratch(backend, workspace_limit());
  cudnnConvolutionBwdDataAlgoPerf_t ranking[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
      handle, d.w.get(), w, d.y.get(), dy, conv.get(), d.x.get(), dx,
      CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, ranking, scratch.data(), scratch.bytes()));
  auto workspace_of = [&](cudnnConvolutionBwdDataAlgo_t algo, cudnnMathType_t math, size_t* bytes) {
    const ConvDescriptor candidate(p, math);
    return cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w.get(), d.y.get(),
                                                        candidate.get(), d.x.get(), algo,
                                                        bytes) == CUDNN_STATUS_SUCCESS;
  };
  return pick_algorithm(ranking, count, scratch.bytes(), workspace_of, "conv2d_backward_data");
}

ConvAlgorithm choose_backward_weight(const CudaBackend& backend, const ConvShapes& d,
                                     const Conv2dParams& p, const float* x, const float* dy,
                                     float* dw) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, search_math());
  const DeviceBuffer scratch(backend, workspace_limit());
  cudnnConvolutionBwdFilterAlgoPerf_t ranking[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
      handle, d.x.get(), x, d.y.get(), dy, conv.get(), d.w.get(), dw,
      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, ranking, scratch.data(), scratch.bytes()));
  auto workspace_of = [&](cudnnConvolutionBwdFilterAlgo_t algo, cudnnMathType_t math,
                          size_t* bytes) {
    const ConvDescriptor candidate(p, math);
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.x.get(), d.y.get(),
                                                          candidate.get(), d.w.get(), algo,
                                                          bytes) == CUDNN_STATUS_SUCCESS;
  };
  return pick_algorithm(ranking, count, scratch.bytes(), workspace_of, "conv2d_backward_weight");
}

// y[n, k, :, :] += b[k], one plane (n, k) per grid row. Measured on an H200 it runs as fast
// as cudnnAddTensor did, at about half the memory bandwidth; fusing it with the ReLU that
// follows is the lever left (docs/RESULTS.md, "On a GPU").
__global__ void add_channel_bias_kernel(const float* b, int64_t channels, int plane_size, float* y,
                                        int64_t planes) {
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const float bias = b[plane % channels];
    float* out = y + plane * plane_size;
    for (int i = plane_position_index(); i < plane_size; i += plane_position_count())
      out[i] += bias;
  }
}

}  // namespace

Tensor CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                                   const Conv2dParams& p) const {
  check_cuda_f32("conv2d_forward", x);
  check_cuda_f32("conv2d_forward", w);
  const Shape y_shape = conv_output_shape(x.shape(), w.shape(), p);
  Tensor y = Tensor::empty(y_shape, DType::f32, Device::cuda);  // (N, K, P, Q)
  if (y.numel() == 0) return y;
  if (w.numel() == 0) {
    fill(y, 0.0);  // no input channels: only the bias remains
  } else {
    const ConvShapes d(x.shape(), w.shape(), y_shape);
    const ConvAlgorithm chosen = conv_algorithm(conv_key(kForward, x.shape(), w.shape(), p), [&] {
      return choose_forward(*this, d, p, x.data<float>(), w.data<float>(), y.data<float>());
    });
    const ConvDescriptor conv(p, static_cast<cudnnMathType_t>(chosen.math_type));
    const DeviceBuffer workspace(*this, chosen.workspace_bytes);
    CUDNN_CHECK(cudnnConvolutionForward(
        cudnn(), &kOne, d.x.get(), x.data<float>(), d.w.get(), w.data<float>(), conv.get(),
        static_cast<cudnnConvolutionFwdAlgo_t>(chosen.algorithm), workspace.data(),
        workspace.bytes(), &kZero, d.y.get(), y.data<float>()));
  }
  if (b.defined()) {
    check_cuda_f32("conv2d_forward", b);
    FSA_CHECK(b.numel() == y_shape[1], "[conv2d_forward] bias ", b.shape(), " does not match ",
              y_shape[1], " output channels");
    const int64_t planes = y_shape[0] * y_shape[1], plane_size = y_shape[2] * y_shape[3];
    add_channel_bias_kernel<<<plane_grid(planes, plane_size, "conv2d_forward"), kBlockSize, 0,
                              stream()>>>(b.data<float>(), y_shape[1], static_cast<int>(plane_size),
                                          y.data<float>(), planes);
    CUDA_CHECK_LAUNCH();
  }
  return y;
}

Tensor CudaBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                                         const Conv2dParams& p) const {
  check_cuda_f32("conv2d_backward_data", dy);
  check_cuda_f32("conv2d_backward_data", w);
  FSA_CHECK(conv_output_shape(x_shape, w.shape(), p) == dy.shape(), "[conv2d_backward_data] dy ",
            dy.shape(), " does not match input ", x_shape, " and weight ", w.shape());
  Tensor dx = Tensor::empty(x_shape, DType::f32, Device::cuda);  // (N, C, H, W)
  if (dx.numel() == 0) return dx;
  if (dy.numel() == 0) {
    fill(dx, 0.0);
    return dx;
  }
  const ConvShapes d(x_shape, w.shape(), dy.shape());
  const ConvAlgorithm chosen = conv_algorithm(conv_key(kBackwardData, x_shape, w.shape(), p), [&] {
    return choose_backward_data(*this, d, p, w.data<float>(), dy.data<float>(), dx.data<float>());
  });
  const ConvDescriptor conv(p, static_cast<cudnnMathType_t>(chosen.math_type));
  const DeviceBuffer workspace(*this, chosen.workspace_bytes);
  CUDNN_CHECK(cudnnConvolutionBackwardData(
      cudnn(), &kOne, d.w.get(), w.data<float>(), d.y.get(), dy.data<float>(), conv.get(),
      static_cast<cudnnConvolutionBwdDataAlgo_t>(chosen.algorithm), workspace.data(),
      workspace.bytes(), &kZero, d.x.get(), dx.data<float>()));
  return dx;
}

Tensor CudaBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, const Shape& w_shape,
                                           const Conv2dParams& p) const {
  check_cuda_f32("conv2d_backward_weight", dy);
  check_cuda_f32("conv2d_backward_weight", x);
  FSA_CHECK(conv_output_shape(x.shape(), w_shape, p) == dy.shape(), "[conv2d_backward_weight] dy ",
            dy.shape(), " does not match input ", x.shape(), " and weight ", w_shape);
  Tensor dw = Tensor::empty(w_shape, DType::f32, Device::cuda);  // (K, C, R, S)
  if (dw.numel() == 0) return dw;
  if (dy.numel() == 0) {
    fill(dw, 0.0);
    return dw;
  }
  const ConvShapes d(x.shape(), w_shape, dy.shape());
  const ConvAlgorithm chosen =
      conv_algorithm(conv_key(kBackwardWeight, x.shape(), w_shape, p), [&] {
        return choose_backward_weight(*this, d, p, x.data<float>(), dy.data<float>(),
                                      dw.data<float>());
      });
  const ConvDescriptor conv(p, static_cast<cudnnMathType_t>(chosen.math_type));
  const DeviceBuffer workspace(*this, chosen.workspace_bytes);
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      cudnn(), &kOne, d.x.get(), x.data<float>(), d.y.get(), dy.data<float>(), conv.get(),
      static_cast<cudnnConvolutionBwdFilterAlgo_t>(chosen.algorithm), workspace.data(),
      workspace.bytes(), &kZero, d.w.get(), dw.data<float>()));
  return dw;
}

}  // namespace fsa
