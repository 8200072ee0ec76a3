// detect_eval.cpp: `fsa detect eval`: scores clean CIFAR-10 test images and the adversarial
// images of `fsa attack` output folders with a calibrated O2 detector, and reports, for each
// decision rule (the z cut-off, the held-out thresholds, and thresholds set on the clean test
// scores themselves, marked as such), the false-positive rate on the clean images and the
// detection rate on the successful and on all adversarial images, plus the ROC-AUC of S(x).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "attack/o2_statistics.h"
#include "attack/rows.h"
#include "autograd/ops.h"
#include "cli/attack_folder.h"
#include "cli/detect_support.h"
#include "cli/device_option.h"
#include "cli/json_file.h"
#include "cli/o2_detector_file.h"
#include "data/assets.h"
#include "data/image_io.h"

namespace fsa::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A decision rule: flag S(x) > threshold.
struct Rule {
  std::string name;
  double threshold;
  std::string source;  // "z-cutoff", "held-out", "clean-test (oracle)"
};

struct ScoredSet {
  std::string name, path, command;
  bool complete = true;
  std::vector<int64_t> records;
  std::vector<int32_t> predicted;
  std::vector<double> scores;
  std::vector<uint8_t> successful;
  int64_t disagreements = 0;  // success here differs from the attack's quantised "fooled"
  std::vector<int32_t> labels;
  std::vector<int32_t> corrected;  // with correction statistics: the z rule's final classes
  double scoring_seconds = 0.0;    // detection scoring only (not loading, not correction)
};

// The classes after the z rule with correction (§5): inputs flagged by S(x) > Φ⁻¹(p) get
// the class guessed from their correction alignments; the others keep their prediction.
// Empty when the detector holds no correction statistics.
std::vector<int32_t> corrected_classes(Module& classifier, const Tensor& images,
                                       const std::vector<uint64_t>& keys,
                                       const std::vector<int32_t>& predicted,
                                       const std::vector<double>& scores,
                                       const O2Detector& detector, const DetectEvalOptions& o,
                                       Device device, const std::string& label) {
  if (detector.correction_specs.empty()) return {};
  const double cutoff = normal_quantile(detector.cutoff_probability);
  std::vector<uint8_t> flagged;
  std::vector<uint64_t> flagged_keys;
  std::vector<int32_t> flagged_predicted;
  for (size_t i = 0; i < scores.size(); ++i) {
    flagged.push_back(scores[i] > cutoff);
    if (flagged.back()) {
      flagged_keys.push_back(keys[i]);
      flagged_predicted.push_back(predicted[i]);
    }
  }
  std::vector<int32_t> result = predicted;
  if (flagged_keys.empty()) return result;
  const O2AlignmentOptions correction{.specs = detector.correction_specs,
                                      .samples = detector.samples,
                                      .seed = detector.seed,
                                      .rows_per_forward = o.rows};
  ProgressBar progress(label + " correction", static_cast<int64_t>(flagged_keys.size()));
  const std::vector<int32_t> guessed = o2_corrected_classes(
      detector.correction,
      alignments_in_batches(classifier, select_rows(images, flagged), flagged_keys, correction,
                            device, o.batch, progress, flagged_predicted));
  for (size_t i = 0, k = 0; i < result.size(); ++i) {
    if (flagged[i]) result[i] = guessed[k++];
  }
  return result;
}

double accuracy(const std::vector<int32_t>& classes, const std::vector<int32_t>& labels) {
  if (classes.empty()) return std::numeric_limits<double>::quiet_NaN();
  int64_t correct = 0;
  for (size_t i = 0; i < classes.size(); ++i) correct += classes[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(classes.size());
}

void check_model_matches(const O2Detector& detector, const LoadedModel& model,
                         const DetectEvalOptions& o) {
  const std::string fingerprint = final_layer_fingerprint(*model.module);
  FSA_CHECK(model.attributes.architecture == detector.architecture &&
                fingerprint == detector.final_layer_fingerprint,
            "[detect] --model '", o.model, "' (", model.attributes.architecture,
            ", final layer fingerprint ", fingerprint, ") is not the model the detector '",
            o.detector, "' was calibrated on (", detector.architecture, ", fingerprint ",
            detector.final_layer_fingerprint, ")");
}

// Thresholds calibrated on test records that are evaluated again overstate how well they hold.
void warn_if_holdout_overlaps(const O2Detector& detector, int64_t first, int64_t count) {
  if (detector.config.value("holdout_split", "") != "test") return;
  const json& records = detector.config.at("holdout_records");
  const int64_t lo = records.at(0).get<int64_t>(), hi = records.at(1).get<int64_t>();
  if (first < hi && lo < first + count) {
    std::fprintf(
        stderr,
        "warning: clean test records %lld..%lld overlap the detector's held-out test "
        "records %lld..%lld; the held-out thresholds' FPR is then not an honest estimate\n",
        static_cast<long long>(first), static_cast<long long>(first + count - 1),
        static_cast<long long>(lo), static_cast<long long>(hi - 1));
  }
}

Tensor load_pngs(const std::vector<AttackFolderSample>& samples) {
  std::vector<Tensor> images;
  for (const AttackFolderSample& s : samples) {
    const Tensor image = load_image(s.png);  // (3,H,W)
    images.push_back(reshape(image, {1, image.dim(0), image.dim(1), image.dim(2)}));
  }
  return concat(images, 0);
}

ScoredSet score_attack_folder(const std::string& dir, const O2Detector& detector,
                              Module& classifier, const O2AlignmentOptions& alignment,
                              const DetectEvalOptions& o, Device device) {
  const AttackFolder folder = read_attack_folder(dir);
  FSA_CHECK(folder.architecture == detector.architecture, "[detect] the attack in '", dir,
            "' ran against a ", folder.architecture, " classifier, but the detector is for ",
            detector.architecture);
  if (!folder.complete) {
    std::fprintf(stderr, "warning: '%s' holds the metrics.json of an unfinished attack run\n",
                 dir.c_str());
  }
  ScoredSet set;
  set.path = dir;
  set.name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (set.name.empty()) set.name = dir;
  set.command = folder.command;
  set.complete = folder.complete;
  std::vector<uint64_t> keys;
  for (const AttackFolderSample& s : folder.samples) {
    set.records.push_back(s.record);
    keys.push_back(o2_noise_key(false, s.record));
  }
  const Tensor images = load_pngs(folder.samples);
  O2Alignments alignments;
  {
    ProgressBar progress(set.name, images.dim(0));
    alignments =
        alignments_in_batches(classifier, images, keys, alignment, device, o.batch, progress);
    set.scoring_seconds = progress.elapsed_seconds();
  }
  set.predicted = alignments.predicted;
  set.scores = o2_scores(detector.statistics, alignments);
  for (size_t i = 0; i < folder.samples.size(); ++i) {
    const AttackFolderSample& s = folder.samples[i];
    const bool fooled = s.target >= 0 ? set.predicted[i] == s.target : set.predicted[i] != s.label;
    const bool success = s.clean_top1 && fooled;
    set.successful.push_back(success);
    set.disagreements += fooled != s.quantised_fooled;
    set.labels.push_back(s.label);
  }
  set.corrected = corrected_classes(classifier, images, keys, set.predicted, set.scores, detector,
                                    o, device, set.name);
  return set;
}

std::vector<double> subset(const std::vector<double>& values, const std::vector<uint8_t>& keep) {
  std::vector<double> out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (keep[i]) out.push_back(values[i]);
  }
  return out;
}

std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f %%", 100.0 * fraction);
  return text;
}

std::string number(double value, int decimals) {
  if (!std::isfinite(value)) return value < 0 ? "-inf" : "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::vector<Rule> decision_rules(const O2Detector& detector, const std::vector<double>& clean) {
  std::vector<Rule> rules;
  char name[96];
  std::snprintf(name, sizeof name, "z > %.3f (p = %g)",
                normal_quantile(detector.cutoff_probability), detector.cutoff_probability);
  rules.push_back({name, normal_quantile(detector.cutoff_probability), "z-cutoff"});
  for (const O2Threshold& t : detector.thresholds) {
    std::snprintf(name, sizeof name, "held-out FPR %g %% (S > %s)", 100.0 * t.target_fpr,
                  number(t.threshold, 3).c_str());
    rules.push_back({name, t.threshold, "held-out"});
  }
  for (double target : {0.01, 0.05}) {
    const double tau = threshold_for_fpr(clean, target);
    std::snprintf(name, sizeof name, "test FPR %g %% [oracle] (S > %s)", 100.0 * target,
                  number(tau, 3).c_str());
    rules.push_back({name, tau, "clean-test (oracle)"});
  }
  return rules;
}

void print_table(const std::vector<Rule>& rules, const std::vector<double>& clean,
                 const std::vector<ScoredSet>& sets) {
  std::printf("\n  %-44s %10s", "rule: flag S(x) >", "clean FPR");
  for (const ScoredSet& s : sets) std::printf(" %24s", (s.name + " succ. / all").c_str());
  std::printf("\n");
  for (const Rule& r : rules) {
    std::printf("  %-44s %10s", r.name.c_str(),
                percent(fraction_above(clean, r.threshold)).c_str());
    for (const ScoredSet& s : sets) {
      const std::string cell =
          percent(fraction_above(subset(s.scores, s.successful), r.threshold)) + " / " +
          percent(fraction_above(s.scores, r.threshold));
      std::printf(" %24s", cell.c_str());
    }
    std::printf("\n");
  }
  std::printf("  %-44s %10s", "ROC-AUC of S (vs clean)", "");
  for (const ScoredSet& s : sets) {
    const std::string cell = number(roc_auc(clean, subset(s.scores, s.successful)), 4) + " / " +
                             number(roc_auc(clean, s.scores), 4);
    std::printf(" %24s", cell.c_str());
  }
  std::printf("\n");
}

json scores_json(const std::vector<double>& scores) {
  json out = json::array();
  for (double s : scores) out.push_back(finite_or_null(s));
  return out;
}

json set_json(const ScoredSet& s, const std::vector<Rule>& rules,
              const std::vector<double>& clean) {
  const std::vector<double> successful = subset(s.scores, s.successful);
  json per_rule = json::array();
  for (const Rule& r : rules) {
    per_rule.push_back(
        {{"rule", r.name},
         {"detection_rate_successful", finite_or_null(fraction_above(successful, r.threshold))},
         {"detection_rate_all", finite_or_null(fraction_above(s.scores, r.threshold))}});
  }
  return {{"name", s.name},
          {"folder", std::filesystem::absolute(s.path).string()},
          {"attack_command", s.command},
          {"attack_complete", s.complete},
          {"images", s.scores.size()},
          {"successful", successful.size()},
          {"success_disagreements_with_attack_metrics", s.disagreements},
          {"roc_auc_successful", finite_or_null(roc_auc(clean, successful))},
          {"roc_auc_all", finite_or_null(roc_auc(clean, s.scores))},
          {"accuracy_after_correction", finite_or_null(accuracy(s.corrected, s.labels))},
          {"corrected", s.corrected},
          {"rules", std::move(per_rule)},
          {"records", s.records},
          {"predicted", s.predicted},
          {"successful_flags", s.successful},
          {"scores", scores_json(s.scores)}};
}

}  // namespace

void run_detect_eval(const DetectEvalOptions& options) {
  DetectEvalOptions o = options;
  if (o.data.empty()) o.data = asset_path("data/cifar10").string();
  FSA_CHECK(o.offset >= 0, "[detect] --offset must be >= 0, got ", o.offset);
  FSA_CHECK(o.limit == -1 || o.limit >= 1, "[detect] --limit must be >= 1 (or -1: all), got ",
            o.limit);
  FSA_CHECK(o.batch >= 1 && o.rows >= 1, "[detect] --batch and --rows must be >= 1");
  const O2Detector detector = read_detector_file(o.detector);
  for (const std::string& dir : o.adversarial) read_attack_folder(dir);  // fail before the work
  const Device device = resolve_device(o.device, "detect eval");
  const LoadedModel model = load_model(o.model, ModelKind::classifier, "detect eval", device);
  check_model_matches(detector, model, o);
  Module& classifier = *model.module;
  const O2AlignmentOptions alignment{.specs = detector.detection_specs,
                                     .samples = detector.samples,
                                     .seed = detector.seed,
                                     .rows_per_forward = o.rows};

  const Clock::time_point start = Clock::now();
  const CifarSplit split = cifar10_split(o.data, "test");
  const int64_t count = o.limit < 0 ? split.total_records() - o.offset : o.limit;
  const LabelledImages clean_records = read_split_range(split, o.offset, count);
  warn_if_holdout_overlaps(detector, o.offset, count);
  std::vector<uint64_t> keys;
  for (int64_t i = 0; i < count; ++i) keys.push_back(o2_noise_key(false, o.offset + i));
  O2Alignments clean_alignments;
  double scoring_seconds = 0.0;
  {
    ProgressBar progress("clean", count);
    clean_alignments = alignments_in_batches(classifier, clean_records.images, keys, alignment,
                                             device, o.batch, progress);
    scoring_seconds = progress.elapsed_seconds();
  }
  const std::vector<double> clean = o2_scores(detector.statistics, clean_alignments);
  const std::vector<int32_t> labels = label_vector(clean_records.labels);
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += clean_alignments.predicted[i] == labels[i];
  const std::vector<int32_t> clean_corrected =
      corrected_classes(classifier, clean_records.images, keys, clean_alignments.predicted, clean,
                        detector, o, device, "clean");

  std::vector<ScoredSet> sets;
  int64_t scored = count;
  for (const std::string& dir : o.adversarial) {
    sets.push_back(score_attack_folder(dir, detector, classifier, alignment, o, device));
    scored += static_cast<int64_t>(sets.back().scores.size());
    scoring_seconds += sets.back().scoring_seconds;
  }
  const double total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double per_image = static_cast<double>(alignment.specs.size() * alignment.samples);

  const std::vector<Rule> rules = decision_rules(detector, clean);
  std::printf("O2 detector %s on %s (%s): %zu specs x %lld draws\n", o.detector.c_str(),
              o.model.c_str(), detector.architecture.c_str(), alignment.specs.size(),
              static_cast<long long>(alignment.samples));
  std::printf("  clean test records %lld..%lld: %lld images, accuracy %s\n",
              static_cast<long long>(o.offset), static_cast<long long>(o.offset + count - 1),
              static_cast<long long>(count),
              percent(static_cast<double>(correct) / static_cast<double>(count)).c_str());
  for (const ScoredSet& s : sets) {
    const int64_t successful = std::count(s.successful.begin(), s.successful.end(), 1);
    std::printf("  %s (%s): %zu adversarial images, %lld successful (clean correct, now fooled)\n",
                s.name.c_str(), s.command.c_str(), s.scores.size(),
                static_cast<long long>(successful));
    if (s.disagreements > 0) {
      std::printf("    note: success differs from the attack's quantised 'fooled' on %lld images\n",
                  static_cast<long long>(s.disagreements));
    }
  }
  print_table(rules, clean, sets);
  if (!clean_corrected.empty()) {
    std::printf("  accuracy after correcting the z rule's flagged inputs: clean %s",
                percent(accuracy(clean_corrected, labels)).c_str());
    for (const ScoredSet& s : sets) {
      std::printf(", %s %s", s.name.c_str(), percent(accuracy(s.corrected, s.labels)).c_str());
    }
    std::printf("\n");
  }
  std::printf(
      "  scoring: %lld images in %.1f s = %.2f images/s (%.0f noisy forwards/s, %s); "
      "%.1f s in all\n",
      static_cast<long long>(scored), scoring_seconds, scored / std::max(scoring_seconds, 1e-9),
      scored * per_image / std::max(scoring_seconds, 1e-9), o.device.c_str(), total_seconds);

  if (o.json.empty()) return;
  json clean_rules = json::array();
  std::vector<uint8_t> clean_correct;
  for (size_t i = 0; i < labels.size(); ++i) {
    clean_correct.push_back(clean_alignments.predicted[i] == labels[i]);
  }
  for (const Rule& r : rules) {
    clean_rules.push_back(
        {{"rule", r.name},
         {"source", r.source},
         {"threshold", finite_or_null(r.threshold)},
         {"false_positive_rate", finite_or_null(fraction_above(clean, r.threshold))},
         {"false_positive_rate_correct",
          finite_or_null(fraction_above(subset(clean, clean_correct), r.threshold))}});
  }
  json adversarial = json::array();
  for (const ScoredSet& s : sets) adversarial.push_back(set_json(s, rules, clean));
  const json document = {
      {"command", "fsa detect eval"},
      {"written_utc", utc_timestamp()},
      {"config",
       {{"detector", std::filesystem::absolute(o.detector).string()},
        {"model", std::filesystem::absolute(o.model).string()},
        {"architecture", detector.architecture},
        {"data", std::filesystem::absolute(o.data).string()},
        {"split", "test"},
        {"offset", o.offset},
        {"limit", o.limit},
        {"adversarial", o.adversarial},
        {"batch", o.batch},
        {"rows_per_forward", o.rows},
        {"device", o.device},
        {"threads", thread_count()},
        {"detection_specs", to_string(alignment.specs)},
        {"samples", alignment.samples},
        {"seed", alignment.seed},
        {"cutoff_probability", detector.cutoff_probability}}},
      {"clean",
       {{"images", count},
        {"accuracy", static_cast<double>(correct) / static_cast<double>(count)},
        {"accuracy_after_correction", finite_or_null(accuracy(clean_corrected, labels))},
        {"corrected", clean_corrected},
        {"rules", std::move(clean_rules)},
        {"predicted", clean_alignments.predicted},
        {"labels", labels},
        {"scores", scores_json(clean)}}},
      {"adversarial", std::move(adversarial)},
      {"timing",
       {{"total_seconds", total_seconds},
        {"scoring_seconds", scoring_seconds},
        {"scored_images", scored},
        {"images_per_second", scored / std::max(scoring_seconds, 1e-9)},
        {"noisy_forwards_per_second", scored * per_image / std::max(scoring_seconds, 1e-9)}}}};
  write_json_file(o.json, document);
  std::printf("  written to %s\n", o.json.c_str());
}

}  // namespace fsa::cli
