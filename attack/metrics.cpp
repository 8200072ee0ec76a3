// metrics.cpp: per-sample measurements on the host, and their summary. Nothing here is
// differentiated: every forward runs without recording.
#include "attack/metrics.h"

#include <algorithm>
#include <cmath>

#include "attack/rows.h"
#include "attack/style.h"
#include "autograd/grad_mode.h"

namespace fsa {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct RowDistances {
  std::vector<double> linf, l2;
};

// Per-row L∞ and L2 of a − b for two tensors (N, ...).
RowDistances row_distances(const Tensor& a, const Tensor& b) {
  FSA_CHECK(a.shape() == b.shape(), "[metrics] cannot compare ", a.shape(), " with ", b.shape());
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  const size_t n = static_cast<size_t>(a.dim(0)), per_row = x.size() / n;
  RowDistances d{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (size_t i = 0; i < n; ++i) {
    double linf = 0.0, squares = 0.0;
    for (size_t j = i * per_row; j < (i + 1) * per_row; ++j) {
      const double diff = x[j] - y[j];
      linf = std::max(linf, std::abs(diff));
      squares += diff * diff;
    }
    d.linf[i] = linf;
    d.l2[i] = std::sqrt(squares);
  }
  return d;
}

std::vector<AdversarialMetrics> adversarial_metrics(Module& classifier, Module* encoder,
                                                    const Tensor& clean, const Tensor& features,
                                                    const Tensor& adversarial,
                                                    const std::vector<int32_t>& labels,
                                                    const std::vector<int32_t>& targets,
                                                    std::vector<int32_t>& predicted) {
  const Tensor logits = classifier(adversarial);
  const int64_t top = std::min<int64_t>(5, logits.dim(1));
  const std::vector<uint8_t> top1 = in_top_k(logits, labels, 1);
  const std::vector<uint8_t> top5 = in_top_k(logits, labels, top);
  predicted = predictions(logits);
  const RowDistances pixel = row_distances(adversarial, clean);
  RowDistances feature;
  if (encoder != nullptr) {
    feature = row_distances(instance_normalize((*encoder)(adversarial)), features);
  }
  std::vector<AdversarialMetrics> out(labels.size());
  for (size_t i = 0; i < out.size(); ++i) {
    AdversarialMetrics& m = out[i];
    m.top1 = top1[i];
    m.top5 = top5[i];
    m.fooled = targets.empty() ? predicted[i] != labels[i] : predicted[i] == targets[i];
    m.pixel_linf = pixel.linf[i];
    m.pixel_l2 = pixel.l2[i];
    m.feature_linf = encoder != nullptr ? feature.linf[i] : kNaN;
    m.feature_l2 = encoder != nullptr ? feature.l2[i] : kNaN;
  }
  return out;
}

double mean_of(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double total = 0.0;
  for (double v : values) total += v;
  return total / static_cast<double>(values.size());
}

double median_of(std::vector<double> values) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

// Adds the figures of one adversarial set (float or quantised) under `prefix`.
void summarize_adversarial(const std::vector<SampleMetrics>& samples, bool quantised,
                           const std::string& prefix, MetricSummary& out) {
  const auto pick = [quantised](const SampleMetrics& s) -> const AdversarialMetrics& {
    return quantised ? s.quantised : s.adversarial;
  };
  std::vector<double> top1, top5, robust, fooled_of_correct;
  std::vector<double> px_linf, px_l2, ft_linf, ft_l2, px_linf_all, px_l2_all, ft_linf_all,
      ft_l2_all;
  for (const SampleMetrics& s : samples) {
    const AdversarialMetrics& m = pick(s);
    top1.push_back(m.top1);
    top5.push_back(m.top5);
    robust.push_back(s.clean_top1 && m.top1);
    px_linf_all.push_back(m.pixel_linf);
    px_l2_all.push_back(m.pixel_l2);
    ft_linf_all.push_back(m.feature_linf);
    ft_l2_all.push_back(m.feature_l2);
    if (!s.clean_top1) continue;
    fooled_of_correct.push_back(m.fooled);
    if (!m.fooled) continue;
    px_linf.push_back(m.pixel_linf);
    px_l2.push_back(m.pixel_l2);
    ft_linf.push_back(m.feature_linf);
    ft_l2.push_back(m.feature_l2);
  }
  const auto add = [&](const std::string& name, double value) {
    out.emplace_back(prefix + name, value);
  };
  add("adversarial_top1", mean_of(top1));
  add("adversarial_top5", mean_of(top5));
  add("robust_top1", mean_of(robust));
  add("success_rate", mean_of(fooled_of_correct));
  add("successes", static_cast<double>(px_linf.size()));
  add("pixel_linf", mean_of(px_linf));
  add("pixel_l2", mean_of(px_l2));
  add("pixel_linf_255", 255.0 * mean_of(px_linf));
  add("pixel_l2_255", 255.0 * mean_of(px_l2));
  add("feature_linf", mean_of(ft_linf));
  add("feature_l2", mean_of(ft_l2));
  add("pixel_linf_all", mean_of(px_linf_all));
  add("pixel_l2_all", mean_of(px_l2_all));
  add("pixel_linf_255_all", 255.0 * mean_of(px_linf_all));
  add("pixel_l2_255_all", 255.0 * mean_of(px_l2_all));
  add("feature_linf_all", mean_of(ft_linf_all));
  add("feature_l2_all", mean_of(ft_l2_all));
}

}  // namespace

Tensor quantize_8bit(const Tensor& x) {
  std::vector<double> values = x.to_vector();
  for (double& v : values) v = std::round(255.0 * std::clamp(v, 0.0, 1.0)) / 255.0;
  return Tensor::from_vector(values, x.shape(), x.dtype(), x.device());
}

std::vector<SampleMetrics> measure_batch(Module& classifier, Module* encoder,
                                         const MetricInputs& in) {
  FSA_CHECK(in.clean.ndim() == 4 && in.adversarial.shape() == in.clean.shape(), "[metrics] clean ",
            in.clean.shape(), " and adversarial ", in.adversarial.shape(),
            " images must be (N,C,H,W) of one shape");
  FSA_CHECK(!in.decoded.defined() || in.decoded.shape() == in.clean.shape(), "[metrics] decoded ",
            in.decoded.shape(), " does not match clean ", in.clean.shape());
  NoGradGuard no_grad;
  classifier.eval();
  if (encoder != nullptr) encoder->eval();
  const std::vector<int32_t> labels = label_vector(in.labels);
  FSA_CHECK(static_cast<int64_t>(labels.size()) == in.clean.dim(0), "[metrics] ", labels.size(),
            " labels for images ", in.clean.shape());
  const std::vector<int32_t> targets =
      in.targets.defined() ? label_vector(in.targets) : std::vector<int32_t>();

  const Tensor clean_logits = classifier(in.clean);
  const int64_t top = std::min<int64_t>(5, clean_logits.dim(1));
  const std::vector<uint8_t> clean_top1 = in_top_k(clean_logits, labels, 1);
  const std::vector<uint8_t> clean_top5 = in_top_k(clean_logits, labels, top);
  const std::vector<int32_t> clean_predicted = predictions(clean_logits);
  std::vector<uint8_t> decoded_top1, decoded_top5;
  if (in.decoded.defined()) {
    const Tensor decoded_logits = classifier(in.decoded);
    decoded_top1 = in_top_k(decoded_logits, labels, 1);
    decoded_top5 = in_top_k(decoded_logits, labels, top);
  }
  Tensor features;
  if (encoder != nullptr) features = instance_normalize((*encoder)(in.clean));

  std::vector<int32_t> predicted, predicted_quantised;
  const auto adversarial = adversarial_metrics(classifier, encoder, in.clean, features,
                                               in.adversarial, labels, targets, predicted);
  const auto quantised =
      adversarial_metrics(classifier, encoder, in.clean, features, quantize_8bit(in.adversarial),
                          labels, targets, predicted_quantised);

  std::vector<SampleMetrics> samples(labels.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    SampleMetrics& s = samples[i];
    s.record = in.first_record + static_cast<int64_t>(i);
    s.label = labels[i];
    s.target = targets.empty() ? -1 : targets[i];
    s.clean_prediction = clean_predicted[i];
    s.adversarial_prediction = predicted[i];
    s.clean_top1 = clean_top1[i];
    s.clean_top5 = clean_top5[i];
    s.has_decoded = in.decoded.defined();
    s.decoded_top1 = s.has_decoded && decoded_top1[i];
    s.decoded_top5 = s.has_decoded && decoded_top5[i];
    s.adversarial = adversarial[i];
    s.quantised = quantised[i];
  }
  return samples;
}

MetricSummary summarize(const std::vector<SampleMetrics>& samples) {
  MetricSummary out;
  std::vector<double> clean_top1, clean_top5, decoded_top1, decoded_top5, first_success;
  for (const SampleMetrics& s : samples) {
    clean_top1.push_back(s.clean_top1);
    clean_top5.push_back(s.clean_top5);
    if (s.has_decoded) {
      decoded_top1.push_back(s.decoded_top1);
      decoded_top5.push_back(s.decoded_top5);
    }
    if (s.clean_top1 && s.adversarial.fooled && s.first_success >= 0)
      first_success.push_back(static_cast<double>(s.first_success));
  }
  double correct = 0.0;
  for (double c : clean_top1) correct += c;
  out.emplace_back("images", static_cast<double>(samples.size()));
  out.emplace_back("clean_correct", correct);
  out.emplace_back("clean_top1", mean_of(clean_top1));
  out.emplace_back("clean_top5", mean_of(clean_top5));
  out.emplace_back("decoded_top1", mean_of(decoded_top1));
  out.emplace_back("decoded_top5", mean_of(decoded_top5));
  out.emplace_back("median_first_success", median_of(first_success));
  summarize_adversarial(samples, false, "", out);
  summarize_adversarial(samples, true, "quantised_", out);
  return out;
}

double summary_value(const MetricSummary& summary, const std::string& name) {
  for (const auto& [key, value] : summary) {
    if (key == name) return value;
  }
  fail("[metrics] no summary value named '", name, "'");
}

}  // namespace fsa
