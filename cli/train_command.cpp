// train_command.cpp: `fsa train --out DIR [--arch cifar_resnet20] [--init C.h5]
// [--adversary none|pgd|trades|fa|fi] [--epochs E | --steps N] ... [--resume]`: trains a
// CIFAR-10 classifier, standard or adversarially (train/classifier_training.h; fa and fi
// examples come from attack/feature_attack.h and attack/feature_interpolation.h), with random
// crops (4-pixel zero padding) and flips, SGD with momentum and weight decay, a step or cosine
// schedule, checkpoints and exact resume (cli/training_run.h). Writes DIR/classifier.h5 in
// the weight format `fsa eval` and `fsa attack` load.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "attack/feature_attack.h"
#include "attack/feature_interpolation.h"
#include "autograd/optim/sgd.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/style_prototypes.h"
#include "cli/training_run.h"
#include "data/assets.h"
#include "train/classifier_training.h"
#include "train/image_store.h"
#include "train/samplers.h"
#include "weights/module_weights.h"

namespace fsa::cli {

namespace {

struct TrainOptions {
  std::string architecture = "cifar_resnet20";
  std::string init;
  std::vector<double> mean = {0.4914, 0.4822, 0.4465};  // CIFAR-10 training-set statistics
  std::vector<double> std = {0.2470, 0.2435, 0.2616};
  std::string data_dir;
  int64_t limit = -1;
  int64_t epochs = 0;
  int64_t batch = 128;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool nesterov = false;
  std::string schedule = "cosine";
  int64_t lr_step_size = 0;  // 0: a third of the run
  double lr_gamma = 0.1;
  bool augment = true;
  int64_t pad = 4;
  std::string adversary = "none";
  double epsilon = 8.0 / 255.0;
  double step_size = 2.0 / 255.0;
  int64_t attack_steps = 10;
  double trades_beta = 6.0;
  std::string encoder;
  std::string decoder;
  std::string fa_preset = "paper";
  int64_t fa_iterations = 10;
  int64_t fi_prototypes = 50;
  int64_t fi_iterations = 10;
  uint64_t seed = 0;
  std::string device = "cpu";
  TrainingRun run;
};

std::string absolute(const std::string& path) {
  return path.empty() ? "" : std::filesystem::absolute(path).string();
}

void check_options(TrainOptions& o) {
  const char* where = "[train]";
  FSA_CHECK(o.limit == -1 || o.limit >= 1, where, " --limit must be >= 1 (or -1 for all), got ",
            o.limit);
  FSA_CHECK(o.batch >= 1, where, " --batch must be positive, got ", o.batch);
  FSA_CHECK(o.epochs >= 0, where, " --epochs must be >= 0, got ", o.epochs);
  FSA_CHECK((o.epochs > 0) != (o.run.steps > 0), where,
            " give the length of the run as --epochs or as --steps (exactly one)");
  FSA_CHECK(o.lr > 0.0 && o.momentum >= 0.0 && o.weight_decay >= 0.0, where,
            " need --lr > 0, --momentum >= 0 and --weight-decay >= 0");
  FSA_CHECK(o.lr_step_size >= 0 && o.lr_gamma > 0.0, where,
            " need --lr-step-size >= 0 and --lr-gamma > 0");
  FSA_CHECK(o.pad >= 0, where, " --pad must be >= 0, got ", o.pad);
  FSA_CHECK(o.mean.size() == 3 && o.std.size() == 3, where, " --mean and --std take 3 values each");
  const Adversary adversary = parse_adversary(o.adversary);
  const bool uses_feature_attack = adversary == Adversary::fa || adversary == Adversary::fi;
  FSA_CHECK(!uses_feature_attack || (!o.encoder.empty() && !o.decoder.empty()), where,
            " --adversary ", o.adversary,
            " needs --encoder and --decoder (the feature attack's models)");
  FSA_CHECK(o.fa_iterations >= 1, where, " --fa-iterations must be >= 1, got ", o.fa_iterations);
  FSA_CHECK(o.fi_iterations >= 1, where, " --fi-iterations must be >= 1, got ", o.fi_iterations);
  FSA_CHECK(o.fi_prototypes >= 1, where, " --fi-prototypes must be >= 1, got ", o.fi_prototypes);
  if (o.data_dir.empty()) o.data_dir = asset_path("data/cifar10").string();
  o.run.command = "train";
  o.run.kind = "classifier";
}

std::shared_ptr<Module> make_classifier(TrainOptions& o, std::string& init_source) {
  if (!o.init.empty()) {
    const LoadedModel loaded = load_model(o.init, ModelKind::classifier, "fsa train");
    o.architecture = loaded.attributes.architecture;
    o.mean = loaded.attributes.mean.empty() ? std::vector<double>{0, 0, 0} : loaded.attributes.mean;
    o.std =
        loaded.attributes.stddev.empty() ? std::vector<double>{1, 1, 1} : loaded.attributes.stddev;
    init_source = loaded.attributes.source;
    return loaded.module;
  }
  FSA_CHECK(model_kind(o.architecture) == ModelKind::classifier, "[train] --arch '", o.architecture,
            "' is not a classifier architecture");
  Preprocessing preprocessing;
  for (size_t c = 0; c < 3; ++c) {
    FSA_CHECK(o.std[c] > 0.0, "[train] --std values must be > 0, got ", o.std[c]);
    preprocessing.mean[c] = o.mean[c];
    preprocessing.std[c] = o.std[c];
  }
  init_source = "the architecture's default initialisation";
  return make_model(o.architecture, preprocessing);
}

std::unique_ptr<LrSchedule> make_schedule(const TrainOptions& o) {
  if (o.schedule == "constant") return std::make_unique<ConstantLr>(o.lr);
  if (o.schedule == "step") {
    const int64_t size =
        o.lr_step_size > 0 ? o.lr_step_size : std::max<int64_t>(1, o.run.steps / 3);
    return std::make_unique<StepDecayLr>(o.lr, size, o.lr_gamma);
  }
  return std::make_unique<CosineAnnealingLr>(o.lr, o.run.steps);
}

nlohmann::json configuration_json(const TrainOptions& o, const std::string& init_source,
                                  const ImageStore& images) {
  nlohmann::json c = {{"architecture", o.architecture},
                      {"init", absolute(o.init)},
                      {"init_source", init_source},
                      {"mean", o.mean},
                      {"std", o.std},
                      {"data_dir", absolute(o.data_dir)},
                      {"limit", o.limit},
                      {"images", images.size()},
                      {"batch", o.batch},
                      {"optimizer",
                       {{"lr", o.lr},
                        {"momentum", o.momentum},
                        {"weight_decay", o.weight_decay},
                        {"nesterov", o.nesterov}}},
                      {"schedule", o.schedule},
                      {"augment", o.augment},
                      {"pad", o.pad},
                      {"adversary", o.adversary},
                      {"seed", o.seed}};
  // The schedule's length shapes every learning rate (cosine, default step size).
  if (o.schedule != "constant") c["schedule_steps"] = o.run.steps;
  if (o.schedule == "step") {
    c["lr_step_size"] = o.lr_step_size;
    c["lr_gamma"] = o.lr_gamma;
  }
  if (o.adversary == "pgd" || o.adversary == "trades") {
    c["epsilon"] = o.epsilon;
    c["step_size"] = o.step_size;
    c["attack_steps"] = o.attack_steps;
  }
  if (o.adversary == "trades") c["trades_beta"] = o.trades_beta;
  if (o.adversary == "fa") {
    c["encoder"] = absolute(o.encoder);
    c["decoder"] = absolute(o.decoder);
    c["fa_preset"] = o.fa_preset;
    c["fa_iterations"] = o.fa_iterations;
  }
  if (o.adversary == "fi") {
    c["encoder"] = absolute(o.encoder);
    c["decoder"] = absolute(o.decoder);
    c["fi_preset"] = "paper";
    c["fi_iterations"] = o.fi_iterations;
    c["fi_prototypes"] = o.fi_prototypes;
  }
  return c;
}

// The feature attack for --adversary fa: the preset with --fa-iterations; for --adversary fi:
// FI's paper preset with --fi-iterations on --fi-prototypes prototypes per class, chosen once
// from the training split (all of it, not --limit) with --seed, as `fsa attack fi` chooses
// them. Adam is reset per batch (the official carry-over would make steps depend on state no
// checkpoint holds), so a resumed run repeats an uninterrupted one.
struct FeatureAttackParts {
  LoadedModel encoder, decoder;
  std::unique_ptr<FeatureAttack> attack;
};

FeatureAttackParts make_feature_attack(const TrainOptions& o, Module& classifier, Device device) {
  FeatureAttackParts parts;
  parts.encoder = load_model(o.encoder, ModelKind::encoder, "fsa train");
  parts.decoder = load_model(o.decoder, ModelKind::decoder, "fsa train");
  parts.encoder.module->to(device);
  parts.decoder.module->to(device);
  if (o.adversary == "fi") {
    FiOptions options = fi_preset("paper");
    options.prototypes_per_class = o.fi_prototypes;
    options.attack.iterations = o.fi_iterations;
    options.attack.reset_optimizer_per_batch = true;
    options.attack.seed = o.seed;
    std::fprintf(stderr, "[train] fi style prototypes: %lld per class from %s\n",
                 static_cast<long long>(o.fi_prototypes), o.data_dir.c_str());
    StylePrototypes prototypes = training_style_prototypes(*parts.encoder.module, o.data_dir,
                                                           o.fi_prototypes, o.seed, device);
    parts.attack = std::make_unique<FeatureInterpolationAttack>(
        *parts.encoder.module, *parts.decoder.module, classifier, options, std::move(prototypes));
    return parts;
  }
  FaOptions options = fa_preset(o.fa_preset);
  options.iterations = o.fa_iterations;
  options.reset_optimizer_per_batch = true;
  options.seed = o.seed;
  parts.attack = std::make_unique<FeatureAttack>(*parts.encoder.module, *parts.decoder.module,
                                                 classifier, options);
  return parts;
}

void run_train(TrainOptions o) {
  check_options(o);
  const Device device = resolve_device(o.device, "train");
  std::string init_source;
  const std::shared_ptr<Module> classifier = make_classifier(o, init_source);
  const ImageStore images = load_cifar10_train(o.data_dir, o.limit);
  FSA_CHECK(o.batch <= images.size(), "[train] --batch ", o.batch, " exceeds the ", images.size(),
            " training images");
  EpochSampler sampler(images.size(), o.batch, o.seed);
  if (o.epochs > 0) o.run.steps = o.epochs * sampler.steps_per_epoch();
  check_training_run(o.run);
  o.run.configuration = configuration_json(o, init_source, images);

  classifier->to(device);
  classifier->train();
  classifier->requires_grad(true);
  Sgd optimizer(
      classifier->parameters(),
      {.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay, .nesterov = o.nesterov});
  const std::unique_ptr<LrSchedule> schedule = make_schedule(o);
  FeatureAttackParts fa;
  if (o.adversary == "fa" || o.adversary == "fi") fa = make_feature_attack(o, *classifier, device);
  ClassifierTrainingOptions training{
      .adversary = parse_adversary(o.adversary),
      .pgd = {.epsilon = o.epsilon, .step_size = o.step_size, .steps = o.attack_steps},
      .trades_beta = o.trades_beta,
      .seed = o.seed};
  ClassifierTrainer trainer(*classifier, optimizer, *schedule, training, fa.attack.get());

  TrainingHooks hooks;
  hooks.model = classifier.get();
  hooks.optimizer = &optimizer;
  hooks.seek = [](int64_t) {};  // batches, crops and attack noise are functions of the step
  hooks.run_step = [&](int64_t step) {
    const std::vector<int64_t> indices = sampler.batch(step);
    const uint64_t first_sample = static_cast<uint64_t>(step * o.batch);
    const Tensor batch =
        o.augment ? gather_augmented(images, indices, {.pad = o.pad, .seed = o.seed}, first_sample)
                  : gather_images(images, indices);
    const ClassifierStepValues v =
        trainer.train_step(step, batch.to(device), gather_labels(images, indices).to(device));
    return nlohmann::json{{"loss", v.loss},
                          {"natural_loss", v.natural_loss},
                          {"robust_loss", v.robust_loss},
                          {"accuracy", static_cast<double>(v.correct) / v.examples},
                          {"lr", v.lr},
                          {"epoch", step / sampler.steps_per_epoch()}};
  };
  hooks.write_weights = [&](const std::string& path, int64_t steps_done) {
    WeightAttributes attributes;
    attributes.architecture = o.architecture;
    attributes.source = concat_message("fsa train --adversary ", o.adversary, " (", steps_done,
                                       " steps from ", o.init.empty() ? init_source : o.init, ")");
    attributes.input_range = "0-1";
    attributes.mean = o.mean;
    attributes.stddev = o.std;
    attributes.channel_order = "RGB";
    save_module_weights(*classifier, path, attributes);
  };

  std::printf(
      "train: %s (%s), %lld CIFAR-10 images, batch %lld (%lld steps/epoch), %lld steps, "
      "adversary %s, device %s\n",
      o.architecture.c_str(), o.init.empty() ? "from scratch" : o.init.c_str(),
      static_cast<long long>(images.size()), static_cast<long long>(o.batch),
      static_cast<long long>(sampler.steps_per_epoch()), static_cast<long long>(o.run.steps),
      o.adversary.c_str(), o.device.c_str());
  std::fflush(stdout);
  const TrainingOutcome outcome = run_training(o.run, hooks, "classifier.h5");
  print_steps_summary(o.run, outcome);
  if (outcome.last_values.contains("loss")) {
    std::printf("last step:  loss %.6g, batch accuracy %.3f\n",
                outcome.last_values["loss"].get<double>(),
                outcome.last_values["accuracy"].get<double>());
  }
  std::printf("wrote:      %s\n            %s\n            %s\n", outcome.weights_path.c_str(),
              outcome.checkpoint_path.c_str(), outcome.log_path.c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  TrainOptions& o = *options;
  auto* command = app.add_subcommand(
      "train",
      "Train a CIFAR-10 classifier: standard, or adversarially on PGD (Madry), TRADES, feature "
      "augmentation (fa) or feature interpolation (fi) examples; random crops (zero padding) "
      "and flips, SGD with momentum and weight decay, cosine or step schedule. Writes "
      "OUT/classifier.h5 (for fsa eval / attack), OUT/checkpoint.h5 and OUT/loss.jsonl; "
      "--resume continues exactly.");
  command->add_option("--arch", o.architecture, "classifier architecture (models/registry.h)")
      ->capture_default_str();
  command
      ->add_option("--init", o.init,
                   "classifier weight file to start from (fine-tuning; its architecture and "
                   "preprocessing are used)")
      ->check(CLI::ExistingFile);
  command->add_option("--mean", o.mean, "input normalisation mean (3 values)")
      ->expected(3)
      ->capture_default_str();
  command->add_option("--std", o.std, "input normalisation std (3 values)")
      ->expected(3)
      ->capture_default_str();
  command->add_option("--data-dir", o.data_dir,
                      "CIFAR-10 folder (default <assets>/data/cifar10; data_batch_1..5.bin)");
  command->add_option("--limit,-n", o.limit, "the first N training records only (-1: all)")
      ->capture_default_str();
  command->add_option("--epochs", o.epochs, "length of the run in passes over the data");
  command->add_option("--steps", o.run.steps, "length of the run in steps (instead of --epochs)")
      ->default_val(0);
  command->add_option("--batch,-b", o.batch, "images per step")->capture_default_str();
  command->add_option("--lr", o.lr, "SGD learning rate at step 0")->capture_default_str();
  command->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  command->add_option("--weight-decay", o.weight_decay, "L2 weight decay (every parameter)")
      ->capture_default_str();
  command->add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  command
      ->add_option("--lr-schedule", o.schedule,
                   "cosine (annealed to 0 over the run), step (x gamma every --lr-step-size "
                   "steps) or constant")
      ->check(CLI::IsMember({"cosine", "step", "constant"}))
      ->capture_default_str();
  command
      ->add_option("--lr-step-size", o.lr_step_size,
                   "step schedule: steps between decays (0: a third of the run)")
      ->capture_default_str();
  command->add_option("--lr-gamma", o.lr_gamma, "step schedule: decay factor")
      ->capture_default_str();
  command->add_flag("!--no-augment", o.augment, "no random crops and flips");
  command->add_option("--pad", o.pad, "random crops: zero padding in pixels")
      ->capture_default_str();
  command
      ->add_option("--adversary", o.adversary,
                   "none (standard training), pgd (Madry), trades, fa (feature augmentation "
                   "examples) or fi (feature interpolation examples); fa and fi need "
                   "--encoder and --decoder")
      ->check(CLI::IsMember({"none", "pgd", "trades", "fa", "fi"}))
      ->capture_default_str();
  command->add_option("--epsilon", o.epsilon, "pgd/trades: L-inf radius on [0,1]")
      ->capture_default_str();
  command->add_option("--step-size", o.step_size, "pgd/trades: step on [0,1]")
      ->capture_default_str();
  command->add_option("--attack-steps", o.attack_steps, "pgd/trades: steps per example")
      ->capture_default_str();
  command->add_option("--trades-beta", o.trades_beta, "trades: weight of the KL term")
      ->capture_default_str();
  command->add_option("--encoder", o.encoder, "fa: encoder weight file")->check(CLI::ExistingFile);
  command->add_option("--decoder", o.decoder, "fa: decoder weight file")->check(CLI::ExistingFile);
  command->add_option("--fa-preset", o.fa_preset, "fa: attack preset (paper or official)")
      ->check(CLI::IsMember({"paper", "official"}))
      ->capture_default_str();
  command->add_option("--fa-iterations", o.fa_iterations, "fa: attack iterations per batch")
      ->capture_default_str();
  command
      ->add_option("--fi-prototypes", o.fi_prototypes,
                   "fi: style prototypes per class, chosen once from the training split in "
                   "--data-dir with --seed (FI's paper preset otherwise)")
      ->capture_default_str();
  command->add_option("--fi-iterations", o.fi_iterations, "fi: attack iterations per batch")
      ->capture_default_str();
  command->add_option("--seed", o.seed, "seed of the data order, crops, flips and attack noise")
      ->capture_default_str();
  add_run_options(command, o.run, "classifier.h5");
  add_device_option(command, o.device);
  command->callback([options] { run_train(*options); });
}

}  // namespace fsa::cli
