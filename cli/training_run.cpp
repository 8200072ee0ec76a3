// training_run.cpp: fresh start or resume, the step loop, the JSONL log and checkpoints.
#include "cli/training_run.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/json_file.h"
#include "cli/progress.h"
#include "train/checkpoint.h"

namespace fsa::cli {

namespace {

constexpr const char* kCheckpointName = "checkpoint.h5";
constexpr const char* kLogName = "loss.jsonl";

std::string join(const std::filesystem::path& dir, const std::string& name) {
  return (dir / name).string();
}

// Keys whose values differ between `saved` and `current` (missing on either side included).
std::vector<std::string> differing_keys(const nlohmann::json& saved,
                                        const nlohmann::json& current) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : current.items()) {
    if (!saved.contains(key) || saved.at(key) != value) keys.push_back(key);
  }
  for (const auto& [key, value] : saved.items()) {
    if (!current.contains(key)) keys.push_back(key);
  }
  return keys;
}

void check_same_configuration(const TrainingRun& run, const TrainingCheckpoint& checkpoint) {
  FSA_CHECK(checkpoint.kind == run.kind, "[", run.command, "] '", checkpoint.path,
            "' is a checkpoint of a ", checkpoint.kind, ", not of a ", run.kind);
  const nlohmann::json saved = nlohmann::json::parse(checkpoint.configuration, nullptr, false);
  FSA_CHECK(!saved.is_discarded(), "[", run.command, "] '", checkpoint.path,
            "' holds an unreadable configuration");
  const std::vector<std::string> keys = differing_keys(saved, run.configuration);
  if (keys.empty()) return;
  std::string message = concat_message("[", run.command, "] --resume: the options differ from ",
                                       "those of the checkpoint '", checkpoint.path, "':");
  for (const std::string& key : keys) {
    message += concat_message(
        "\n  ", key, ": checkpoint ", saved.contains(key) ? saved.at(key).dump() : "(absent)",
        ", now ", run.configuration.contains(key) ? run.configuration.at(key).dump() : "(absent)");
  }
  throw Error(message);
}

// Rewrites the log keeping the records of steps <= `step` (and dropping a torn last line).
void cut_log(const std::string& path, int64_t step) {
  std::string kept;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("step")) continue;
    if (record.at("step").get<int64_t>() <= step) kept += line + "\n";
  }
  in.close();
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    FSA_CHECK(out.is_open(), "[training] cannot write '", temporary, "': ", std::strerror(errno));
    out << kept;
    FSA_CHECK(out.good(), "[training] write error on '", temporary, "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  FSA_CHECK(!error, "[training] cannot rename '", temporary, "' to '", path,
            "': ", error.message());
}

// Appends one line and flushes it, so a killed run loses at most the line being written.
void append_line(const std::string& path, const std::string& line) {
  FILE* file = std::fopen(path.c_str(), "a");
  FSA_CHECK(file != nullptr, "[training] cannot append to '", path, "': ", std::strerror(errno));
  const std::string text = line + "\n";
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  FSA_CHECK(written && closed, "[training] write error on '", path, "'");
}

// Means of the logged values over the steps since the last record; "lr" and "epoch" are
// taken from the last step instead.
class IntervalMeans {
 public:
  void add(const nlohmann::json& values) {
    for (const auto& [key, value] : values.items()) {
      if (key == "lr" || key == "epoch" || !value.is_number()) {
        last_[key] = value;
      } else {
        sums_[key] = sums_.value(key, 0.0) + value.get<double>();
      }
    }
    ++count_;
  }
  int64_t count() const { return count_; }
  nlohmann::json take() {
    nlohmann::json means = last_;
    for (const auto& [key, sum] : sums_.items()) {
      means[key] = sum.get<double>() / static_cast<double>(count_);
    }
    sums_ = nlohmann::json::object();
    last_ = nlohmann::json::object();
    count_ = 0;
    return means;
  }

 private:
  nlohmann::json sums_ = nlohmann::json::object();
  nlohmann::json last_ = nlohmann::json::object();
  int64_t count_ = 0;
};

std::string loss_note(const nlohmann::json& values) {
  if (!values.contains("loss")) return "";
  char text[48];
  std::snprintf(text, sizeof text, "loss %.5g", values.at("loss").get<double>());
  return text;
}

}  // namespace

void print_steps_summary(const TrainingRun& run, const TrainingOutcome& outcome) {
  const double rate = outcome.seconds > 0.0 ? outcome.steps_run / outcome.seconds : 0.0;
  std::printf(
      "steps:      %lld run (from step %lld to %lld of %lld), %.3f steps/s, %.1f s, %d threads%s\n",
      static_cast<long long>(outcome.steps_run), static_cast<long long>(outcome.first_step),
      static_cast<long long>(outcome.first_step + outcome.steps_run),
      static_cast<long long>(run.steps), rate, outcome.seconds, thread_count(),
      outcome.out_of_time ? " (stopped by --max-seconds; --resume continues)" : "");
}

void check_training_run(const TrainingRun& run) {
  FSA_CHECK(run.steps >= 1, "[", run.command, "] --steps must be >= 1, got ", run.steps);
  FSA_CHECK(run.checkpoint_every >= 1, "[", run.command, "] --checkpoint-every must be >= 1, got ",
            run.checkpoint_every);
  FSA_CHECK(run.log_every >= 1, "[", run.command, "] --log-every must be >= 1, got ",
            run.log_every);
  FSA_CHECK(run.checkpoint_every % run.log_every == 0, "[", run.command, "] --checkpoint-every (",
            run.checkpoint_every, ") must be a multiple of --log-every (", run.log_every,
            "), so that a resumed run logs the same intervals");
  FSA_CHECK(run.max_seconds >= 0.0, "[", run.command, "] --max-seconds must be >= 0, got ",
            run.max_seconds);
  FSA_CHECK(!run.out_dir.empty(), "[", run.command, "] --out DIR is required");
}

void add_run_options(CLI::App* command, TrainingRun& run, const std::string& weights_file) {
  command
      ->add_option(
          "--checkpoint-every", run.checkpoint_every,
          "write OUT/checkpoint.h5 and OUT/" + weights_file + " every N steps (and at the end)")
      ->default_val(1000)
      ->capture_default_str();
  command->add_option("--log-every", run.log_every, "append to OUT/loss.jsonl every N steps")
      ->default_val(10)
      ->capture_default_str();
  command
      ->add_option("--max-seconds", run.max_seconds,
                   "stop at the first log line after this many seconds, writing the checkpoint "
                   "and the weights (0: no limit); --resume continues the run")
      ->default_val(0)
      ->capture_default_str();
  command->add_option("--out,-o", run.out_dir, "output folder")->required();
  command->add_flag("--resume", run.resume,
                    "continue the run in OUT exactly from its checkpoint (the same options; "
                    "docs/TRAINING.md lists those that may change)");
}

TrainingOutcome run_training(const TrainingRun& run, const TrainingHooks& hooks,
                             const std::string& weights_name) {
  check_training_run(run);
  const std::filesystem::path out(run.out_dir);
  std::filesystem::create_directories(out);
  TrainingOutcome outcome;
  outcome.checkpoint_path = join(out, kCheckpointName);
  outcome.log_path = join(out, kLogName);
  outcome.weights_path = join(out, weights_name);
  const std::string configuration = run.configuration.dump();

  if (run.resume) {
    const TrainingCheckpoint checkpoint = read_training_checkpoint(outcome.checkpoint_path);
    check_same_configuration(run, checkpoint);
    restore_training_checkpoint(checkpoint, *hooks.model, *hooks.optimizer);
    outcome.first_step = checkpoint.step;
    cut_log(outcome.log_path, checkpoint.step);
  } else {
    FSA_CHECK(!std::filesystem::exists(outcome.checkpoint_path), "[", run.command, "] '",
              outcome.checkpoint_path, "' exists: pass --resume to continue that run, or choose ",
              "another --out");
    std::ofstream truncate(outcome.log_path, std::ios::trunc);
  }
  hooks.seek(outcome.first_step);

  const auto save = [&](int64_t done) {
    save_training_checkpoint(outcome.checkpoint_path, run.kind, done, configuration, *hooks.model,
                             *hooks.optimizer);
    hooks.write_weights(outcome.weights_path, done);
  };
  const int64_t to_run = std::max<int64_t>(0, run.steps - outcome.first_step);
  ProgressBar progress(outcome.first_step > 0
                           ? concat_message(run.command, " (from step ", outcome.first_step, ")")
                           : run.command,
                       to_run, "steps");
  IntervalMeans interval;
  for (int64_t step = outcome.first_step; step < run.steps; ++step) {
    nlohmann::json values = hooks.run_step(step);
    interval.add(values);
    const int64_t done = step + 1;
    if (done % run.log_every == 0 || done == run.steps) {
      nlohmann::json record = {{"step", done}, {"steps_averaged", interval.count()}};
      record.update(interval.take());
      record["elapsed_s"] = progress.elapsed_seconds();
      append_line(outcome.log_path, record.dump());
    }
    // Stopping on a log line keeps a resumed run's log intervals those of an uninterrupted one.
    outcome.out_of_time = run.max_seconds > 0.0 && done % run.log_every == 0 && done < run.steps &&
                          progress.elapsed_seconds() >= run.max_seconds;
    if (done % run.checkpoint_every == 0 || done == run.steps || outcome.out_of_time) save(done);
    progress.set_note(loss_note(values));
    progress.advance(1);
    outcome.last_values = std::move(values);
    ++outcome.steps_run;
    if (outcome.out_of_time) break;
  }
  if (outcome.steps_run == 0) hooks.write_weights(outcome.weights_path, outcome.first_step);
  progress.finish();
  outcome.seconds = progress.elapsed_seconds();
  return outcome;
}

}  // namespace fsa::cli
