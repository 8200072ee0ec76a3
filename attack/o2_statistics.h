// o2_statistics.h: the statistics and decision rules of the "Odds are Odd" detector (Roth,
// Kilcher and Hofmann, ICML 2019; shared/docs/o2-detector.md §3, §4, §6), on alignments
// already averaged over the noise draws (attack/o2_detector.h computes those):
//   - per (predicted class y, noise spec e, other class z): the mean μ and population std σ
//     of ā_{y,z,e} over the clean calibration images predicted y (classes with fewer than 3
//     images get none and are never flagged);
//   - the score S(x) = max_{z≠y} mean_e (ā_{y,z,e}(x) − μ_{y,z,e}) / σ_{y,z,e};
//   - the rules: S(x) > Φ⁻¹(p) (p = 0.999 in both published examples: z ≈ 3.09), or S(x) > τ
//     with τ calibrated on held-out clean scores to a target false-positive rate. A global τ
//     on S is the per-pair family τ_{y,z} = μ + τσ of the paper with one common τ;
//   - detection rates and the ROC-AUC of S (clean = negative, adversarial = positive).
// No model here: everything is host arithmetic in double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fsa {

// Noise-averaged alignments of N images: for image n (predicted class y_n), spec e and
// class z, ā_{y_n,z,e} = ⟨w_y − w_z, φ(x) − mean_draws φ(x+η_e)⟩. The entry z = y_n is 0.
struct O2Alignments {
  int64_t specs = 0, classes = 0;
  std::vector<int32_t> predicted;  // (N)
  std::vector<double> values;      // (N, specs, classes), row-major

  int64_t images() const { return static_cast<int64_t>(predicted.size()); }
  double at(int64_t image, int64_t spec, int64_t z) const {
    return values[static_cast<size_t>((image * specs + spec) * classes + z)];
  }
  // Appends the images of `other` (same specs and classes).
  void append(const O2Alignments& other);
  // The images whose `keep` entry is non-zero, in order.
  O2Alignments select(const std::vector<uint8_t>& keep) const;
};

inline constexpr int64_t kO2MinimumClassCount = 3;
inline constexpr double kO2DefaultCutoffProbability = 0.999;

// μ and σ of one predicted class, each (specs, classes); the z = y entries are unused (0).
struct O2ClassStatistics {
  int64_t count = 0;  // calibration images predicted (and labelled) as this class
  std::vector<double> mean, std;
  bool usable() const { return count >= kO2MinimumClassCount; }
};

struct O2Statistics {
  int64_t specs = 0, classes = 0;
  std::vector<O2ClassStatistics> per_class;  // (classes)
};

// Per-class mean and population standard deviation of the calibration alignments.
O2Statistics fit_o2_statistics(const O2Alignments& calibration);

// S(x) for every image; −infinity where the predicted class has no usable statistics (such
// inputs are never flagged). Every spec of the alignments is averaged; a σ of 0 is replaced
// by the smallest positive double.
std::vector<double> o2_scores(const O2Statistics& statistics, const O2Alignments& alignments);

// Correction (§5, the rule without the fitted logistic regression): statistics of the
// calibration PGD images' alignments, keyed by (adversarial class t, source class s): the
// mean and population std over those images of ā_{t,s,e} per correction spec e.
struct O2CorrectionStatistics {
  int64_t specs = 0, classes = 0;
  std::vector<int64_t> count;     // (classes t, classes s)
  std::vector<double> mean, std;  // (classes t, classes s, specs)
  bool usable(int64_t t, int64_t s) const {
    return count[static_cast<size_t>(t * classes + s)] >= kO2MinimumClassCount;
  }
  double mean_at(int64_t t, int64_t s, int64_t e) const {
    return mean[static_cast<size_t>((t * classes + s) * specs + e)];
  }
  double std_at(int64_t t, int64_t s, int64_t e) const {
    return std[static_cast<size_t>((t * classes + s) * specs + e)];
  }
};

// adversarial: alignments of the PGD images against their adversarial classes t;
// sources: the clean (true) class s of each.
O2CorrectionStatistics fit_o2_correction(const O2Alignments& adversarial,
                                         const std::vector<int32_t>& sources);

// The guessed true class of inputs predicted t: per correction spec, the source s with usable
// statistics maximising (ā_{t,s,e} − μ_{t,s,e}) / σ_{t,s,e}; then the most frequent of those
// (ties: the smallest class, as scipy.stats.mode); t itself when no source is usable.
std::vector<int32_t> o2_corrected_classes(const O2CorrectionStatistics& statistics,
                                          const O2Alignments& alignments);

// Φ⁻¹(p) of the standard normal, 0 < p < 1 (Acklam's approximation refined by one Halley
// step on erfc: about 1e-15 relative).
double normal_quantile(double p);

// The threshold τ for which at most floor(target_fpr · n) of the held-out clean scores lie
// strictly above it: the (k+1)-th largest score with k = floor(target_fpr · n); −infinity
// (flag everything) when k >= n. Scores may be −infinity; they must not be NaN.
double threshold_for_fpr(std::vector<double> clean_scores, double target_fpr);

// Fraction of scores strictly above the threshold (NaN for no scores).
double fraction_above(const std::vector<double>& scores, double threshold);

// P(positive > negative) + ½ P(tie) over all pairs (the Mann-Whitney U statistic over
// n_neg·n_pos, with mid-ranks for ties); NaN when either side is empty.
double roc_auc(const std::vector<double>& negatives, const std::vector<double>& positives);

}  // namespace fsa
