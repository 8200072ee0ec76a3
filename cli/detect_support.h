// detect_support.h: what the two `fsa detect` subcommands share: their options, reading a
// run of records of a CIFAR-10 split, the noise keys of images, and scoring images batch by
// batch with a progress bar. detect_command.cpp registers the commands and calibrates;
// detect_eval.cpp evaluates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attack/o2_detector.h"
#include "cli/evaluation.h"
#include "cli/progress.h"

namespace fsa::cli {

struct DetectCalibrateOptions {
  std::string model, data, out;
  std::string device = "cpu";
  int64_t offset = 0;
  int64_t limit = 10000;  // n_collect of the reference
  int64_t holdout = 1000;
  std::string holdout_split = "train";
  int64_t holdout_offset = -1;  // -1: see --help
  int64_t batch = 100;
  int64_t rows = 4096;
  int64_t samples = 256;
  uint64_t seed = 0;
  std::string noise;          // detection specs; default: the PyTorch example's
  std::string correct_noise;  // correction specs ("none": no correction); default: the example's
  std::string pgd_eps = "8/255";
  int64_t pgd_steps = 10;
  double pgd_step_fraction = 0.25;
  double cutoff = kO2DefaultCutoffProbability;
  std::string fpr = "0.01,0.05";
};

struct DetectEvalOptions {
  std::string detector, model, data, json;
  std::vector<std::string> adversarial;
  std::string device = "cpu";
  int64_t offset = 0;
  int64_t limit = 1000;
  int64_t batch = 100;
  int64_t rows = 4096;
};

void run_detect_calibrate(const DetectCalibrateOptions& options);
void run_detect_eval(const DetectEvalOptions& options);

// Records [first, first + count) of a split, across its files; past the end is an error.
LabelledImages read_split_range(const CifarSplit& split, int64_t first, int64_t count);

// The noise stream of an image: training record r -> r; test record r (and adversarial
// images made from it, which so share its draws) -> 2^40 + r.
uint64_t o2_noise_key(bool training_record, int64_t record);

// A list "0.01,0.05" or "8/255,2/255" -> doubles (cli/number_text.h); "none" or "" -> none.
std::vector<double> parse_fraction_list(const std::string& text, const char* option);

// Rows `keep` of images (N,...) on the host, in order.
Tensor select_rows(const Tensor& images, const std::vector<uint8_t>& keep);

// O2 alignments of host images (N,3,H,W) in batches of `batch` images moved to `device`,
// advancing `progress` per batch. predicted: as o2_alignments (empty: the model's own).
O2Alignments alignments_in_batches(Module& classifier, const Tensor& images,
                                   const std::vector<uint64_t>& noise_keys,
                                   const O2AlignmentOptions& options, Device device, int64_t batch,
                                   ProgressBar& progress,
                                   const std::vector<int32_t>& predicted = {});

}  // namespace fsa::cli
