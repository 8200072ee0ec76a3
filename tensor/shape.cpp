// shape.cpp: element counts, strides, printing and broadcasting of shapes.
#include "tensor/shape.h"

#include <algorithm>
#include <sstream>

#include "tensor/check.h"

namespace fsa {

int64_t Shape::numel() const {
  int64_t count = 1;
  for (int64_t d : dims_) count *= d;
  return count;
}

std::vector<int64_t> Shape::strides() const {
  std::vector<int64_t> result(dims_.size(), 1);
  for (int64_t i = ndim() - 2; i >= 0; --i) result[i] = result[i + 1] * dims_[i + 1];
  return result;
}

int64_t Shape::normalize_axis(int64_t axis, const char* op) const {
  const int64_t n = ndim();
  FSA_CHECK(axis >= -n && axis < n, "[", op, "] axis ", axis, " is out of range for shape ", *this);
  return axis < 0 ? axis + n : axis;
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  out << "(";
  for (int64_t i = 0; i < shape.ndim(); ++i) out << (i ? "," : "") << shape[i];
  return out << ")";
}

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int64_t n = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> dims(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.ndim() ? 1 : a[i - (n - a.ndim())];
    const int64_t db = i < n - b.ndim() ? 1 : b[i - (n - b.ndim())];
    FSA_CHECK(da == db || da == 1 || db == 1, "[", op, "] shapes ", a, " and ", b,
              " cannot be broadcast together");
    dims[i] = da == 1 ? db : da;
  }
  return Shape(std::move(dims));
}

}  // namespace fsa
