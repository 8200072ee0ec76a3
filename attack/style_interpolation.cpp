// style_interpolation.cpp: style prototypes (seeded choice, statistics), the interpolated
// AdaIN and the simplex projection of FI's weights. Vertex statistics are constants of a
// batch; only the weights carry gradients.
#include "attack/style_interpolation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "attack/rows.h"
#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "tensor/random.h"

namespace fsa {

namespace {

// Keeps the prototype streams apart from the record-indexed draws of the same --seed
// (random targets, PGD starts).
constexpr uint64_t kPrototypeStreamKey = 0x9E3779B97F4A7C15ull;

// Σ_k w_k v_k per sample and channel: weights (N,K,1), vertices (N,K,C) -> (N,C,1,1).
Tensor weighted_vertices(const Tensor& weights, const Tensor& vertices) {
  return reshape(sum(weights * vertices, {1}), {vertices.dim(0), vertices.dim(2), 1, 1});
}

}  // namespace

std::vector<int64_t> choose_prototype_indices(const std::vector<int32_t>& labels, int64_t classes,
                                              int64_t per_class, uint64_t seed) {
  FSA_CHECK(classes >= 1 && per_class >= 1, "[fi] need classes >= 1 and prototypes per class >= 1",
            ", got ", classes, " and ", per_class);
  std::vector<int64_t> chosen;
  for (int64_t c = 0; c < classes; ++c) {
    std::vector<int64_t> positions;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == c) positions.push_back(static_cast<int64_t>(i));
    }
    FSA_CHECK(static_cast<int64_t>(positions.size()) >= per_class, "[fi] class ", c, " has ",
              positions.size(), " images, fewer than the ", per_class, " prototypes asked for");
    RandomStream stream(seed ^ kPrototypeStreamKey, static_cast<uint64_t>(c) << 32);
    for (int64_t j = 0; j < per_class; ++j) {
      const auto remaining = static_cast<uint64_t>(positions.size()) - static_cast<uint64_t>(j);
      const int64_t pick = j + static_cast<int64_t>(stream.below(remaining));
      std::swap(positions[static_cast<size_t>(j)], positions[static_cast<size_t>(pick)]);
    }
    positions.resize(static_cast<size_t>(per_class));
    std::sort(positions.begin(), positions.end());
    chosen.insert(chosen.end(), positions.begin(), positions.end());
  }
  return chosen;
}

StylePrototypes compute_style_prototypes(Module& encoder, const Tensor& images,
                                         const Tensor& labels, const std::vector<int64_t>& records,
                                         int64_t batch) {
  FSA_CHECK(images.ndim() == 4 && labels.ndim() == 1 && labels.dim(0) == images.dim(0),
            "[fi] prototype images ", images.shape(), " and labels ", labels.shape(),
            " do not match");
  FSA_CHECK(images.dim(0) > 0 && batch >= 1, "[fi] no prototype images (or batch < 1)");
  const int64_t count = images.dim(0);
  FSA_CHECK(records.empty() || static_cast<int64_t>(records.size()) == count, "[fi] ",
            records.size(), " record numbers for ", count, " prototype images");
  NoGradGuard no_grad;
  std::vector<Tensor> means, stds;
  for (int64_t first = 0; first < count; first += batch) {
    const ChannelStats stats =
        channel_stats(encoder(slice(images, 0, first, std::min(count, first + batch))));
    means.push_back(host_clone(stats.mean));
    stds.push_back(host_clone(stats.std));
  }
  StylePrototypes prototypes;
  prototypes.mean = concat(means, 0);
  prototypes.std = concat(stds, 0);
  prototypes.labels = label_vector(labels);
  prototypes.records = records;
  if (prototypes.records.empty()) {
    prototypes.records.resize(static_cast<size_t>(count));
    std::iota(prototypes.records.begin(), prototypes.records.end(), 0);
  }
  return prototypes;
}

Tensor interpolate_style(const Tensor& normalized, const Tensor& weights_sigma,
                         const Tensor& weights_mean, const Tensor& vertex_std,
                         const Tensor& vertex_mean) {
  FSA_CHECK(normalized.ndim() == 4, "[fi] expects an embedding (N,C,H,W), got ",
            normalized.shape());
  const int64_t n = normalized.dim(0), c = normalized.dim(1);
  FSA_CHECK(vertex_std.ndim() == 3 && vertex_std.shape() == vertex_mean.shape() &&
                vertex_std.dim(0) == n && vertex_std.dim(2) == c,
            "[fi] vertex statistics ", vertex_std.shape(), " / ", vertex_mean.shape(),
            " do not fit the embedding ", normalized.shape(), ": expected (N,K,C)");
  const Shape weight_shape{n, vertex_std.dim(1), 1};
  FSA_CHECK(weights_sigma.shape() == weight_shape && weights_mean.shape() == weight_shape,
            "[fi] weights ", weights_sigma.shape(), " / ", weights_mean.shape(), ", expected ",
            weight_shape);
  return normalized * weighted_vertices(weights_sigma, vertex_std) +
         weighted_vertices(weights_mean, vertex_mean);
}

std::vector<double> project_onto_simplex(const std::vector<double>& v) {
  FSA_CHECK(!v.empty(), "[fi] cannot project an empty vector onto the simplex");
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  // θ from the largest ρ with u_ρ − (Σ_{j≤ρ} u_j − 1)/ρ > 0 (ρ = 1 always qualifies).
  double cumulative = 0.0, theta = sorted[0] - 1.0;
  for (size_t j = 0; j < sorted.size(); ++j) {
    cumulative += sorted[j];
    const double candidate = (cumulative - 1.0) / static_cast<double>(j + 1);
    if (sorted[j] - candidate > 0.0) theta = candidate;
  }
  std::vector<double> w(v.size());
  for (size_t i = 0; i < v.size(); ++i) w[i] = std::max(v[i] - theta, 0.0);
  return w;
}

std::string to_string(InterpolationStart start) {
  return start == InterpolationStart::own ? "own" : "uniform";
}

InterpolationStart parse_interpolation_start(const std::string& name) {
  if (name == "own") return InterpolationStart::own;
  if (name == "uniform") return InterpolationStart::uniform;
  fail("[fi] unknown start '", name, "': expected own or uniform");
}

StyleInterpolation::StyleInterpolation(StylePrototypes prototypes,
                                       const InterpolationOptions& options)
    : prototypes_(std::move(prototypes)), options_(options) {
  FSA_CHECK(prototypes_.mean.defined() && prototypes_.mean.ndim() == 4 &&
                prototypes_.mean.shape() == prototypes_.std.shape() &&
                static_cast<int64_t>(prototypes_.labels.size()) == prototypes_.mean.dim(0),
            "[fi] prototypes need mean and std (P,C,1,1) and P labels");
  FSA_CHECK(options_.start != InterpolationStart::own || options_.include_own,
            "[fi] starting at the own style needs the own style as a vertex");
  prototypes_.mean = host_clone(prototypes_.mean);
  prototypes_.std = host_clone(prototypes_.std);
}

bool StyleInterpolation::begin(const Tensor& clean_features, const Tensor& labels) {
  FSA_CHECK(clean_features.ndim() == 4, "[fi] expects an embedding (N,C,H,W), got ",
            clean_features.shape());
  const int64_t n = clean_features.dim(0), c = clean_features.dim(1);
  FSA_CHECK(labels.ndim() == 1 && labels.dim(0) == n, "[fi] labels ", labels.shape(),
            " do not match the embedding ", clean_features.shape());
  FSA_CHECK(prototypes_.mean.dim(1) == c, "[fi] the prototypes have ", prototypes_.mean.dim(1),
            " channels, the embedding ", c, ": they come from another encoder layer");
  NoGradGuard no_grad;
  const Tensor features = detach(clean_features);
  stats_ = channel_stats(features);
  normalized_ = (features - stats_.mean) / stats_.std;

  // Vertex statistics per sample: [own,] then the prototypes of its class, in bank order.
  std::map<int32_t, std::vector<size_t>> by_class;
  for (size_t p = 0; p < prototypes_.labels.size(); ++p) {
    by_class[prototypes_.labels[p]].push_back(p);
  }
  const std::vector<int32_t> y = label_vector(labels);
  const size_t per_class = by_class.count(y[0]) ? by_class[y[0]].size() : 0;
  for (int32_t label : y) {
    const size_t have = by_class.count(label) ? by_class[label].size() : 0;
    FSA_CHECK(have > 0, "[fi] no style prototype of class ", label);
    FSA_CHECK(have == per_class, "[fi] class ", label, " has ", have, " prototypes, class ", y[0],
              " has ", per_class, ": every class needs the same number");
  }
  const int64_t k = static_cast<int64_t>(per_class) + (options_.include_own ? 1 : 0);
  const std::vector<double> own_std = stats_.std.to_vector(), own_mean = stats_.mean.to_vector();
  const std::vector<double> bank_std = prototypes_.std.to_vector();
  const std::vector<double> bank_mean = prototypes_.mean.to_vector();
  const auto channels = static_cast<size_t>(c);
  std::vector<double> vertex_std, vertex_mean;
  vertex_std.reserve(static_cast<size_t>(n * k * c));
  vertex_mean.reserve(static_cast<size_t>(n * k * c));
  for (size_t i = 0; i < y.size(); ++i) {
    const auto append = [&](const std::vector<double>& s, const std::vector<double>& m,
                            size_t row) {
      vertex_std.insert(vertex_std.end(), s.begin() + row * channels,
                        s.begin() + (row + 1) * channels);
      vertex_mean.insert(vertex_mean.end(), m.begin() + row * channels,
                         m.begin() + (row + 1) * channels);
    };
    if (options_.include_own) append(own_std, own_mean, i);
    for (size_t p : by_class[y[i]]) append(bank_std, bank_mean, p);
  }
  const DType dtype = features.dtype();
  const Device device = features.device();
  vertex_std_ = Tensor::from_vector(vertex_std, {n, k, c}, dtype, device);
  vertex_mean_ = Tensor::from_vector(vertex_mean, {n, k, c}, dtype, device);

  std::vector<double> start(static_cast<size_t>(n * k), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      const bool own_start = options_.start == InterpolationStart::own;
      start[static_cast<size_t>(i * k + j)] =
          own_start ? (j == 0 ? 1.0 : 0.0) : 1.0 / static_cast<double>(k);
    }
  }
  const Tensor initial = Tensor::from_vector(start, {n, k, 1}, dtype, device);
  const size_t count = options_.shared_weights ? 1 : 2;
  const bool reuse = variables_.size() == count && variables_[0].shape() == initial.shape() &&
                     variables_[0].dtype() == dtype && variables_[0].device() == device;
  if (reuse) {
    for (const Tensor& w : variables_) {
      w.copy_from(initial);
      zero_grad(w);
    }
    return false;
  }
  variables_.clear();
  for (size_t v = 0; v < count; ++v) {
    variables_.push_back(initial.clone());
    set_requires_grad(variables_.back(), true);
  }
  return true;
}

Tensor StyleInterpolation::perturbed() const {
  FSA_CHECK(!variables_.empty(), "[fi] perturbed() before begin()");
  return interpolate_style(normalized_, weights_sigma(), weights_mean(), vertex_std_, vertex_mean_);
}

void StyleInterpolation::prepare_gradients() {
  NoGradGuard no_grad;
  for (const Tensor& w : variables_) {
    const auto& meta = w.autograd_meta();
    if (meta == nullptr || !meta->grad.defined()) continue;
    meta->grad = meta->grad - mean(meta->grad, {1}, true);  // a new tensor, as clipping does
  }
}

void StyleInterpolation::project() {
  FSA_CHECK(!variables_.empty(), "[fi] project() before begin()");
  NoGradGuard no_grad;
  for (const Tensor& w : variables_) {
    const std::vector<double> values = w.to_vector();
    const auto k = static_cast<size_t>(w.dim(1));
    std::vector<double> projected(values.size());
    for (size_t row = 0; row < values.size() / k; ++row) {
      const std::vector<double> part(values.begin() + row * k, values.begin() + (row + 1) * k);
      const std::vector<double> on_simplex = project_onto_simplex(part);
      std::copy(on_simplex.begin(), on_simplex.end(), projected.begin() + row * k);
    }
    w.copy_from(Tensor::from_vector(projected, w.shape()));
  }
}

Tensor StyleInterpolation::interpolated_std() const {
  return weighted_vertices(weights_sigma(), vertex_std_);
}

Tensor StyleInterpolation::interpolated_mean() const {
  return weighted_vertices(weights_mean(), vertex_mean_);
}

Tensor StyleInterpolation::sigma_factor() const {
  FSA_CHECK(!variables_.empty(), "[fi] sigma_factor() before begin()");
  NoGradGuard no_grad;
  return interpolated_std() / stats_.std;
}

Tensor StyleInterpolation::mean_factor() const {
  FSA_CHECK(!variables_.empty(), "[fi] mean_factor() before begin()");
  NoGradGuard no_grad;
  const std::vector<double> mean = interpolated_mean().to_vector();
  const std::vector<double> centre = stats_.mean.to_vector();
  std::vector<double> factor(mean.size(), 1.0);
  for (size_t i = 0; i < factor.size(); ++i) {
    if (centre[i] != 0.0) factor[i] = std::abs(mean[i]) / std::abs(centre[i]);
  }
  return Tensor::from_vector(factor, stats_.mean.shape(), stats_.mean.dtype(),
                             stats_.mean.device());
}

}  // namespace fsa
