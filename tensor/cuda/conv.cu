// conv.cu: 2-D cross-correlation through cuDNN, the twin of cpu/conv.cpp: forward (plus
// the bias, with cudnnAddTensor), backward data and backward filter. Each direction's
// algorithm is chosen once per shape by cuDNN's timed search (the Find*Ex calls, run on the
// call's own buffers, as PyTorch's cudnn.benchmark) and cached in the backend; workspaces
// come from the caching allocator. No device code.
#include "tensor/cuda/cuda_backend.h"
#include "tensor/cuda/handles.h"

namespace fsa {

namespace {

// NOTE: FMA math keeps float32 accuracy, like the CPU. CUDNN_DEFAULT_MATH would let cuDNN
// use TF32 tensor cores on H100 (faster, about 1e-3 relative error per product).
constexpr cudnnMathType_t kConvMath = CUDNN_FMA_MATH;
// The most workspace an algorithm may take; the search gets this much scratch memory.
constexpr size_t kMaxWorkspaceBytes = size_t{256} << 20;
constexpr float kOne = 1.0f, kZero = 0.0f;

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

// The first (fastest) algorithm of cuDNN's ranking that it can run here, preferring kConvMath and
// deterministic algorithms (reproducible gradients), then relaxing those in turn; never
// one that converts the data to half precision.
// `workspace_of(algo, math, &bytes)` says whether the algorithm runs and what it needs.
template <typename Perf, typename WorkspaceQuery>
ConvAlgorithm pick_algorithm(const Perf* ranking, int count, WorkspaceQuery workspace_of,
                             const char* op) {
  for (int relaxed = 0; relaxed < 3; ++relaxed) {
    for (int i = 0; i < count; ++i) {
      const Perf& perf = ranking[i];
      if (perf.status != CUDNN_STATUS_SUCCESS) continue;
      if (perf.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (relaxed < 2 && perf.mathType != kConvMath) continue;
      if (relaxed < 1 && perf.determinism != CUDNN_DETERMINISTIC) continue;
      size_t bytes = 0;
      if (!workspace_of(perf.algo, perf.mathType, &bytes) || bytes > kMaxWorkspaceBytes) continue;
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
ConvAlgorithm choose_forward(const CudaBackend& backend, const ConvShapes& d,
                             const Conv2dParams& p, const float* x, const float* w, float* y) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, kConvMath);
  const DeviceBuffer scratch(backend, kMaxWorkspaceBytes);
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
  return pick_algorithm(ranking, count, workspace_of, "conv2d_forward");
}

ConvAlgorithm choose_backward_data(const CudaBackend& backend, const ConvShapes& d,
                                   const Conv2dParams& p, const float* w, const float* dy,
                                   float* dx) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, kConvMath);
  const DeviceBuffer scratch(backend, kMaxWorkspaceBytes);
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
  return pick_algorithm(ranking, count, workspace_of, "conv2d_backward_data");
}

ConvAlgorithm choose_backward_weight(const CudaBackend& backend, const ConvShapes& d,
                                     const Conv2dParams& p, const float* x, const float* dy,
                                     float* dw) {
  const cudnnHandle_t handle = backend.cudnn();
  const ConvDescriptor conv(p, kConvMath);
  const DeviceBuffer scratch(backend, kMaxWorkspaceBytes);
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
  return pick_algorithm(ranking, count, workspace_of, "conv2d_backward_weight");
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
    const ConvAlgorithm chosen = conv_algorithm(conv_key(kForward, x.shape(), w.shape(), p),
                                                [&] {
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
    const TensorDescriptor bias(1, y_shape[1], 1, 1);  // broadcast over N, P, Q
    const TensorDescriptor output(y_shape);
    CUDNN_CHECK(cudnnAddTensor(cudnn(), &kOne, bias.get(), b.data<float>(), &kOne, output.get(),
                               y.data<float>()));
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
  const ConvAlgorithm chosen = conv_algorithm(conv_key(kBackwardData, x_shape, w.shape(), p),
                                              [&] {
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
      conv_algorithm(conv_key(kBackwardWeight, x.shape(), w_shape, p),
                     [&] {
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
