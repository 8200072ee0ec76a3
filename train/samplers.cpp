// samplers.cpp: index streams, epoch batches and decoder training pairs.
#include "train/samplers.h"

#include <algorithm>

#include "data/batching.h"
#include "tensor/check.h"

namespace fsa {

IndexStream::IndexStream(int64_t count, uint64_t seed) : count_(count), seed_(seed) {
  FSA_CHECK(count > 0, "[sampler] needs at least one image, got ", count);
}

std::vector<int64_t> IndexStream::take(int64_t n) {
  std::vector<int64_t> indices;
  indices.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i, ++position_) {
    const int64_t pass = position_ / count_;
    if (pass != pass_) {
      order_ = shuffled(index_range(count_), seed_, static_cast<uint64_t>(pass));
      pass_ = pass;
    }
    indices.push_back(order_[static_cast<size_t>(position_ % count_)]);
  }
  return indices;
}

EpochSampler::EpochSampler(int64_t count, int64_t batch, uint64_t seed)
    : count_(count), batch_(batch), seed_(seed) {
  FSA_CHECK(batch >= 1 && batch <= count, "[sampler] the batch size must be in [1, ", count,
            "] (the number of images), got ", batch);
  steps_per_epoch_ = count / batch;
}

std::vector<int64_t> EpochSampler::batch(int64_t step) {
  FSA_CHECK(step >= 0, "[sampler] negative step ", step);
  const int64_t epoch = step / steps_per_epoch_;
  if (epoch != epoch_) {
    order_ = shuffled(index_range(count_), seed_, static_cast<uint64_t>(epoch));
    epoch_ = epoch;
  }
  const auto start = order_.begin() + (step % steps_per_epoch_) * batch_;
  return {start, start + batch_};
}

std::string to_string(Pairing pairing) {
  switch (pairing) {
    case Pairing::same_class:
      return "same-class";
    case Pairing::any:
      return "any";
    case Pairing::self:
      return "self";
  }
  return "?";
}

Pairing parse_pairing(const std::string& name) {
  if (name == "same-class") return Pairing::same_class;
  if (name == "any") return Pairing::any;
  if (name == "self") return Pairing::self;
  fail("[pairing] unknown pairing '", name, "': expected same-class, any or self");
}

PairSampler::PairSampler(std::vector<int32_t> labels, int64_t classes, int64_t batch,
                         Pairing pairing, uint64_t seed)
    : labels_(std::move(labels)),
      batch_(batch),
      pairing_(pairing),
      stream_(static_cast<int64_t>(labels_.size()), seed),
      buckets_(static_cast<size_t>(std::max<int64_t>(classes, 1))) {
  FSA_CHECK(batch >= 1, "[pairing] the batch size must be positive, got ", batch);
  if (pairing != Pairing::same_class) return;
  std::vector<int64_t> per_class(buckets_.size(), 0);
  for (int32_t label : labels_) {
    FSA_CHECK(label >= 0 && label < classes, "[pairing] label ", label, " is outside [0, ", classes,
              ")");
    ++per_class[static_cast<size_t>(label)];
  }
  FSA_CHECK(std::any_of(per_class.begin(), per_class.end(), [](int64_t n) { return n >= 2; }),
            "[pairing] same-class pairs need a class with at least two images");
}

ImagePairs PairSampler::next() {
  if (pairing_ == Pairing::same_class) return next_same_class();
  if (pairing_ == Pairing::self) {
    const std::vector<int64_t> images = stream_.take(batch_);
    return {images, images};
  }
  const std::vector<int64_t> images = stream_.take(2 * batch_);
  return {{images.begin(), images.begin() + batch_}, {images.begin() + batch_, images.end()}};
}

void PairSampler::skip(int64_t batches) {
  for (int64_t i = 0; i < batches; ++i) next();
}

ImagePairs PairSampler::next_same_class() {
  while (complete_pairs_ < batch_) {
    for (int64_t index : stream_.take(batch_)) {
      std::deque<int64_t>& bucket =
          buckets_[static_cast<size_t>(labels_[static_cast<size_t>(index)])];
      bucket.push_back(index);
      if (bucket.size() % 2 == 0) ++complete_pairs_;
    }
  }
  ImagePairs pairs;
  int64_t needed = batch_;
  size_t visited = 0;
  size_t k = next_class_;
  for (; visited < buckets_.size() && needed > 0; ++visited, k = (k + 1) % buckets_.size()) {
    std::deque<int64_t>& bucket = buckets_[k];
    const int64_t take = std::min<int64_t>(needed, static_cast<int64_t>(bucket.size()) / 2);
    for (int64_t i = 0; i < take; ++i) pairs.content.push_back(bucket[static_cast<size_t>(i)]);
    for (int64_t i = take; i < 2 * take; ++i) pairs.style.push_back(bucket[static_cast<size_t>(i)]);
    bucket.erase(bucket.begin(), bucket.begin() + 2 * take);
    needed -= take;
  }
  next_class_ = k;
  complete_pairs_ -= batch_;
  return pairs;
}

}  // namespace fsa
