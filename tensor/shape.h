// shape.h: tensor shapes. A Shape is a list of extents, outermost first (row-major);
// images are (N, C, H, W). Printing gives "(2,3,32,32)", the form every error message uses.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace fsa {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int64_t ndim() const { return static_cast<int64_t>(dims_.size()); }
  int64_t operator[](int64_t axis) const { return dims_[static_cast<size_t>(axis)]; }
  int64_t& operator[](int64_t axis) { return dims_[static_cast<size_t>(axis)]; }
  int64_t numel() const;
  const std::vector<int64_t>& dims() const { return dims_; }
  // Row-major strides in elements: stride[last] = 1.
  std::vector<int64_t> strides() const;
  // Accepts negative axes (-1 = last); throws naming `op` if out of range.
  int64_t normalize_axis(int64_t axis, const char* op) const;

  bool operator==(const Shape& other) const = default;

 private:
  std::vector<int64_t> dims_;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);
std::string to_string(const Shape& shape);

// The NumPy broadcast of two shapes (aligned at the right); throws naming `op` if they clash.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace fsa
