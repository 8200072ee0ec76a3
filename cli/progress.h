// progress.h: a progress bar on stderr for long loops over images (or other units, such as
// training steps): done/total, percent, throughput (images/s) and the time left, then an
// optional note (e.g. the latest loss). On a terminal it redraws one line (at most ten
// times a second); otherwise it prints a line at every tenth of the way, for logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fsa::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::string unit = "images");
  // `items` more are done.
  void advance(int64_t items);
  // Text shown at the end of the line from the next redraw on.
  void set_note(std::string note) { note_ = std::move(note); }
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
  std::string unit_;
  std::string note_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  bool terminal_ = false;
  bool finished_ = false;
  int64_t last_tenth_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fsa::cli
