// training_run.h: the loop both training commands (train-decoder, train) share: a fresh
// start or an exact resume from OUT/checkpoint.h5, the steps with a progress bar on stderr
// (steps/s, latest loss), one JSON line every --log-every steps appended to OUT/loss.jsonl
// (the step count and the mean of each value over the steps since the last line), and every
// N steps (and at the end) the checkpoint and the trained weights, each written atomically.
//
// Resume: the checkpoint's configuration must equal this run's (anything that changes what a
// step computes: data, seed, batch, model, losses, optimizer); --steps, --checkpoint-every,
// --log-every and --device may change. loss.jsonl is cut back to the checkpoint's step, so
// after a kill and a resume it reads as if the run had never stopped.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "autograd/optim/optimizer.h"
#include "layers/module.h"

namespace fsa::cli {

struct TrainingRun {
  std::string command;  // "train-decoder" (messages, progress label)
  std::string kind;     // checkpoint kind: "decoder" or "classifier"
  std::string out_dir;
  int64_t steps = 0;  // total steps of the run (a resumed run continues up to this)
  int64_t checkpoint_every = 1000;
  int64_t log_every = 10;
  double max_seconds = 0.0;  // > 0: stop at the first log line after this many seconds
  bool resume = false;
  nlohmann::json configuration;  // compared on resume; written into the checkpoint
};

// Adds --checkpoint-every, --log-every, --max-seconds, --out and --resume for `run` to a training
// command whose weights are OUT/<weights_file>.
void add_run_options(CLI::App* command, TrainingRun& run, const std::string& weights_file);

struct TrainingHooks {
  Module* model = nullptr;         // trained module (checkpointed)
  Optimizer* optimizer = nullptr;  // its optimizer (checkpointed)
  // Positions the data and random streams at `step` completed steps (called once, before
  // the first step, with 0 or the checkpoint's step).
  std::function<void(int64_t step)> seek;
  // Runs step `step` (0-based) and returns the values to log ("loss" is shown on stderr).
  std::function<nlohmann::json(int64_t step)> run_step;
  // Writes the trained weights after `steps_done` steps to `path` (atomically).
  std::function<void(const std::string& path, int64_t steps_done)> write_weights;
};

struct TrainingOutcome {
  int64_t first_step = 0;  // where this process started (0, or the checkpoint's step)
  int64_t steps_run = 0;   // steps this process ran
  double seconds = 0.0;
  bool out_of_time = false;    // stopped by --max-seconds before --steps
  nlohmann::json last_values;  // of the last step run
  std::string weights_path, checkpoint_path, log_path;
};

// Runs the loop; OUT/<weights_name> receives the weights. A fresh run refuses an OUT that
// already holds a checkpoint (pass --resume, or choose another --out).
TrainingOutcome run_training(const TrainingRun& run, const TrainingHooks& hooks,
                             const std::string& weights_name);

// Prints the "steps:" line both commands end with (steps run, rate, time, threads).
void print_steps_summary(const TrainingRun& run, const TrainingOutcome& outcome);

// Checks the options shared by the training commands (steps, intervals, output folder).
void check_training_run(const TrainingRun& run);

}  // namespace fsa::cli
