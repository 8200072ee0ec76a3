// grad_mode.h: the thread-local switch that turns graph recording off, and NoGradGuard,
// the RAII way to flip it (evaluation, optimizer updates, the backward pass itself).
#pragma once

namespace fsa {

bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace fsa
