// params.h: parameter structs shared by ops, backends and layers (use designated
// initialisers: Conv2dParams{.stride = 2, .padding = 1}), and the op enums of the
// elementwise kernels.
#pragma once

#include <cstdint>

namespace fsa {

// Cross-correlation as in PyTorch: zero padding on every side, square stride.
struct Conv2dParams {
  int64_t stride = 1;
  int64_t padding = 0;
};

// Windows that run past the padded input are dropped unless ceil_mode (PyTorch rule:
// the last window must start inside the input or left padding). Average pooling counts
// the zero padding in the divisor (PyTorch's count_include_pad=True).
struct Pool2dParams {
  int64_t kernel = 2;
  int64_t stride = 2;
  int64_t padding = 0;
  bool ceil_mode = false;
};

// Output extent of pooling along an axis of extent `in` (PyTorch's formula, ceil_mode rule
// included); may be < 1 when the kernel does not fit, which the ops reject.
inline int64_t pool2d_output_size(int64_t in, const Pool2dParams& p) {
  const int64_t span = in + 2 * p.padding - p.kernel + (p.ceil_mode ? p.stride - 1 : 0);
  if (span < 0) return 0;
  int64_t out = span / p.stride + 1;
  if (p.ceil_mode && (out - 1) * p.stride >= in + p.padding) --out;
  return out;
}

// Bilinear source coordinates, for output index d and scale = in/out:
//   align_corners: s = d * (in-1)/(out-1)
//   half_pixel:    s = (d + 0.5) * scale - 0.5, clamped at 0 (PyTorch align_corners=False)
//   legacy_tf:     s = d * scale (TF-1 resize_images; algorithm.md §1.3)
enum class ResizeMode { align_corners, half_pixel, legacy_tf };

enum class UnaryOp {
  neg,
  exp,
  log,
  sqrt,
  abs,         // NOTE: d|x|/dx taken as 0 at x = 0
  sign,        // gradient 0
  relu,        // NOTE: gradient 0 at x = 0 (PyTorch convention)
  leaky_relu,  // args.scalar = negative slope
  tanh,
  sigmoid,
  pow,         // x ^ args.scalar
  add_scalar,  // x + args.scalar
  mul_scalar,  // x * args.scalar
  clamp,       // min(max(x, args.lo), args.hi); gradient passes where lo <= x <= hi
};

struct UnaryArgs {
  double scalar = 0.0;
  double lo = 0.0;
  double hi = 0.0;
};

// Binary ops broadcast NumPy-style. For minimum/maximum the gradient of a tie goes to `a`.
enum class BinaryOp { add, sub, mul, div, minimum, maximum };

// Carlini-Wagner margin per sample, with z the logits and y the label:
//   untargeted: sum over the top_k largest wrong logits w_k of max(0, z_y - w_k + kappa)
//   targeted (y is the target): max(0, max_{j != y} z_j - z_y + kappa)
struct CwMarginParams {
  double kappa = 1.0;
  int64_t top_k = 1;
  bool targeted = false;
};

// SGD as in PyTorch: g = grad + weight_decay * p; v = momentum * v + g;
// step = nesterov ? g + momentum * v : v; p -= lr * step.
struct SgdParams {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// Adam. step counts from 1. PyTorch form: p -= lr * m_hat / (sqrt(v_hat) + eps);
// TF-1 form: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t * m / (sqrt(v) + eps).
enum class AdamForm { pytorch, tf1 };
struct AdamParams {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2 added to the gradient (PyTorch Adam)
  AdamForm form = AdamForm::pytorch;
  int64_t step = 1;
};

}  // namespace fsa
