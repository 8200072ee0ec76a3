// train_test.cpp: the training library (train/): optimizer state export and import,
// checkpoints, image stores and augmentation, the samplers (official same-class pairing),
// the decoder objective (loss goes down; killed-and-resumed runs are bit-identical) and the
// classifier steps (standard, Madry PGD, TRADES) on a few CIFAR-10 records.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/lr_schedule.h"
#include "autograd/optim/sgd.h"
#include "autograd/variable.h"
#include "data/assets.h"
#include "models/decoder.h"
#include "models/registry.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/classifier_training.h"
#include "train/decoder_training.h"
#include "train/image_store.h"
#include "train/samplers.h"

namespace fsa::testing {
namespace {

// Every tensor of two modules equal, bit for bit.
void expect_same_tensors(const Module& a, const Module& b) {
  const auto ta = a.named_tensors(), tb = b.named_tensors();
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_EQ(ta[i].second.to_vector(), tb[i].second.to_vector()) << ta[i].first;
  }
}

// A store of `count` random 8-bit images of size x size, labels cycling through `classes`.
ImageStore random_store(int64_t count, int64_t size, int64_t classes, uint64_t seed) {
  ImageStore store;
  store.height = store.width = size;
  store.classes = classes;
  const std::vector<double> values =
      random_tensor({count * 3 * size * size}, seed, 0, 256).to_vector();
  for (double v : values) store.pixels.push_back(static_cast<uint8_t>(v));
  for (int64_t i = 0; i < count; ++i) store.labels.push_back(static_cast<int32_t>(i % classes));
  return store;
}

// --- optimizer state ------------------------------------------------------------------------

// Two steps of `a`, then its state moved into `b` (a fresh optimizer on a copy of the
// parameter): the third step must agree exactly.
template <typename MakeOptimizer>
void expect_state_round_trip(MakeOptimizer make) {
  const Tensor p = Tensor::from_vector({1.0, -2.0, 0.5}, {3});
  set_requires_grad(p, true);
  auto a = make(p);
  const auto step = [](Optimizer& o, const Tensor& param, double c) {
    o.zero_grad();
    backward(sum(param * param * c));
    o.step();
  };
  step(*a, p, 1.0);
  step(*a, p, 0.5);
  const Tensor q = p.clone();
  set_requires_grad(q, true);
  auto b = make(q);
  b->load_state(a->state());
  step(*a, p, -0.25);
  step(*b, q, -0.25);
  EXPECT_EQ(p.to_vector(), q.to_vector());
}

TEST(OptimizerState, AdamRoundTrip) {
  expect_state_round_trip([](const Tensor& p) {
    return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamParams{.lr = 0.1});
  });
}

TEST(OptimizerState, SgdRoundTrip) {
  expect_state_round_trip([](const Tensor& p) {
    return std::make_unique<Sgd>(std::vector<Tensor>{p}, SgdParams{.lr = 0.1, .momentum = 0.9});
  });
}

TEST(OptimizerState, RejectsForeignState) {
  const Tensor p = Tensor::zeros({3});
  Adam adam({p}, {});
  OptimizerState wrong;
  wrong.tensors["0.velocity"] = Tensor::zeros({3});
  expect_error_containing("[adam] unknown state entry '0.velocity'",
                          [&] { adam.load_state(wrong); });
  OptimizerState misshaped;
  misshaped.tensors["0.m"] = Tensor::zeros({4});
  misshaped.tensors["0.v"] = Tensor::zeros({4});
  misshaped.counters["0.steps"] = 1;
  expect_error_containing("state '0.m' is (4) but parameter 0 is (3)",
                          [&] { adam.load_state(misshaped); });
}

// --- checkpoints ----------------------------------------------------------------------------

TEST(Checkpoint, RoundTripAndRestore) {
  TempDir dir;
  Decoder decoder("relu1_1");
  decoder.requires_grad(true);
  Adam adam(decoder.parameters(), {.lr = 0.01});
  backward(sum(decoder.forward(Tensor::ones({1, 64, 4, 4}))));
  adam.step();
  save_training_checkpoint(dir.file("c.h5"), "decoder", 7, "{\"a\":1}", decoder, adam);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.h5"});  // no temporary left behind

  const TrainingCheckpoint checkpoint = read_training_checkpoint(dir.file("c.h5"));
  EXPECT_EQ(checkpoint.kind, "decoder");
  EXPECT_EQ(checkpoint.step, 7);
  EXPECT_EQ(checkpoint.configuration, "{\"a\":1}");
  EXPECT_EQ(checkpoint.optimizer.counters.at("0.steps"), 1);

  Decoder other("relu1_1", DecoderLayout::wct, 99);
  Adam other_adam(other.parameters(), {.lr = 0.01});
  restore_training_checkpoint(checkpoint, other, other_adam);
  expect_same_tensors(decoder, other);
  EXPECT_EQ(other_adam.step_count(0), 1);

  Decoder wrong("relu2_1");
  Adam wrong_adam(wrong.parameters(), {});
  expect_error_containing("does not match the model",
                          [&] { restore_training_checkpoint(checkpoint, wrong, wrong_adam); });
  expect_error_containing("does not exist", [&] { read_training_checkpoint(dir.file("none.h5")); });
}

// --- images and samplers --------------------------------------------------------------------

TEST(ImageStore, AugmentationIsSeededCropAndFlip) {
  const ImageStore store = random_store(4, 6, 2, 501);
  const std::vector<int64_t> rows = {2, 0, 3};
  // No padding, no flip: the plain images.
  EXPECT_EQ(gather_augmented(store, rows, {.pad = 0, .flip = false}, 0).to_vector(),
            gather_images(store, rows).to_vector());
  const Tensor a = gather_augmented(store, rows, {.pad = 2, .seed = 5}, 10);
  EXPECT_EQ(a.to_vector(), gather_augmented(store, rows, {.pad = 2, .seed = 5}, 10).to_vector());
  EXPECT_NE(a.to_vector(), gather_augmented(store, rows, {.pad = 2, .seed = 5}, 13).to_vector());
  // Flip only: every image is itself or its mirror image.
  const Tensor plain = gather_images(store, rows);
  const Tensor flipped = gather_augmented(store, rows, {.pad = 0, .flip = true, .seed = 3}, 0);
  const Tensor mirrored = flip(plain, 3);
  int flips = 0;
  for (int64_t i = 0; i < 3; ++i) {
    const auto row = slice(flipped, 0, i, i + 1).to_vector();
    const bool same = row == slice(plain, 0, i, i + 1).to_vector();
    const bool mirror = row == slice(mirrored, 0, i, i + 1).to_vector();
    EXPECT_TRUE(same || mirror) << "image " << i;
    flips += mirror ? 1 : 0;
  }
  EXPECT_EQ(gather_labels(store, rows).to_vector(), (std::vector<double>{0, 0, 1}));
}

TEST(Samplers, IndexStreamIsAPermutationPerPass) {
  IndexStream stream(7, 11);
  const std::vector<int64_t> first = stream.take(7), second = stream.take(7);
  EXPECT_EQ(std::set<int64_t>(first.begin(), first.end()).size(), 7u);
  EXPECT_EQ(std::set<int64_t>(second.begin(), second.end()).size(), 7u);
  EXPECT_NE(first, second);
  EpochSampler epochs(10, 3, 11);
  EXPECT_EQ(epochs.steps_per_epoch(), 3);
  std::set<int64_t> seen;
  for (int64_t s = 0; s < 3; ++s) {
    for (int64_t i : epochs.batch(s)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 9u);
}

TEST(Samplers, SameClassPairsAreDisjointAndResumable) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 40; ++i) labels.push_back(i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : 2));
  PairSampler sampler(labels, 3, 4, Pairing::same_class, 21);
  std::vector<ImagePairs> batches;
  for (int b = 0; b < 5; ++b) batches.push_back(sampler.next());
  std::set<int64_t> used;
  for (size_t b = 0; b < batches.size(); ++b) {
    const ImagePairs& pairs = batches[b];
    ASSERT_EQ(pairs.content.size(), 4u);
    ASSERT_EQ(pairs.style.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(labels[pairs.content[i]], labels[pairs.style[i]]);
      // The first 3 batches draw from at most 37 stream images: all of the first pass.
      if (b >= 3) continue;
      EXPECT_TRUE(used.insert(pairs.content[i]).second);
      EXPECT_TRUE(used.insert(pairs.style[i]).second);
    }
  }
  PairSampler resumed(labels, 3, 4, Pairing::same_class, 21);
  resumed.skip(3);
  const ImagePairs fourth = resumed.next();
  EXPECT_EQ(fourth.content, batches[3].content);
  EXPECT_EQ(fourth.style, batches[3].style);
  expect_error_containing("need a class with at least two images", [] {
    PairSampler({0, 1, 2}, 3, 1, Pairing::same_class, 0);
  });
}

// --- decoder training -----------------------------------------------------------------------

struct DecoderSetup {
  Vgg19Encoder encoder{VggLayout::normalised, "relu2_1", 7};
  Decoder decoder{"relu2_1"};
  std::unique_ptr<DecoderTrainer> trainer;
  explicit DecoderSetup(double lr) {
    init_decoder_official(decoder, 3);
    DecoderTrainingOptions options;
    options.lr = lr;
    options.lr_decay = 0.01;
    trainer = std::make_unique<DecoderTrainer>(encoder, decoder, options);
  }
};

TEST(DecoderTraining, LossDecreases) {
  const ImageStore store = random_store(8, 8, 2, 601);
  DecoderSetup setup(2e-3);
  PairSampler sampler(store.labels, 2, 2, Pairing::same_class, 1);
  const ImagePairs fixed = sampler.next();
  const Tensor content = gather_images(store, fixed.content);
  const Tensor style = gather_images(store, fixed.style);
  std::vector<double> losses;
  for (int64_t step = 0; step < 25; ++step) {
    losses.push_back(setup.trainer->train_step(step, content, style).total);
  }
  // Random VGG features are small, so the decrease is slow (0.87 -> 0.66 here).
  EXPECT_LT(losses.back(), 0.85 * losses.front()) << losses.front() << " -> " << losses.back();
}

TEST(DecoderTraining, UpscaledLossesHaveTheUpscaledSize) {
  DecoderSetup setup(1e-3);
  const Tensor images = random_tensor({1, 3, 4, 4}, 602, 0, 1, DType::f32);
  const DecoderLosses losses = decoder_training_losses(setup.encoder, setup.decoder, images, images,
                                                       {.pixel_weight = 1.0, .upscale = 12});
  EXPECT_EQ(losses.decoded.shape(), Shape({1, 3, 12, 12}));
  EXPECT_NEAR(losses.total.item(),
              losses.content.item() + losses.style.item() + losses.pixel.item(), 1e-3);
}

// Steps [from, to) of the store's pair stream; returns the losses.
std::vector<double> run_decoder_steps(DecoderSetup& setup, const ImageStore& store, int64_t from,
                                      int64_t to) {
  PairSampler sampler(store.labels, store.classes, 2, Pairing::same_class, 9);
  sampler.skip(from);
  std::vector<double> losses;
  for (int64_t step = from; step < to; ++step) {
    const ImagePairs pairs = sampler.next();
    losses.push_back(setup.trainer
                         ->train_step(step, gather_images(store, pairs.content),
                                      gather_images(store, pairs.style))
                         .total);
  }
  return losses;
}

TEST(DecoderTraining, KilledAndResumedRunIsBitIdentical) {
  TempDir dir;
  const ImageStore store = random_store(10, 8, 2, 603);
  DecoderSetup uninterrupted(1e-3);
  const std::vector<double> expected = run_decoder_steps(uninterrupted, store, 0, 4);

  {
    DecoderSetup killed(1e-3);
    run_decoder_steps(killed, store, 0, 2);
    save_training_checkpoint(dir.file("c.h5"), "decoder", 2, "{}", killed.decoder,
                             killed.trainer->optimizer());
  }
  DecoderSetup resumed(1e-3);
  restore_training_checkpoint(read_training_checkpoint(dir.file("c.h5")), resumed.decoder,
                              resumed.trainer->optimizer());
  const std::vector<double> continued = run_decoder_steps(resumed, store, 2, 4);
  EXPECT_EQ(continued, std::vector<double>(expected.begin() + 2, expected.end()));
  expect_same_tensors(uninterrupted.decoder, resumed.decoder);
}

// --- classifier training --------------------------------------------------------------------

class ClassifierTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path data = asset_path("data/cifar10");
    if (!std::filesystem::exists(data / "data_batch_1.bin")) GTEST_SKIP() << data << " is absent";
    store_ = load_cifar10_train(data.string(), 16);
  }

  std::shared_ptr<Module> make_resnet() {
    return make_model("cifar_resnet20", {{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}});
  }

  // Steps [from, to) with batches of 8 (augmented); returns the losses.
  std::vector<double> run_steps(ClassifierTrainer& trainer, int64_t from, int64_t to) {
    EpochSampler sampler(store_.size(), 8, 4);
    std::vector<double> losses;
    for (int64_t step = from; step < to; ++step) {
      const std::vector<int64_t> rows = sampler.batch(step);
      const Tensor images = gather_augmented(store_, rows, {.seed = 4}, step * 8);
      losses.push_back(trainer.train_step(step, images, gather_labels(store_, rows)).loss);
    }
    return losses;
  }

  void expect_exact_resume(const ClassifierTrainingOptions& options) {
    TempDir dir;
    const ConstantLr schedule(0.05);
    const auto model_a = make_resnet();
    Sgd sgd_a(model_a->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
    ClassifierTrainer a(*model_a, sgd_a, schedule, options);
    const std::vector<double> expected = run_steps(a, 0, 3);
    {
      const auto model_b = make_resnet();
      Sgd sgd_b(model_b->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
      ClassifierTrainer b(*model_b, sgd_b, schedule, options);
      run_steps(b, 0, 2);
      save_training_checkpoint(dir.file("c.h5"), "classifier", 2, "{}", *model_b, sgd_b);
    }
    const auto model_c = make_resnet();
    Sgd sgd_c(model_c->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
    restore_training_checkpoint(read_training_checkpoint(dir.file("c.h5")), *model_c, sgd_c);
    ClassifierTrainer c(*model_c, sgd_c, schedule, options);
    EXPECT_EQ(run_steps(c, 2, 3), std::vector<double>{expected[2]});
    expect_same_tensors(*model_a, *model_c);
  }

  ImageStore store_;
};

TEST_F(ClassifierTraining, StandardLossDecreases) {
  const auto model = make_resnet();
  Sgd sgd(model->parameters(), {.lr = 0.05, .momentum = 0.9});
  const ConstantLr schedule(0.05);
  ClassifierTrainer trainer(*model, sgd, schedule, {});
  const std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  const Tensor images = gather_images(store_, rows), labels = gather_labels(store_, rows);
  std::vector<double> losses;
  for (int64_t step = 0; step < 12; ++step) {
    losses.push_back(trainer.train_step(step, images, labels).loss);
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << losses.front() << " -> " << losses.back();
}

TEST_F(ClassifierTraining, MadryResumesExactly) {
  expect_exact_resume(
      {.adversary = Adversary::pgd, .pgd = {.step_size = 4.0 / 255.0, .steps = 2}, .seed = 3});
}

TEST_F(ClassifierTraining, TradesResumesExactly) {
  expect_exact_resume(
      {.adversary = Adversary::trades, .pgd = {.step_size = 4.0 / 255.0, .steps = 2}, .seed = 3});
}

TEST_F(ClassifierTraining, TradesExamplesStayInTheBall) {
  const auto model = make_resnet();
  Sgd sgd(model->parameters(), {.lr = 0.0});
  const ConstantLr schedule(0.0);
  ClassifierTrainer trainer(*model, sgd, schedule,
                            {.adversary = Adversary::trades, .pgd = {.steps = 1}});
  const ClassifierStepValues v =
      trainer.train_step(0, gather_images(store_, {0, 1}), gather_labels(store_, {0, 1}));
  EXPECT_GT(v.robust_loss, 0.0);
  EXPECT_NEAR(v.loss, v.natural_loss + 6.0 * v.robust_loss, 1e-5);
}

TEST(ClassifierTrainingErrors, FeatureAttacksNeedTheirAttack) {
  const auto model = make_model("cifar_resnet20");
  Sgd sgd(model->parameters(), {});
  const ConstantLr schedule(0.1);
  ClassifierTrainingOptions options;
  options.adversary = Adversary::fi;
  expect_error_containing("--adversary fi needs the feature attack",
                          [&] { ClassifierTrainer(*model, sgd, schedule, options); });
  options.adversary = Adversary::fa;
  expect_error_containing("--adversary fa needs the feature attack",
                          [&] { ClassifierTrainer(*model, sgd, schedule, options); });
  expect_error_containing("unknown adversary 'fgsm'", [] { parse_adversary("fgsm"); });
}

}  // namespace
}  // namespace fsa::testing
