// o2_detector_file.h: the O2 detector file written by `fsa detect calibrate` and read by
// `fsa detect eval`: one JSON document (nlohmann-json, written atomically) holding the
// model it was calibrated on (architecture and a fingerprint of the final layer), the
// resolved configuration, the calibration counts, every statistic μ, σ per (class, spec,
// class), the correction statistics per (adversarial class, source class, spec) when
// calibrated with correction specs, the held-out clean scores and the thresholds calibrated on
// them. Infinite values (scores and thresholds of −infinity) are stored as null.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attack/o2_detector.h"
#include "attack/o2_statistics.h"

namespace fsa::cli {

inline constexpr const char* kO2DetectorFormat = "fsa-o2-detector";
inline constexpr int kO2DetectorVersion = 1;

struct O2Threshold {
  double target_fpr = 0.0;
  double threshold = 0.0;    // flag S(x) > threshold
  double holdout_fpr = 0.0;  // achieved on the held-out clean images
};

struct O2Detector {
  std::string architecture;
  std::string final_layer_fingerprint;
  std::vector<NoiseSpec> detection_specs;
  int64_t samples = 256;
  uint64_t seed = 0;
  double cutoff_probability = kO2DefaultCutoffProbability;  // p of the z rule
  O2Statistics statistics;
  std::vector<NoiseSpec> correction_specs;  // empty: no correction statistics
  O2CorrectionStatistics correction;
  std::vector<double> holdout_scores;
  std::vector<O2Threshold> thresholds;
  nlohmann::json model, config, calibration, timing;  // descriptive, written as given
};

// FNV-1a (64 bit, hex) over the float32 values of the classifier's final layer weight then
// bias: calibrating and evaluating with different weights is caught by comparing these.
std::string final_layer_fingerprint(Module& classifier);

nlohmann::json detector_to_json(const O2Detector& detector);
// Parses and checks a detector file; a missing file, another format or inconsistent shapes
// is an fsa::Error naming the file.
O2Detector read_detector_file(const std::string& path);

// JSON number, or null for a non-finite value; and back (null -> −infinity).
nlohmann::json finite_or_null(double value);
double number_or_minus_infinity(const nlohmann::json& value);

}  // namespace fsa::cli
