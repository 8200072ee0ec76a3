// progress.cpp: the stderr progress bar.
#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace fsa::cli {

namespace {

constexpr int kBarWidth = 30;

std::string format_duration(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, total / 60 % 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(std::max<int64_t>(total, 0)),
      terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressBar::items_per_second() const {
  const double seconds = elapsed_seconds();
  return seconds > 0.0 ? static_cast<double>(done_) / seconds : 0.0;
}

void ProgressBar::advance(int64_t items) {
  done_ = std::min(total_, done_ + items);
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (now - last_draw_ >= std::chrono::milliseconds(100)) {
      last_draw_ = now;
      draw(false);
    }
    return;
  }
  const int64_t tenth = total_ > 0 ? done_ * 10 / total_ : 10;
  if (tenth > last_tenth_ && done_ < total_) {
    last_tenth_ = tenth;
    draw(false);
  }
}

void ProgressBar::finish() {
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double fraction =
      total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kBarWidth, '.');
  const double rate = items_per_second();
  const std::string time =
      final_line || rate <= 0.0
          ? format_duration(elapsed_seconds())
          : "ETA " + format_duration(static_cast<double>(total_ - done_) / rate);
  const bool end_line = final_line || !terminal_;
  const std::string note = note_.empty() ? "" : "  " + note_;
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %3.0f%%  %.1f %s/s  %s%s%s%s", terminal_ ? "\r" : "",
               label_.c_str(), bar.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), 100.0 * fraction, rate, unit_.c_str(), time.c_str(),
               note.c_str(), terminal_ ? "\033[K" : "", end_line ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace fsa::cli
