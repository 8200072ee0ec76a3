// progress.h: a progress bar on stderr for long loops over images: done/total, percent,
// throughput (images/s) and the time left. On a terminal it redraws one line (at most ten
// times a second); otherwise it prints a line at every tenth of the way, for logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fsa::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  // `items` more are done.
  void advance(int64_t items);
  // Draws the final state and ends the line; called by the destructor if not before.
  void finish();
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  double elapsed_seconds() const;
  double items_per_second() const;

 private:
  void draw(bool final_line);

  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  bool terminal_ = false;
  bool finished_ = false;
  int64_t last_tenth_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fsa::cli
