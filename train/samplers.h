// samplers.h: which images each training step reads, as pure functions of (seed, step) or of a
// replayable stream, so a resumed run reads exactly what an uninterrupted one would.
//   IndexStream  — the indices 0..count-1 in a fresh permutation per pass (data/batching.h's
//                  shuffled(seed, pass)), read consecutively across passes;
//   EpochSampler — classifier batches: step s reads batch s mod P of pass s div P, with P full
//                  batches per pass (the incomplete last batch of each pass is dropped);
//   PairSampler  — decoder training pairs (algorithm.md §4.2), by policy:
//       same_class: the official streaming pairing. Images are fetched B at a time from an
//                   IndexStream into one FIFO bucket per class until the buckets hold B
//                   disjoint pairs; then classes are visited round-robin from where the last
//                   batch stopped, each at most once, and a class with n buffered images gives
//                   k = min(pairs still needed, n div 2) pairs: its first k images are contents,
//                   the next k styles;
//       any:        2B consecutive stream images, the first B contents, the next B styles;
//       self:       B stream images, each its own style (AdaIN is then the identity: a pure
//                   reconstruction objective).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace fsa {

class IndexStream {
 public:
  IndexStream(int64_t count, uint64_t seed);
  // The next `n` indices of the stream.
  std::vector<int64_t> take(int64_t n);
  // Indices read so far.
  int64_t position() const { return position_; }

 private:
  int64_t count_;
  uint64_t seed_;
  int64_t position_ = 0;
  int64_t pass_ = -1;
  std::vector<int64_t> order_;  // the permutation of the current pass
};

class EpochSampler {
 public:
  // Needs 1 <= batch <= count.
  EpochSampler(int64_t count, int64_t batch, uint64_t seed);
  std::vector<int64_t> batch(int64_t step);
  int64_t steps_per_epoch() const { return steps_per_epoch_; }

 private:
  int64_t count_, batch_;
  uint64_t seed_;
  int64_t steps_per_epoch_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

enum class Pairing { same_class, any, self };
std::string to_string(Pairing pairing);
Pairing parse_pairing(const std::string& name);  // "same-class" | "any" | "self"

struct ImagePairs {
  std::vector<int64_t> content;
  std::vector<int64_t> style;
};

class PairSampler {
 public:
  // labels: the class of each image, in [0, classes). same_class needs a class with two or
  // more images; the other policies ignore the labels.
  PairSampler(std::vector<int32_t> labels, int64_t classes, int64_t batch, Pairing pairing,
              uint64_t seed);
  ImagePairs next();
  // Draws and discards `batches` batches (a resumed run catches up with the stream).
  void skip(int64_t batches);

 private:
  ImagePairs next_same_class();

  std::vector<int32_t> labels_;
  int64_t batch_;
  Pairing pairing_;
  IndexStream stream_;
  std::vector<std::deque<int64_t>> buckets_;  // per class, oldest first
  int64_t complete_pairs_ = 0;                // Σ_class floor(bucket size / 2)
  size_t next_class_ = 0;                     // where the next batch starts visiting
};

}  // namespace fsa
