// detect_command.cpp: `fsa detect calibrate|eval`, the "Odds are Odd" detector
// (shared/docs/o2-detector.md). calibrate: clean predictions and an untargeted PGD attack
// against them on CIFAR-10 training records; the correctly classified, successfully attacked
// images give the per-(class, spec) statistics; held-out training records after them give
// thresholds at target false-positive rates; all of it goes to one JSON detector file.
// eval: cli/detect_eval.cpp.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "attack/pgd.h"
#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "cli/commands.h"
#include "cli/detect_support.h"
#include "cli/device_option.h"
#include "cli/json_file.h"
#include "cli/number_text.h"
#include "cli/o2_detector_file.h"
#include "data/assets.h"

namespace fsa::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void validate(const DetectCalibrateOptions& o) {
  FSA_CHECK(!o.out.empty(), "[detect] --out FILE is required");
  FSA_CHECK(o.offset >= 0, "[detect] --offset must be >= 0, got ", o.offset);
  FSA_CHECK(o.limit >= 1, "[detect] --limit must be >= 1, got ", o.limit);
  FSA_CHECK(o.holdout >= 0, "[detect] --holdout must be >= 0, got ", o.holdout);
  FSA_CHECK(o.batch >= 1 && o.rows >= 1, "[detect] --batch and --rows must be >= 1");
  FSA_CHECK(o.samples >= 1, "[detect] --samples must be >= 1, got ", o.samples);
  FSA_CHECK(o.pgd_steps >= 0 && o.pgd_step_fraction > 0,
            "[detect] need --pgd-steps >= 0 and --pgd-step-fraction > 0");
  FSA_CHECK(o.cutoff > 0 && o.cutoff < 1, "[detect] --cutoff must lie in (0, 1), got ", o.cutoff);
  const std::filesystem::path out(o.out);
  FSA_CHECK(!out.has_parent_path() || std::filesystem::is_directory(out.parent_path()),
            "[detect] the folder of --out '", o.out, "' does not exist");
}

PgdOptions calibration_pgd(const DetectCalibrateOptions& o) {
  PgdOptions pgd;
  pgd.norm = PgdNorm::linf;
  pgd.loss = PgdLoss::cross_entropy;
  pgd.epsilon = parse_fraction(o.pgd_eps, "detect", "--pgd-eps");
  FSA_CHECK(pgd.epsilon > 0, "[detect] --pgd-eps must be > 0");
  pgd.step_size = o.pgd_step_fraction * pgd.epsilon;
  pgd.steps = o.pgd_steps;
  pgd.random_start = true;
  pgd.restarts = 1;
  pgd.seed = o.seed;
  return pgd;
}

// The calibration images: correctly classified and fooled by PGD against the prediction.
struct CalibrationSet {
  std::vector<Tensor> images;        // host batches of kept images
  std::vector<Tensor> adversarials;  // their PGD images (kept only for the correction)
  std::vector<uint64_t> keys;
  std::vector<int32_t> classes, adversarial_classes;
  int64_t seen = 0, correct = 0, fooled = 0;
};

Tensor joined(const std::vector<Tensor>& batches) {
  return batches.size() == 1 ? batches[0] : concat(batches, 0);
}

void collect_batch(Module& classifier, const LabelledImages& batch, int64_t first_record,
                   const PgdOptions& pgd, Device device, bool keep_adversarials,
                   CalibrationSet& set) {
  const Tensor x = batch.images.to(device);
  std::vector<int32_t> predicted;
  {
    NoGradGuard no_grad;
    predicted = predictions(classifier(x));
  }
  const PgdResult attacked =
      pgd_attack(classifier, x, Tensor::from_labels(predicted, device), pgd, first_record);
  std::vector<int32_t> adversarial;
  {
    NoGradGuard no_grad;
    adversarial = predictions(classifier(attacked.adversarial));
  }
  const std::vector<int32_t> labels = label_vector(batch.labels);
  std::vector<uint8_t> keep(labels.size(), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool correct = predicted[i] == labels[i], fooled = adversarial[i] != predicted[i];
    set.correct += correct;
    set.fooled += correct && fooled;
    keep[i] = correct && fooled;
    if (keep[i]) {
      set.keys.push_back(o2_noise_key(true, first_record + static_cast<int64_t>(i)));
      set.classes.push_back(predicted[i]);
      set.adversarial_classes.push_back(adversarial[i]);
    }
  }
  set.seen += static_cast<int64_t>(labels.size());
  if (std::find(keep.begin(), keep.end(), 1) != keep.end()) {
    set.images.push_back(select_rows(batch.images, keep));
    if (keep_adversarials) {
      set.adversarials.push_back(select_rows(attacked.adversarial.to(Device::cpu), keep));
    }
  }
}

// The held-out clean records: a split and a run [first, first + count) of it.
struct HoldoutRange {
  std::string split;
  int64_t first = 0, count = 0;
};

HoldoutRange holdout_range(const DetectCalibrateOptions& o, const CifarSplit& train) {
  HoldoutRange range{o.holdout_split, o.holdout_offset, o.holdout};
  if (o.holdout == 0) return range;
  if (o.holdout_split == "train") {
    if (range.first < 0) range.first = o.offset + o.limit;
    FSA_CHECK(range.first + o.holdout <= o.offset || range.first >= o.offset + o.limit,
              "[detect] the held-out training records ", range.first, "..",
              range.first + o.holdout - 1, " overlap the calibration records ", o.offset, "..",
              o.offset + o.limit - 1);
    FSA_CHECK(range.first + o.holdout <= train.total_records(), "[detect] held-out records ",
              range.first, "..", range.first + o.holdout - 1, " (--offset ", o.offset,
              " + --limit ", o.limit, " + --holdout ", o.holdout, ") exceed the ",
              train.total_records(), " training records");
    return range;
  }
  const CifarSplit test = cifar10_split(o.data, "test");
  if (range.first < 0) range.first = test.total_records() - o.holdout;  // the last records
  FSA_CHECK(range.first >= 0 && range.first + o.holdout <= test.total_records(),
            "[detect] held-out test records ", range.first, "..", range.first + o.holdout - 1,
            " exceed the ", test.total_records(), " test records");
  return range;
}

json per_class_counts(const O2Statistics& s) {
  json counts = json::array();
  for (const O2ClassStatistics& c : s.per_class) counts.push_back(c.count);
  return counts;
}

void run_calibrate_impl(DetectCalibrateOptions o) {
  if (o.data.empty()) o.data = asset_path("data/cifar10").string();
  if (o.noise.empty()) o.noise = to_string(o2_detection_specs());
  if (o.correct_noise.empty()) o.correct_noise = to_string(o2_correction_specs());
  validate(o);
  const std::vector<double> targets = parse_fraction_list(o.fpr, "--fpr");
  for (double t : targets) {
    FSA_CHECK(t >= 0 && t <= 1, "[detect] --fpr values must lie in [0, 1], got ", t);
  }
  FSA_CHECK(targets.empty() || o.holdout > 0, "[detect] --fpr needs --holdout > 0 images");
  const O2AlignmentOptions alignment{.specs = parse_noise_specs(o.noise),
                                     .samples = o.samples,
                                     .seed = o.seed,
                                     .rows_per_forward = o.rows};
  FSA_CHECK(!alignment.specs.empty(), "[detect] --noise lists no noise specs");
  O2AlignmentOptions correction = alignment;
  correction.specs = parse_noise_specs(o.correct_noise);
  const PgdOptions pgd = calibration_pgd(o);
  const Device device = resolve_device(o.device, "detect calibrate");
  const LoadedModel model = load_model(o.model, ModelKind::classifier, "detect calibrate", device);
  Module& classifier = *model.module;
  linear_head(classifier);  // fails early for a model without a linear head
  const CifarSplit split = cifar10_split(o.data, "train");
  FSA_CHECK(o.offset + o.limit <= split.total_records(), "[detect] calibration records ", o.offset,
            "..", o.offset + o.limit - 1, " exceed the ", split.total_records(),
            " training records");
  const HoldoutRange holdout = holdout_range(o, split);

  // 1. Clean predictions and PGD; keep the correct, fooled images.
  const Clock::time_point start = Clock::now();
  CalibrationSet set;
  {
    ProgressBar progress("pgd", o.limit);
    for (int64_t first = o.offset; first < o.offset + o.limit; first += o.batch) {
      const int64_t count = std::min(o.batch, o.offset + o.limit - first);
      collect_batch(classifier, read_split_range(split, first, count), first, pgd, device,
                    !correction.specs.empty(), set);
      progress.advance(count);
    }
  }
  const double pgd_seconds = seconds_since(start);
  FSA_CHECK(!set.images.empty(), "[detect] none of the ", set.seen,
            " calibration images is both correctly classified and fooled by PGD");

  // 2. Noise-averaged alignments of the kept images, and their statistics.
  const Tensor kept = joined(set.images);
  const Clock::time_point align_start = Clock::now();
  O2Alignments calibration;
  {
    ProgressBar progress("alignments", kept.dim(0));
    calibration = alignments_in_batches(classifier, kept, set.keys, alignment, device, o.batch,
                                        progress, set.classes);
  }
  const double align_seconds = seconds_since(align_start);
  const O2Statistics statistics = fit_o2_statistics(calibration);

  // 3. Held-out clean images: scores and thresholds at the target false-positive rates.
  const Clock::time_point holdout_start = Clock::now();
  std::vector<double> holdout_scores;
  if (o.holdout > 0) {
    const bool training = holdout.split == "train";
    const LabelledImages held = read_split_range(training ? split : cifar10_split(o.data, "test"),
                                                 holdout.first, holdout.count);
    std::vector<uint64_t> keys;
    for (int64_t i = 0; i < o.holdout; ++i) {
      keys.push_back(o2_noise_key(training, holdout.first + i));
    }
    ProgressBar progress("held-out", o.holdout);
    holdout_scores = o2_scores(
        statistics,
        alignments_in_batches(classifier, held.images, keys, alignment, device, o.batch, progress));
  }
  const double holdout_seconds = seconds_since(holdout_start);

  // 4. Correction (optional): alignments of the PGD images against their adversarial class.
  const Clock::time_point correction_start = Clock::now();
  O2CorrectionStatistics correction_statistics;
  if (!correction.specs.empty()) {
    ProgressBar progress("correction", kept.dim(0));
    correction_statistics = fit_o2_correction(
        alignments_in_batches(classifier, joined(set.adversarials), set.keys, correction, device,
                              o.batch, progress, set.adversarial_classes),
        set.classes);
  }
  const double correction_seconds = seconds_since(correction_start);

  O2Detector detector;
  detector.architecture = model.attributes.architecture;
  detector.final_layer_fingerprint = final_layer_fingerprint(classifier);
  detector.detection_specs = alignment.specs;
  detector.samples = o.samples;
  detector.seed = o.seed;
  detector.cutoff_probability = o.cutoff;
  detector.statistics = statistics;
  detector.correction_specs = correction.specs;
  detector.correction = correction_statistics;
  detector.holdout_scores = holdout_scores;
  for (double t : targets) {
    const double tau = threshold_for_fpr(holdout_scores, t);
    detector.thresholds.push_back({t, tau, fraction_above(holdout_scores, tau)});
  }
  const double z_cutoff = normal_quantile(o.cutoff);
  detector.model = {{"path", std::filesystem::absolute(o.model).string()},
                    {"classes", statistics.classes},
                    {"features", linear_head(classifier).final_layer().weight.dim(1)}};
  detector.config = {{"data", std::filesystem::absolute(o.data).string()},
                     {"split", "train"},
                     {"offset", o.offset},
                     {"limit", o.limit},
                     {"holdout", o.holdout},
                     {"holdout_split", holdout.split},
                     {"holdout_records", {holdout.first, holdout.first + holdout.count}},
                     {"batch", o.batch},
                     {"rows_per_forward", o.rows},
                     {"samples", o.samples},
                     {"seed", o.seed},
                     {"device", o.device},
                     {"noise", o.noise},
                     {"correct_noise", o.correct_noise},
                     {"clip_noisy_images", "[0,1]"},
                     {"pgd",
                      {{"norm", "linf"},
                       {"loss", "ce"},
                       {"target", "clean prediction (untargeted)"},
                       {"epsilon", pgd.epsilon},
                       {"step_size", pgd.step_size},
                       {"steps", pgd.steps},
                       {"random_start", "uniform"},
                       {"seed", pgd.seed}}},
                     {"cutoff_probability", o.cutoff},
                     {"fpr_targets", targets},
                     {"threads", thread_count()}};
  detector.calibration = {
      {"images", set.seen},
      {"clean_correct", set.correct},
      {"correct_and_pgd_fooled", set.fooled},
      {"kept_per_class", per_class_counts(statistics)},
      {"holdout_images", o.holdout},
      {"holdout_fpr_z_cutoff",
       o.holdout > 0 ? finite_or_null(fraction_above(holdout_scores, z_cutoff)) : json(nullptr)}};
  const int64_t scored = kept.dim(0) + o.holdout;
  const double score_seconds = align_seconds + holdout_seconds;
  const double per_image = static_cast<double>(alignment.specs.size() * o.samples);
  detector.timing = {
      {"total_seconds", seconds_since(start)},
      {"pgd_seconds", pgd_seconds},
      {"scoring_seconds", score_seconds},
      {"correction_seconds", correction_seconds},
      {"scored_images", scored},
      {"images_per_second", scored / std::max(score_seconds, 1e-9)},
      {"noisy_forwards_per_second", scored * per_image / std::max(score_seconds, 1e-9)}};
  write_json_file(o.out, detector_to_json(detector));

  std::printf("O2 calibration on %s (%s)\n", o.model.c_str(), detector.architecture.c_str());
  std::printf("  training records %lld..%lld: %lld correct, %lld of them fooled by PGD (kept)\n",
              static_cast<long long>(o.offset), static_cast<long long>(o.offset + o.limit - 1),
              static_cast<long long>(set.correct), static_cast<long long>(set.fooled));
  int64_t usable = 0;
  for (const O2ClassStatistics& c : statistics.per_class) usable += c.usable();
  std::printf(
      "  statistics: %lld of %lld classes usable (>= %lld images), %zu specs x %lld draws\n",
      static_cast<long long>(usable), static_cast<long long>(statistics.classes),
      static_cast<long long>(kO2MinimumClassCount), alignment.specs.size(),
      static_cast<long long>(o.samples));
  if (!correction.specs.empty()) {
    int64_t pairs = 0;
    for (int64_t t = 0; t < correction_statistics.classes; ++t)
      for (int64_t c = 0; c < correction_statistics.classes; ++c)
        pairs += correction_statistics.usable(t, c);
    std::printf("  correction: %zu specs, %lld (adversarial, source) class pairs usable\n",
                correction.specs.size(), static_cast<long long>(pairs));
  }
  if (o.holdout > 0) {
    std::printf("  held-out FPR of z > %.3f (p = %g): %.2f %% of %lld\n", z_cutoff, o.cutoff,
                100.0 * fraction_above(holdout_scores, z_cutoff),
                static_cast<long long>(o.holdout));
  }
  for (const O2Threshold& t : detector.thresholds) {
    std::printf("  threshold for FPR %g %%: %.4f (held-out FPR %.2f %%)\n", 100.0 * t.target_fpr,
                t.threshold, 100.0 * t.holdout_fpr);
  }
  std::printf("  scoring: %lld images in %.1f s = %.2f images/s (%.0f noisy forwards/s, %s)\n",
              static_cast<long long>(scored), score_seconds, scored / std::max(score_seconds, 1e-9),
              scored * per_image / std::max(score_seconds, 1e-9), o.device.c_str());
  std::printf("  written to %s\n", o.out.c_str());
}

void add_calibrate(CLI::App* detect) {
  auto o = std::make_shared<DetectCalibrateOptions>();
  auto* c = detect->add_subcommand(
      "calibrate",
      "Calibrate the O2 detector: per-(class, noise) alignment statistics on correctly "
      "classified, PGD-attackable CIFAR-10 training images, and thresholds on held-out ones.");
  c->add_option("--model", o->model, "classifier weight file (.h5)")->required();
  c->add_option("--data", o->data,
                "CIFAR-10 folder in the binary layout, train split used "
                "(default: <assets>/data/cifar10)");
  c->add_option("--offset", o->offset, "first training record")->capture_default_str();
  c->add_option("--limit", o->limit, "calibration records (the reference's n_collect)")
      ->capture_default_str();
  c->add_option("--holdout", o->holdout,
                "held-out clean records for the false-positive-rate thresholds (0: none)")
      ->capture_default_str();
  c->add_option("--holdout-split", o->holdout_split, "split of the held-out records: train or test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  c->add_option("--holdout-offset", o->holdout_offset,
                "first held-out record (default: train: right after the calibration records; "
                "test: the last --holdout records, so they stay apart from `detect eval`'s "
                "first records)");
  c->add_option("--noise", o->noise,
                "detection noise specs, kind n|u|s + magnitude on [0,1] (default: the PyTorch "
                "example's n,s,u x 0.003,0.005,0.008)");
  c->add_option("--correct-noise", o->correct_noise,
                "correction noise specs, or none: statistics of the calibration PGD images to "
                "guess the true class of flagged inputs; costs as much again as the detection "
                "statistics (default: the PyTorch example's n,s,u x 0.01,0.02,0.03)");
  c->add_option("--samples", o->samples, "noise draws M per spec")->capture_default_str();
  c->add_option("--pgd-eps", o->pgd_eps, "PGD L-infinity radius")->capture_default_str();
  c->add_option("--pgd-steps", o->pgd_steps, "PGD steps")->capture_default_str();
  c->add_option("--pgd-step-fraction", o->pgd_step_fraction, "PGD step size as a fraction of eps")
      ->capture_default_str();
  c->add_option("--cutoff", o->cutoff, "p of the z rule S(x) > Phi^-1(p)")->capture_default_str();
  c->add_option("--fpr", o->fpr, "target false-positive rates of the held-out thresholds")
      ->capture_default_str();
  c->add_option("--seed", o->seed, "seed of PGD starts and noise draws")->capture_default_str();
  c->add_option("--batch", o->batch, "images per batch")->capture_default_str();
  c->add_option("--rows", o->rows, "noisy images per forward pass")->capture_default_str();
  c->add_option("--out", o->out, "detector file to write (JSON)")->required();
  add_device_option(c, o->device);
  c->callback([o] { run_detect_calibrate(*o); });
}

void add_eval(CLI::App* detect) {
  auto o = std::make_shared<DetectEvalOptions>();
  auto* c = detect->add_subcommand(
      "eval",
      "Evaluate an O2 detector: false-positive rate on clean CIFAR-10 test images, detection "
      "rate and ROC-AUC on the adversarial images of `fsa attack` output folders.");
  c->add_option("--detector", o->detector, "detector file from `fsa detect calibrate`")->required();
  c->add_option("--model", o->model, "the classifier weight file it was calibrated on")->required();
  c->add_option("--data", o->data,
                "CIFAR-10 folder in the binary layout, test split used "
                "(default: <assets>/data/cifar10)");
  c->add_option("--offset", o->offset, "first clean test record")->capture_default_str();
  c->add_option("--limit", o->limit, "clean test records (-1: to the end)")->capture_default_str();
  c->add_option("--adversarial", o->adversarial,
                "output folder of `fsa attack fa|pgd` (metrics.json, adversarial/*.png); "
                "repeat for several");
  c->add_option("--batch", o->batch, "images per batch")->capture_default_str();
  c->add_option("--rows", o->rows, "noisy images per forward pass")->capture_default_str();
  c->add_option("--json", o->json, "also write every figure and per-image score as JSON");
  add_device_option(c, o->device);
  c->callback([o] { run_detect_eval(*o); });
}

}  // namespace

void run_detect_calibrate(const DetectCalibrateOptions& options) { run_calibrate_impl(options); }

void add_detect_command(CLI::App& app) {
  auto* detect =
      app.add_subcommand("detect", "The \"Odds are Odd\" detector (Roth et al., ICML 2019).");
  detect->require_subcommand(1);
  add_calibrate(detect);
  add_eval(detect);
}

}  // namespace fsa::cli
