// test_util.cpp: random tensors and comparisons shared by the tests.
#include "tests/test_util.h"

#include <cmath>
#include <sstream>

#include "tensor/backend.h"

namespace fsa::testing {

Tensor random_tensor(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype) {
  Tensor x = Tensor::empty(shape, dtype);
  backend_for(Device::cpu).fill_uniform(x, lo, hi, seed, 0);
  return x;
}

Tensor random_away_from_zero(const Shape& shape, uint64_t seed, double gap, DType dtype) {
  std::vector<double> values = random_tensor(shape, seed, -1.0, 1.0).to_vector();
  for (double& v : values) v = v >= 0 ? gap + v * (1.0 - gap) : -gap + v * (1.0 - gap);
  return Tensor::from_vector(values, shape, dtype);
}

::testing::AssertionResult tensors_near(const Tensor& actual, const Tensor& expected, double rtol,
                                        double atol) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.shape() << " != expected " << expected.shape();
  }
  const std::vector<double> a = actual.to_vector(), e = expected.to_vector();
  std::ostringstream report;
  int64_t mismatches = 0, worst = -1;
  double worst_excess = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double error = std::abs(a[i] - e[i]);
    const double allowed = atol + rtol * std::abs(e[i]);
    if (!(error <= allowed)) {
      if (mismatches < 5) report << "\n  [" << i << "] actual " << a[i] << " expected " << e[i];
      if (worst < 0 || error - allowed > worst_excess) {
        worst = static_cast<int64_t>(i);
        worst_excess = error - allowed;
      }
      ++mismatches;
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << mismatches << " of " << a.size() << " elements differ (rtol " << rtol << ", atol "
         << atol << "); worst [" << worst << "] actual " << a[static_cast<size_t>(worst)]
         << " expected " << e[static_cast<size_t>(worst)] << report.str();
}

void expect_error_containing(const std::string& needle, const std::function<void()>& run) {
  try {
    run();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::string error_message(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an fsa::Error";
  return "";
}

}  // namespace fsa::testing
