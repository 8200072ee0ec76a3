// o2_detector.cpp: noise specs, noisy copies and the O2 alignments, batched over images,
// specs and draws. Only the forward passes and the per-unit feature means run on the
// model's device; the projection onto W runs on the host in double.
#include "attack/o2_detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/backend.h"
#include "tensor/random.h"

namespace fsa {

namespace {

char kind_letter(NoiseKind kind) {
  switch (kind) {
    case NoiseKind::gaussian:
      return 'n';
    case NoiseKind::uniform:
      return 'u';
    case NoiseKind::sign:
      return 's';
  }
  return '?';
}

std::vector<NoiseSpec> spec_grid(const std::vector<double>& epsilons) {
  std::vector<NoiseSpec> specs;
  for (double eps : epsilons) {
    for (NoiseKind kind : {NoiseKind::gaussian, NoiseKind::sign, NoiseKind::uniform}) {
      specs.push_back({kind, eps});
    }
  }
  return specs;
}

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

// The Philox seed of one (image, spec) noise stream.
uint64_t stream_seed(uint64_t seed, uint64_t noise_key, const NoiseSpec& spec) {
  const PhiloxBlock block = philox4x32(noise_key, seed ^ fnv1a(to_string(spec)));
  return (static_cast<uint64_t>(block.word[0]) << 32) | block.word[1];
}

void check_inputs(const Tensor& images, const std::vector<uint64_t>& noise_keys,
                  const O2AlignmentOptions& o) {
  FSA_CHECK(images.ndim() == 4, "[o2] expects images (N,C,H,W), got ", images.shape());
  FSA_CHECK(static_cast<int64_t>(noise_keys.size()) == images.dim(0), "[o2] ", noise_keys.size(),
            " noise keys for images ", images.shape());
  FSA_CHECK(!o.specs.empty(), "[o2] no noise specs given");
  FSA_CHECK(o.samples >= 1, "[o2] need at least one noise sample per spec, got ", o.samples);
  FSA_CHECK(o.rows_per_forward >= 1, "[o2] rows per forward pass must be >= 1, got ",
            o.rows_per_forward);
}

// W of the head as host doubles (K,d), row-major.
std::vector<double> head_weight(LinearHeadClassifier& head, int64_t& classes, int64_t& features) {
  const Tensor& w = head.final_layer().weight;
  FSA_CHECK(w.ndim() == 2, "[o2] final layer weight must be (K,d), got ", w.shape());
  classes = w.dim(0);
  features = w.dim(1);
  return w.to_vector();
}

// Alignments from the clean features φ(x) (N,d), the noise-averaged features (N·S,d), the
// predictions and W.
O2Alignments project_alignments(const std::vector<double>& clean, const std::vector<double>& noisy,
                                const std::vector<int32_t>& predicted,
                                const std::vector<double>& weight, int64_t specs, int64_t classes,
                                int64_t features) {
  const int64_t n_images = static_cast<int64_t>(predicted.size());
  O2Alignments out{.specs = specs, .classes = classes, .predicted = predicted, .values = {}};
  out.values.assign(static_cast<size_t>(n_images * specs * classes), 0.0);
  std::vector<double> delta(static_cast<size_t>(features)), projected(static_cast<size_t>(classes));
  for (int64_t n = 0; n < n_images; ++n) {
    const int32_t y = predicted[n];
    FSA_CHECK(y >= 0 && y < classes, "[o2] class ", y, " outside 0..", classes - 1);
    for (int64_t e = 0; e < specs; ++e) {
      for (int64_t j = 0; j < features; ++j) {
        delta[j] = clean[n * features + j] - noisy[(n * specs + e) * features + j];
      }
      for (int64_t k = 0; k < classes; ++k) {
        double dot = 0.0;
        for (int64_t j = 0; j < features; ++j) dot += weight[k * features + j] * delta[j];
        projected[k] = dot;
      }
      for (int64_t z = 0; z < classes; ++z) {
        out.values[(n * specs + e) * classes + z] = z == y ? 0.0 : projected[y] - projected[z];
      }
    }
  }
  return out;
}

}  // namespace

std::string to_string(const NoiseSpec& spec) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%c%.17g", kind_letter(spec.kind), spec.epsilon);
  // Shortest text that reads back to the same double ("n0.003", not "n0.0030000000000000001").
  for (int digits = 1; digits <= 17; ++digits) {
    char shorter[48];
    std::snprintf(shorter, sizeof shorter, "%c%.*g", kind_letter(spec.kind), digits, spec.epsilon);
    if (std::strtod(shorter + 1, nullptr) == spec.epsilon) return shorter;
  }
  return buffer;
}

NoiseSpec parse_noise_spec(const std::string& text) {
  FSA_CHECK(text.size() >= 2, "[o2] noise spec '", text,
            "' is not a kind letter n, u or s followed by a magnitude (e.g. n0.003)");
  NoiseSpec spec;
  switch (text[0]) {
    case 'n':
      spec.kind = NoiseKind::gaussian;
      break;
    case 'u':
      spec.kind = NoiseKind::uniform;
      break;
    case 's':
      spec.kind = NoiseKind::sign;
      break;
    default:
      fail("[o2] noise spec '", text, "' must start with n (Gaussian), u (uniform) or s (sign)");
  }
  const std::string number = text.substr(1);
  size_t used = 0;
  try {
    spec.epsilon = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  FSA_CHECK(used == number.size() && std::isfinite(spec.epsilon) && spec.epsilon > 0.0,
            "[o2] noise spec '", text, "' needs a positive magnitude after the kind letter");
  return spec;
}

std::vector<NoiseSpec> parse_noise_specs(const std::string& text) {
  std::vector<NoiseSpec> specs;
  if (text.empty() || text == "none") return specs;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    specs.push_back(parse_noise_spec(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return specs;
}

std::string to_string(const std::vector<NoiseSpec>& specs) {
  std::string text;
  for (const NoiseSpec& spec : specs) {
    if (!text.empty()) text += ',';
    text += to_string(spec);
  }
  return text;
}

std::vector<NoiseSpec> o2_detection_specs() { return spec_grid({0.003, 0.005, 0.008}); }
std::vector<NoiseSpec> o2_correction_specs() { return spec_grid({0.01, 0.02, 0.03}); }

LinearHeadClassifier& linear_head(Module& classifier) {
  auto* head = dynamic_cast<LinearHeadClassifier*>(&classifier);
  FSA_CHECK(head != nullptr,
            "[o2] the classifier does not expose penultimate features and a final linear layer "
            "(the ResNets of models/resnet.h do)");
  return *head;
}

Tensor o2_noisy_copies(const Tensor& image, const NoiseSpec& spec, uint64_t seed,
                       uint64_t noise_key, int64_t first_draw, int64_t count) {
  FSA_CHECK(image.ndim() == 3 || (image.ndim() == 4 && image.dim(0) == 1),
            "[o2] noisy copies take one image (C,H,W) or (1,C,H,W), got ", image.shape());
  FSA_CHECK(first_draw >= 0 && count >= 1, "[o2] need draws >= 0 and count >= 1");
  const Tensor x =
      image.ndim() == 3 ? reshape(image, {1, image.dim(0), image.dim(1), image.dim(2)}) : image;
  const int64_t per_image = x.numel();
  const Shape shape{count, x.dim(1), x.dim(2), x.dim(3)};
  const uint64_t stream = stream_seed(seed, noise_key, spec);
  const uint64_t offset = static_cast<uint64_t>(first_draw) * static_cast<uint64_t>(per_image);
  const Backend& backend = backend_for(x.device());
  Tensor noise = Tensor::empty(shape, x.dtype(), x.device());
  switch (spec.kind) {
    case NoiseKind::gaussian:
      backend.fill_normal(noise, 0.0, spec.epsilon, stream, offset);
      break;
    case NoiseKind::uniform:
      backend.fill_uniform(noise, -spec.epsilon, spec.epsilon, stream, offset);
      break;
    case NoiseKind::sign:
      backend.fill_uniform(noise, -1.0, 1.0, stream, offset);
      noise = sign(noise) * spec.epsilon;
      break;
  }
  return clamp(x + noise, 0.0, 1.0);  // (count,C,H,W)
}

O2Alignments o2_alignments(Module& classifier, const Tensor& images,
                           const std::vector<uint64_t>& noise_keys,
                           const O2AlignmentOptions& options,
                           const std::vector<int32_t>& predicted_classes) {
  check_inputs(images, noise_keys, options);
  NoGradGuard no_grad;
  classifier.eval();
  LinearHeadClassifier& head = linear_head(classifier);
  int64_t classes = 0, features = 0;
  const std::vector<double> weight = head_weight(head, classes, features);
  const int64_t n_images = images.dim(0), specs = static_cast<int64_t>(options.specs.size());
  const int64_t draws = options.samples;

  const Tensor clean_features = head.penultimate(images);  // (N,d)
  FSA_CHECK(clean_features.ndim() == 2 && clean_features.dim(1) == features, "[o2] features ",
            clean_features.shape(), " do not match the final layer's ", features, " inputs");
  std::vector<int32_t> predicted = predicted_classes;
  if (predicted.empty()) {
    const Linear& layer = head.final_layer();
    predicted = predictions(linear(clean_features, layer.weight, layer.bias));
  }
  FSA_CHECK(static_cast<int64_t>(predicted.size()) == n_images, "[o2] ", predicted.size(),
            " classes given for ", n_images, " images");

  // Unit u = n·S + e: the M draws of spec e for image n. Its mean feature goes to row u.
  const int64_t units = n_images * specs;
  std::vector<double> noisy_mean(static_cast<size_t>(units * features), 0.0);
  const auto unit_copies = [&](int64_t u, int64_t first_draw, int64_t count) {
    const int64_t n = u / specs;
    return o2_noisy_copies(slice(images, 0, n, n + 1), options.specs[u % specs], options.seed,
                           noise_keys[n], first_draw, count);
  };
  if (draws <= options.rows_per_forward) {
    const int64_t units_per_forward = options.rows_per_forward / draws;
    for (int64_t first = 0; first < units; first += units_per_forward) {
      const int64_t last = std::min(units, first + units_per_forward);
      std::vector<Tensor> copies;
      for (int64_t u = first; u < last; ++u) copies.push_back(unit_copies(u, 0, draws));
      const Tensor phi = head.penultimate(concat(copies, 0));                         // (U·M, d)
      const Tensor means = mean(reshape(phi, {last - first, draws, features}), {1});  // (U, d)
      const std::vector<double> values = means.to_vector();
      std::copy(values.begin(), values.end(), noisy_mean.begin() + first * features);
    }
  } else {
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t m = 0; m < draws; m += options.rows_per_forward) {
        const int64_t count = std::min(options.rows_per_forward, draws - m);
        const std::vector<double> sums =
            sum(head.penultimate(unit_copies(u, m, count)), {0}).to_vector();  // (d)
        for (int64_t j = 0; j < features; ++j) noisy_mean[u * features + j] += sums[j];
      }
      for (int64_t j = 0; j < features; ++j) noisy_mean[u * features + j] /= draws;
    }
  }
  return project_alignments(clean_features.to_vector(), noisy_mean, predicted, weight, specs,
                            classes, features);
}

O2Alignments o2_alignments_unbatched(Module& classifier, const Tensor& images,
                                     const std::vector<uint64_t>& noise_keys,
                                     const O2AlignmentOptions& options) {
  check_inputs(images, noise_keys, options);
  NoGradGuard no_grad;
  classifier.eval();
  LinearHeadClassifier& head = linear_head(classifier);
  int64_t classes = 0, features = 0;
  const std::vector<double> weight = head_weight(head, classes, features);
  const int64_t n_images = images.dim(0), specs = static_cast<int64_t>(options.specs.size());
  O2Alignments out{.specs = specs, .classes = classes, .predicted = {}, .values = {}};
  for (int64_t n = 0; n < n_images; ++n) {
    const Tensor x = slice(images, 0, n, n + 1);
    const std::vector<double> phi = head.penultimate(x).to_vector();  // (d)
    const int32_t y = predictions(classifier.forward(x))[0];
    out.predicted.push_back(y);
    for (int64_t e = 0; e < specs; ++e) {
      std::vector<double> average(static_cast<size_t>(classes), 0.0);
      for (int64_t m = 0; m < options.samples; ++m) {
        const Tensor noisy =
            o2_noisy_copies(x, options.specs[e], options.seed, noise_keys[n], m, 1);
        const std::vector<double> phi_noisy = head.penultimate(noisy).to_vector();
        for (int64_t z = 0; z < classes; ++z) {
          double alignment = 0.0;  // (φ(x) − φ(x+η)) · (w_y − w_z)
          for (int64_t j = 0; j < features; ++j) {
            alignment +=
                (phi[j] - phi_noisy[j]) * (weight[y * features + j] - weight[z * features + j]);
          }
          average[z] += alignment / static_cast<double>(options.samples);
        }
      }
      out.values.insert(out.values.end(), average.begin(), average.end());
    }
  }
  return out;
}

}  // namespace fsa
