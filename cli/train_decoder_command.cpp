// train_decoder_command.cpp: `fsa train-decoder --encoder E.h5 --out DIR [--init D.h5]
// [--data cifar10|images] [--upscale S] [--steps N] [--batch B] ... [--resume]`: trains the
// decoder of an encoder cut on same-class AdaIN pairs (train/decoder_training.h, algorithm.md
// §4) with checkpoints, exact resume, a JSONL loss log and a progress bar (cli/training_run.h).
// Writes DIR/decoder.h5 in the weight format `fsa reconstruct` and `fsa attack` load.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/training_run.h"
#include "data/assets.h"
#include "models/decoder.h"
#include "train/decoder_training.h"
#include "train/image_store.h"
#include "train/samplers.h"
#include "weights/module_weights.h"

namespace fsa::cli {

namespace {

constexpr int64_t kNativeCifarBatch = 64;  // official cifar10_unscale
constexpr int64_t kUpscaledBatch = 8;      // official batch for every other configuration

struct TrainDecoderOptions {
  std::string encoder;
  std::string init;
  std::string architecture;
  std::string data = "cifar10";
  std::string data_dir;
  int64_t limit = -1;
  int64_t upscale = 0;
  int64_t resize = 256;
  int64_t crop = 224;
  std::string pairing = "same-class";
  int64_t batch = 0;  // 0: 64 for native CIFAR-10, else 8
  double lr = 1e-4;
  double lr_decay = 2e-5;
  double style_weight = 1.0;
  double pixel_weight = 0.0;
  double widen_scale = 1.0;
  bool flip = false;
  uint64_t seed = 0;
  std::string device = "cpu";
  TrainingRun run;
};

// "relu2_1" from "vgg19_normalised_relu2_1" or "wct_decoder_relu2_1".
std::string cut_of(const std::string& architecture) {
  const size_t at = architecture.rfind("relu");
  return at == std::string::npos ? architecture : architecture.substr(at);
}

std::string absolute(const std::string& path) {
  return path.empty() ? "" : std::filesystem::absolute(path).string();
}

void check_options(TrainDecoderOptions& o) {
  const char* where = "[train-decoder]";
  FSA_CHECK(o.limit == -1 || o.limit >= 2, where, " --limit must be >= 2 (or -1 for all), got ",
            o.limit);
  FSA_CHECK(o.upscale >= 0, where, " --upscale must be >= 0, got ", o.upscale);
  FSA_CHECK(o.upscale == 0 || o.data == "cifar10", where,
            " --upscale applies to --data cifar10 only (photos are encoded at --crop)");
  FSA_CHECK(o.batch >= 0, where, " --batch must be positive, got ", o.batch);
  FSA_CHECK(o.lr > 0.0, where, " --lr must be > 0, got ", o.lr);
  FSA_CHECK(o.lr_decay >= 0.0, where, " --lr-decay must be >= 0, got ", o.lr_decay);
  FSA_CHECK(o.style_weight >= 0.0 && o.pixel_weight >= 0.0, where,
            " --style-weight and --pixel-weight must be >= 0, got ", o.style_weight, " and ",
            o.pixel_weight);
  FSA_CHECK(o.widen_scale >= 0.0, where, " --widen-scale must be >= 0, got ", o.widen_scale);
  if (o.batch == 0)
    o.batch = o.data == "cifar10" && o.upscale == 0 ? kNativeCifarBatch : kUpscaledBatch;
  if (o.data_dir.empty()) {
    FSA_CHECK(o.data == "cifar10", where, " --data images needs --data-dir (a folder of photos)");
    o.data_dir = asset_path("data/cifar10").string();
  }
  o.run.command = "train-decoder";
  o.run.kind = "decoder";
  check_training_run(o.run);
}

std::shared_ptr<Vgg19Encoder> load_encoder(const TrainDecoderOptions& o, std::string& source) {
  const LoadedModel loaded = load_model(o.encoder, ModelKind::encoder, "fsa train-decoder");
  auto encoder = std::dynamic_pointer_cast<Vgg19Encoder>(loaded.module);
  FSA_CHECK(encoder != nullptr, "[train-decoder] '", o.encoder, "' is not a VGG-19 encoder");
  source = loaded.attributes.source;
  return encoder;
}

// The decoder to train: --init's weights, --init's decoder widened into --arch (Decoder::embed),
// or a fresh official (TF xavier) initialisation.
std::shared_ptr<Module> make_decoder(TrainDecoderOptions& o, const std::string& cut,
                                     std::string& source) {
  LoadedModel initial;
  if (!o.init.empty()) {
    initial = load_model(o.init, ModelKind::decoder, "fsa train-decoder");
    if (o.architecture.empty()) o.architecture = initial.attributes.architecture;
    source = initial.attributes.source;
  } else if (o.architecture.empty()) {
    o.architecture = "wct_decoder_" + cut;
  }
  FSA_CHECK(model_kind(o.architecture) == ModelKind::decoder, "[train-decoder] --arch '",
            o.architecture, "' is not a decoder architecture (wct_decoder_reluK_1, ",
            "official_decoder_reluK_1 or wide{2,4}_decoder_reluK_1)");
  FSA_CHECK(cut_of(o.architecture) == cut, "[train-decoder] the decoder '", o.architecture,
            "' starts from ", cut_of(o.architecture), " but the encoder ends at ", cut);
  const bool widening = !o.init.empty() && o.architecture != initial.attributes.architecture;
  FSA_CHECK(o.widen_scale == 1.0 || widening, "[train-decoder] --widen-scale applies only when ",
            "--init's decoder is widened into a wider --arch");
  if (!o.init.empty() && !widening) return initial.module;  // the training step sets train()
  std::shared_ptr<Module> decoder = make_model(o.architecture);
  auto& fresh = dynamic_cast<Decoder&>(*decoder);
  init_decoder_official(fresh, o.seed);
  if (o.init.empty()) {
    source = concat_message("official (TF-1 xavier) initialisation, seed ", o.seed);
  } else {
    fresh.embed(dynamic_cast<const Decoder&>(*initial.module), o.widen_scale);
    source =
        concat_message(initial.attributes.architecture, " (", source, ") widened into ",
                       o.architecture, ", extra channels seed ", o.seed, " scale ", o.widen_scale);
  }
  return decoder;
}

ImageStore load_images(const TrainDecoderOptions& o) {
  if (o.data == "cifar10") return load_cifar10_train(o.data_dir, o.limit);
  return load_image_folder(o.data_dir, o.resize, o.crop, o.limit);
}

nlohmann::json configuration_json(const TrainDecoderOptions& o, const std::string& encoder_source,
                                  const std::string& init_source, const ImageStore& images) {
  nlohmann::json c = {{"encoder", absolute(o.encoder)},
                      {"encoder_source", encoder_source},
                      {"init", absolute(o.init)},
                      {"init_source", init_source},
                      {"architecture", o.architecture},
                      {"data", o.data},
                      {"data_dir", absolute(o.data_dir)},
                      {"limit", o.limit},
                      {"images", images.size()},
                      {"classes", images.classes},
                      {"upscale", o.upscale},
                      {"pairing", o.pairing},
                      {"batch", o.batch},
                      {"lr", o.lr},
                      {"lr_decay", o.lr_decay},
                      {"adam", "tf1, beta1 0.9, beta2 0.999, eps 1e-8"},
                      {"style_weight", o.style_weight},
                      {"pixel_weight", o.pixel_weight},
                      {"seed", o.seed}};
  if (o.widen_scale != 1.0) c["widen_scale"] = o.widen_scale;
  if (o.flip) c["flip"] = true;  // absent when off, so runs from before the option resume
  if (o.data == "images") {
    c["resize"] = o.resize;
    c["crop"] = o.crop;
  }
  return c;
}

void run_train_decoder(TrainDecoderOptions o) {
  check_options(o);
  const Pairing pairing = parse_pairing(o.pairing);
  const Device device = resolve_device(o.device, "train-decoder");
  std::string encoder_source, init_source;
  const std::shared_ptr<Vgg19Encoder> encoder = load_encoder(o, encoder_source);
  const std::shared_ptr<Module> decoder = make_decoder(o, encoder->cut(), init_source);
  const ImageStore images = load_images(o);
  o.run.configuration = configuration_json(o, encoder_source, init_source, images);

  encoder->to(device);
  decoder->to(device);
  DecoderTrainer trainer(*encoder, *decoder,
                         {.loss = {.style_weight = o.style_weight,
                                   .pixel_weight = o.pixel_weight,
                                   .upscale = o.upscale},
                          .lr = o.lr,
                          .lr_decay = o.lr_decay});
  PairSampler sampler(images.labels, images.classes, o.batch, pairing, o.seed);

  TrainingHooks hooks;
  hooks.model = decoder.get();
  hooks.optimizer = &trainer.optimizer();
  hooks.seek = [&](int64_t step) { sampler.skip(step); };
  // With --flip, step s's content images are samples 2·s·B .. 2·s·B + B - 1 of the
  // augmentation stream and its style images the next B: a pure function of (seed, step).
  const auto batch_images = [&](const std::vector<int64_t>& indices, int64_t first_sample) {
    if (!o.flip) return gather_images(images, indices);
    return gather_augmented(images, indices, {.pad = 0, .flip = true, .seed = o.seed},
                            static_cast<uint64_t>(first_sample));
  };
  hooks.run_step = [&](int64_t step) {
    const ImagePairs pairs = sampler.next();
    const Tensor content = batch_images(pairs.content, 2 * step * o.batch).to(device);
    // Self pairs: each image is its own style, flipped or not alike.
    const Tensor style = pairing == Pairing::self
                             ? content
                             : batch_images(pairs.style, (2 * step + 1) * o.batch).to(device);
    const DecoderStepValues v = trainer.train_step(step, content, style);
    return nlohmann::json{{"loss", v.total},
                          {"content", v.content},
                          {"style", v.style},
                          {"pixel", v.pixel},
                          {"lr", v.lr}};
  };
  hooks.write_weights = [&](const std::string& path, int64_t steps_done) {
    WeightAttributes attributes;
    attributes.architecture = o.architecture;
    attributes.source = concat_message("fsa train-decoder (", steps_done, " steps from ",
                                       o.init.empty() ? init_source : o.init, ")");
    attributes.input_range = "0-1";
    attributes.channel_order = "RGB";
    save_module_weights(*decoder, path, attributes);
  };

  std::printf("train-decoder: %s -> %s (%s), %lld %s images, batch %lld, %s pairs, device %s\n",
              encoder->cut().c_str(), o.architecture.c_str(),
              o.init.empty() ? "from scratch" : o.init.c_str(),
              static_cast<long long>(images.size()), o.data.c_str(),
              static_cast<long long>(o.batch), o.pairing.c_str(), o.device.c_str());
  std::fflush(stdout);
  const TrainingOutcome outcome = run_training(o.run, hooks, "decoder.h5");
  print_steps_summary(o.run, outcome);
  if (outcome.last_values.contains("loss")) {
    std::printf(
        "last loss:  %.6g (content %.6g, style %.6g)\n", outcome.last_values["loss"].get<double>(),
        outcome.last_values["content"].get<double>(), outcome.last_values["style"].get<double>());
  }
  std::printf("wrote:      %s\n            %s\n            %s\n", outcome.weights_path.c_str(),
              outcome.checkpoint_path.c_str(), outcome.log_path.c_str());
}

}  // namespace

void add_train_decoder_command(CLI::App& app) {
  auto options = std::make_shared<TrainDecoderOptions>();
  TrainDecoderOptions& o = *options;
  auto* command = app.add_subcommand(
      "train-decoder",
      "Train the decoder of a VGG-19 cut (paper §3.2.1): AdaIN of same-class pairs at the cut, "
      "content loss + style loss (relu1_1 .. cut), Adam at lr / (1 + decay step). Configurations: "
      "relu2_1 at native 32x32 (official cifar10_unscale: the defaults with a relu2_1 encoder), "
      "relu3_1 with --upscale 224 (cifar10_shallow), or --data images (224x224 photos). Writes "
      "OUT/decoder.h5, OUT/checkpoint.h5 and OUT/loss.jsonl; --resume continues exactly.");
  command->add_option("--encoder,-e", o.encoder, "encoder weight file (vgg19_normalised_reluK_1)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--init", o.init, "decoder weight file to start from (default: scratch)")
      ->check(CLI::ExistingFile);
  command->add_option(
      "--arch", o.architecture,
      "decoder architecture (default: --init's, else wct_decoder_<cut>; "
      "official_decoder_relu3_1 is the official relu3_1 layout; wide2_/wide4_decoder_<cut> have "
      "2x/4x the hidden channels). With --init of a narrower decoder, that decoder is widened "
      "into this one: the same function to start with, the extra channels from --seed");
  command->add_option("--data,-d", o.data, "cifar10 (training split) or images (--data-dir photos)")
      ->check(CLI::IsMember({"cifar10", "images"}))
      ->capture_default_str();
  command->add_option("--data-dir", o.data_dir,
                      "CIFAR-10 folder (default <assets>/data/cifar10) or the photo folder "
                      "(class sub-folders, or photos of one class)");
  command->add_option("--limit,-n", o.limit, "the first N images only (-1: all)")
      ->capture_default_str();
  command
      ->add_option("--upscale", o.upscale,
                   "CIFAR-10: encode images upscaled to SxS (legacy TF bilinear), e.g. 224 "
                   "(official cifar10_shallow); 0: native 32x32")
      ->capture_default_str();
  command->add_option("--resize", o.resize, "photos: shorter side to this (bicubic)")
      ->capture_default_str();
  command->add_option("--crop", o.crop, "photos: then a centre crop of this size")
      ->capture_default_str();
  command
      ->add_option("--pairing", o.pairing,
                   "same-class (official streaming pairs), any (random pairs) or self (each "
                   "image its own style: a pure reconstruction objective)")
      ->check(CLI::IsMember({"same-class", "any", "self"}))
      ->capture_default_str();
  command->add_option("--steps", o.run.steps, "total optimisation steps")
      ->default_val(300000)
      ->capture_default_str();
  command->add_option("--batch,-b", o.batch,
                      "pairs per step (default: 64 for native CIFAR-10, 8 otherwise, as official)");
  command->add_option("--lr", o.lr, "Adam learning rate at step 0")->capture_default_str();
  command->add_option("--lr-decay", o.lr_decay, "inverse-time decay: lr / (1 + decay step)")
      ->capture_default_str();
  command->add_option("--style-weight", o.style_weight, "weight of the style loss")
      ->capture_default_str();
  command
      ->add_option("--pixel-weight", o.pixel_weight,
                   "weight of a pixel loss Σ_b Σ_c mean_hw (x_g - x_c)^2 on [0,1] (not in the "
                   "paper; 0 = official objective)")
      ->capture_default_str();
  command
      ->add_option("--widen-scale", o.widen_scale,
                   "widening (--init narrower than --arch): the extra channels' initial weights "
                   "are multiplied by this (small values soften the first Adam steps)")
      ->capture_default_str();
  command->add_flag("--flip", o.flip,
                    "flip each image left-right with probability 1/2 (augmentation; with "
                    "--pairing self an image and its style alike), drawn from --seed and the step");
  command->add_option("--seed", o.seed, "seed of the data order and of a scratch initialisation")
      ->capture_default_str();
  add_run_options(command, o.run, "decoder.h5");
  add_device_option(command, o.device);
  command->callback([options] { run_train_decoder(*options); });
}

}  // namespace fsa::cli
