// init.cpp: initialisers. Values are drawn on the host in float64, then copied.
#include "layers/init.h"

#include <cmath>
#include <functional>
#include <vector>

#include "tensor/random.h"

namespace fsa {

namespace {
void fill_from(const Tensor& x, const std::function<double(RandomStream&)>& draw, uint64_t seed) {
  RandomStream stream(seed);
  std::vector<double> values(static_cast<size_t>(x.numel()));
  for (double& v : values) v = draw(stream);
  x.copy_from(Tensor::from_vector(values, x.shape(), DType::f64));
}
}  // namespace

void init_uniform_fan_in(const Tensor& x, int64_t fan_in, uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  fill_from(
      x, [bound](RandomStream& s) { return (2.0 * s.uniform() - 1.0) * bound; }, seed);
}

void init_kaiming_normal_fan_out(const Tensor& x, int64_t fan_out, uint64_t seed) {
  const double std = std::sqrt(2.0 / static_cast<double>(fan_out));
  fill_from(
      x, [std](RandomStream& s) { return std * s.normal(); }, seed);
}

void init_xavier_truncated_normal(const Tensor& x, double fan_avg, uint64_t seed) {
  const double sigma = std::sqrt(1.3 / fan_avg);
  fill_from(
      x,
      [sigma](RandomStream& s) {
        double z = s.normal();
        while (std::abs(z) > 2.0) z = s.normal();
        return sigma * z;
      },
      seed);
}

}  // namespace fsa
