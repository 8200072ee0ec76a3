// o2_statistics.cpp: calibration statistics, scores, thresholds and ROC-AUC of the O2
// detector. Plain loops in double on the host.
#include "attack/o2_statistics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "tensor/check.h"

namespace fsa {

void O2Alignments::append(const O2Alignments& other) {
  if (predicted.empty() && specs == 0) {
    *this = other;
    return;
  }
  FSA_CHECK(other.specs == specs && other.classes == classes, "[o2] cannot append alignments of ",
            other.specs, " specs x ", other.classes, " classes to ", specs, " x ", classes);
  predicted.insert(predicted.end(), other.predicted.begin(), other.predicted.end());
  values.insert(values.end(), other.values.begin(), other.values.end());
}

O2Alignments O2Alignments::select(const std::vector<uint8_t>& keep) const {
  FSA_CHECK(static_cast<int64_t>(keep.size()) == images(), "[o2] selection of ", keep.size(),
            " entries for ", images(), " images");
  O2Alignments out{.specs = specs, .classes = classes, .predicted = {}, .values = {}};
  const size_t per_image = static_cast<size_t>(specs * classes);
  for (size_t n = 0; n < keep.size(); ++n) {
    if (!keep[n]) continue;
    out.predicted.push_back(predicted[n]);
    out.values.insert(out.values.end(), values.begin() + n * per_image,
                      values.begin() + (n + 1) * per_image);
  }
  return out;
}

O2Statistics fit_o2_statistics(const O2Alignments& calibration) {
  const int64_t specs = calibration.specs, classes = calibration.classes;
  FSA_CHECK(specs > 0 && classes > 1, "[o2] calibration alignments need specs and >= 2 classes");
  const size_t cells = static_cast<size_t>(specs * classes);
  O2Statistics statistics{.specs = specs, .classes = classes, .per_class = {}};
  statistics.per_class.assign(
      static_cast<size_t>(classes),
      O2ClassStatistics{0, std::vector<double>(cells, 0.0), std::vector<double>(cells, 0.0)});
  // Two passes (mean, then squared deviations) for a numerically sound population std.
  for (int64_t n = 0; n < calibration.images(); ++n) {
    const int32_t y = calibration.predicted[n];
    FSA_CHECK(y >= 0 && y < classes, "[o2] predicted class ", y, " outside 0..", classes - 1);
    O2ClassStatistics& s = statistics.per_class[y];
    ++s.count;
    for (size_t c = 0; c < cells; ++c) s.mean[c] += calibration.values[n * cells + c];
  }
  for (O2ClassStatistics& s : statistics.per_class) {
    for (double& m : s.mean) m = s.count > 0 ? m / static_cast<double>(s.count) : 0.0;
  }
  for (int64_t n = 0; n < calibration.images(); ++n) {
    O2ClassStatistics& s = statistics.per_class[calibration.predicted[n]];
    for (size_t c = 0; c < cells; ++c) {
      const double d = calibration.values[n * cells + c] - s.mean[c];
      s.std[c] += d * d;
    }
  }
  for (O2ClassStatistics& s : statistics.per_class) {
    for (double& v : s.std) v = s.count > 0 ? std::sqrt(v / static_cast<double>(s.count)) : 0.0;
  }
  return statistics;
}

std::vector<double> o2_scores(const O2Statistics& statistics, const O2Alignments& alignments) {
  FSA_CHECK(statistics.specs == alignments.specs && statistics.classes == alignments.classes,
            "[o2] statistics of ", statistics.specs, " specs x ", statistics.classes,
            " classes do not fit alignments of ", alignments.specs, " x ", alignments.classes);
  const int64_t specs = alignments.specs, classes = alignments.classes;
  std::vector<double> scores;
  scores.reserve(static_cast<size_t>(alignments.images()));
  for (int64_t n = 0; n < alignments.images(); ++n) {
    const int32_t y = alignments.predicted[n];
    const O2ClassStatistics& s = statistics.per_class.at(static_cast<size_t>(y));
    double best = -std::numeric_limits<double>::infinity();
    if (s.usable()) {
      for (int64_t z = 0; z < classes; ++z) {
        if (z == y) continue;
        double z_mean = 0.0;
        for (int64_t e = 0; e < specs; ++e) {
          const size_t cell = static_cast<size_t>(e * classes + z);
          const double sigma = std::max(s.std[cell], std::numeric_limits<double>::min());
          z_mean += (alignments.at(n, e, z) - s.mean[cell]) / sigma;
        }
        best = std::max(best, z_mean / static_cast<double>(specs));
      }
    }
    scores.push_back(best);
  }
  return scores;
}

O2CorrectionStatistics fit_o2_correction(const O2Alignments& adversarial,
                                         const std::vector<int32_t>& sources) {
  const int64_t specs = adversarial.specs, classes = adversarial.classes;
  FSA_CHECK(static_cast<int64_t>(sources.size()) == adversarial.images(), "[o2] ", sources.size(),
            " source classes for ", adversarial.images(), " adversarial images");
  const size_t pairs = static_cast<size_t>(classes * classes);
  O2CorrectionStatistics c{.specs = specs,
                           .classes = classes,
                           .count = std::vector<int64_t>(pairs, 0),
                           .mean = std::vector<double>(pairs * specs, 0.0),
                           .std = std::vector<double>(pairs * specs, 0.0)};
  const auto cell = [&](int64_t n, int64_t e) {
    return static_cast<size_t>((adversarial.predicted[n] * classes + sources[n]) * specs + e);
  };
  for (int64_t n = 0; n < adversarial.images(); ++n) {
    const int32_t t = adversarial.predicted[n], s = sources[n];
    FSA_CHECK(s >= 0 && s < classes && t >= 0 && t < classes && s != t, "[o2] correction pair (", t,
              ", ", s, ") is not two different classes of 0..", classes - 1);
    ++c.count[static_cast<size_t>(t * classes + s)];
    for (int64_t e = 0; e < specs; ++e) c.mean[cell(n, e)] += adversarial.at(n, e, s);
  }
  for (size_t p = 0; p < pairs; ++p) {
    for (int64_t e = 0; e < specs; ++e) {
      if (c.count[p] > 0) c.mean[p * specs + e] /= static_cast<double>(c.count[p]);
    }
  }
  for (int64_t n = 0; n < adversarial.images(); ++n) {
    for (int64_t e = 0; e < specs; ++e) {
      const double d = adversarial.at(n, e, sources[n]) - c.mean[cell(n, e)];
      c.std[cell(n, e)] += d * d;
    }
  }
  for (size_t p = 0; p < pairs; ++p) {
    for (int64_t e = 0; e < specs; ++e) {
      if (c.count[p] > 0) {
        c.std[p * specs + e] = std::sqrt(c.std[p * specs + e] / static_cast<double>(c.count[p]));
      }
    }
  }
  return c;
}

std::vector<int32_t> o2_corrected_classes(const O2CorrectionStatistics& statistics,
                                          const O2Alignments& alignments) {
  FSA_CHECK(statistics.specs == alignments.specs && statistics.classes == alignments.classes,
            "[o2] correction statistics of ", statistics.specs, " specs x ", statistics.classes,
            " classes do not fit alignments of ", alignments.specs, " x ", alignments.classes);
  const int64_t classes = alignments.classes;
  std::vector<int32_t> corrected;
  for (int64_t n = 0; n < alignments.images(); ++n) {
    const int32_t t = alignments.predicted[n];
    std::vector<int64_t> votes(static_cast<size_t>(classes), 0);
    bool any = false;
    for (int64_t e = 0; e < alignments.specs; ++e) {
      int64_t best = -1;
      double best_z = -std::numeric_limits<double>::infinity();
      for (int64_t s = 0; s < classes; ++s) {
        if (s == t || !statistics.usable(t, s)) continue;
        const double sigma =
            std::max(statistics.std_at(t, s, e), std::numeric_limits<double>::min());
        const double z = (alignments.at(n, e, s) - statistics.mean_at(t, s, e)) / sigma;
        if (best < 0 || z > best_z) {
          best = s;
          best_z = z;
        }
      }
      if (best >= 0) {
        ++votes[static_cast<size_t>(best)];
        any = true;
      }
    }
    corrected.push_back(
        any ? static_cast<int32_t>(std::max_element(votes.begin(), votes.end()) - votes.begin())
            : t);
  }
  return corrected;
}

double normal_quantile(double p) {
  FSA_CHECK(p > 0.0 && p < 1.0, "[o2] the cut-off probability must lie in (0, 1), got ", p);
  // Acklam's rational approximations (central region and tails).
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  double x = 0.0;
  if (p < low || p > 1.0 - low) {
    const double q = std::sqrt(-2.0 * std::log(p < low ? p : 1.0 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    if (p > 1.0 - low) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  // One Halley step on Φ(x) − p, with Φ from erfc (accurate in both tails).
  const double error = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = error * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

double threshold_for_fpr(std::vector<double> clean_scores, double target_fpr) {
  FSA_CHECK(!clean_scores.empty(), "[o2] calibrating a threshold needs held-out clean scores");
  FSA_CHECK(target_fpr >= 0.0 && target_fpr <= 1.0, "[o2] target false-positive rate ", target_fpr,
            " outside [0, 1]");
  for (double s : clean_scores) FSA_CHECK(!std::isnan(s), "[o2] a held-out score is NaN");
  const size_t n = clean_scores.size();
  // A small tolerance keeps e.g. 0.07 · 100 from flooring to 6.
  const auto allowed = static_cast<size_t>(std::floor(target_fpr * static_cast<double>(n) + 1e-9));
  if (allowed >= n) return -std::numeric_limits<double>::infinity();
  std::sort(clean_scores.begin(), clean_scores.end(), std::greater<>());
  return clean_scores[allowed];
}

double fraction_above(const std::vector<double>& scores, double threshold) {
  if (scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto above =
      std::count_if(scores.begin(), scores.end(), [threshold](double s) { return s > threshold; });
  return static_cast<double>(above) / static_cast<double>(scores.size());
}

double roc_auc(const std::vector<double>& negatives, const std::vector<double>& positives) {
  if (negatives.empty() || positives.empty()) return std::numeric_limits<double>::quiet_NaN();
  // Mid-ranks of all scores (1-based); AUC = (R_pos − n_pos(n_pos+1)/2) / (n_pos n_neg).
  struct Entry {
    double score;
    bool positive;
  };
  std::vector<Entry> all;
  for (double s : negatives) all.push_back({s, false});
  for (double s : positives) all.push_back({s, true});
  std::sort(all.begin(), all.end(),
            [](const Entry& a, const Entry& b) { return a.score < b.score; });
  double positive_rank_sum = 0.0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].score == all[i].score) ++j;
    const double mid_rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1..j
    for (size_t k = i; k < j; ++k) positive_rank_sum += all[k].positive ? mid_rank : 0.0;
    i = j;
  }
  const double n_pos = static_cast<double>(positives.size());
  const double n_neg = static_cast<double>(negatives.size());
  return (positive_rank_sum - 0.5 * n_pos * (n_pos + 1.0)) / (n_pos * n_neg);
}

}  // namespace fsa
