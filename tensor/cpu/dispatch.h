// dispatch.h: runs a templated kernel body for the tensor's float type. Usage:
//   dispatch_float(x.dtype(), "exp", [&]<typename T>() { ...loops over T... });
#pragma once

#include "tensor/check.h"
#include "tensor/dtype.h"

namespace fsa {

template <typename Body>
decltype(auto) dispatch_float(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::f32: return body.template operator()<float>();
    case DType::f64: return body.template operator()<double>();
    default: break;
  }
  fail("[", op, "] needs float32 or float64, got ", dtype);
}

}  // namespace fsa
