// ops.h: every differentiable operation of the engine. Each is defined, with its backward
// node, in autograd/ops/<name>.cpp. Shapes use the letters of tensor/tensor.h. Inputs must
// share a device and a float dtype; violations throw fsa::Error naming the op and shapes.
#pragma once

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduction.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/spatial.h"
#include "autograd/ops/normalization.h"
#include "autograd/ops/linear_algebra.h"
#include "autograd/ops/losses.h"
