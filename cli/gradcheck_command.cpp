// gradcheck_command.cpp: `fsa gradcheck fa|fi|classifier`: audits a gradient path of real
// networks (weight files) on a real CIFAR-10 image by float64 finite differences
// (autograd/gradcheck.h): the attack objective with respect to the style variables through
// encoder, decoder and classifier (fa, fi), or a classifier's loss with respect to the input
// pixels; optionally sampled elements of every network parameter too. Prints the worst
// relative error per parameter group; exit status 1 when one is above --tolerance.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "attack/feature_attack.h"
#include "attack/feature_interpolation.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/variable.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/json_file.h"
#include "cli/style_prototypes.h"
#include "data/assets.h"
#include "data/cifar10.h"
#include "tensor/random.h"

namespace fsa::cli {

namespace {

struct GradcheckCommandOptions {
  std::string mode;  // fa | fi | classifier
  std::string model, encoder, decoder, data, train, json;
  std::string preset = "paper", loss = "cw", point = "random", device = "cpu";
  int64_t record = 0;
  int64_t elements = 32;
  int64_t parameter_elements = 0;
  int64_t prototypes = 5;
  double kappa = 1.0;
  std::optional<double> adv_weight;
  double step = 1e-6;
  double tolerance = 1e-3;
  uint64_t seed = 0;
};

// One group of checked values: a style variable, the pixels, or one network parameter.
struct Group {
  std::string name;
  Tensor leaf;
};

struct GroupResult {
  std::string name;
  int64_t elements = 0;
  double scale = 0.0;
  GradcheckWorst worst;
};

// The check runs in float64, which only the CPU backend computes (the CUDA backend stores
// float64 but has no float64 kernels).
Device resolve_float64_device(const std::string& name) {
  const Device device = resolve_device(name, "gradcheck");
  FSA_CHECK(device == Device::cpu, "[gradcheck] --device ", name,
            ": the finite differences need float64, which only the CPU backend computes; use "
            "--device cpu");
  return device;
}

std::shared_ptr<Module> load_float64(const std::string& path, ModelKind kind, const char* option,
                                     Device device) {
  FSA_CHECK(!path.empty() && std::filesystem::is_regular_file(path), "[gradcheck] ", option, " '",
            path, "' is not a file");
  std::shared_ptr<Module> module = load_model(path, kind, "gradcheck").module;
  module->to(DType::f64);
  module->to(device);
  return module;
}

LabelledImages read_record(const GradcheckCommandOptions& o) {
  const std::string path =
      o.data.empty() ? asset_path("data/cifar10/test_batch.bin").string() : o.data;
  FSA_CHECK(std::filesystem::is_regular_file(path), "[gradcheck] --data '", path,
            "' is not a file (a CIFAR-10 binary batch; set FSA_ASSETS or pass --data)");
  FSA_CHECK(o.record >= 0 && o.record < cifar10_record_count(path), "[gradcheck] --record ",
            o.record, " is not a record of '", path, "'");
  return read_cifar10(path, {.offset = o.record, .limit = 1});
}

// Moves every variable to a seeded random point near its start, then back onto the
// feasible set: v += 0.2 (|v| + mean |v| + 0.05) U(−1, 1).
void move_to_random_point(StyleTransform& transform, uint64_t seed) {
  NoGradGuard no_grad;
  RandomStream stream(seed);
  for (const Tensor& v : transform.variables()) {
    std::vector<double> values = v.to_vector();
    double mean_abs = 0.0;
    for (double x : values) mean_abs += std::abs(x) / static_cast<double>(values.size());
    for (double& x : values)
      x += 0.2 * (std::abs(x) + mean_abs + 0.05) * (2 * stream.uniform() - 1);
    v.copy_from(Tensor::from_vector(values, v.shape()));
  }
  transform.project();
}

std::vector<std::string> variable_names(const FaOptions& fa, const FiOptions* fi) {
  if (fi != nullptr) {
    if (fi->interpolation.shared_weights) return {"weights"};
    return {"weights_sigma", "weights_mean"};
  }
  if (fa.parameterisation == StyleParameterisation::paper) return {"tau_sigma", "tau_mu"};
  return {"mean_S", "sigma_S"};
}

// "encoder.features.0.weight", ... with requires_grad switched on.
std::vector<Group> parameter_groups(const std::vector<std::pair<std::string, Module*>>& modules) {
  std::vector<Group> groups;
  for (const auto& [prefix, module] : modules) {
    module->requires_grad(true);
    for (const auto& [name, tensor] : module->named_parameters()) {
      groups.push_back({prefix + "." + name, tensor});
    }
  }
  return groups;
}

std::vector<GroupResult> check_groups(const std::function<Tensor()>& f,
                                      const std::vector<Group>& groups, int64_t max_elements,
                                      const GradcheckCommandOptions& o) {
  std::vector<Tensor> leaves;
  for (const Group& g : groups) leaves.push_back(g.leaf);
  const std::vector<LeafGradients> gradients = compare_gradients(
      f, leaves, {.step = o.step, .max_elements = max_elements, .seed = o.seed + 12345});
  std::vector<GroupResult> results;
  for (size_t i = 0; i < groups.size(); ++i) {
    results.push_back(
        {groups[i].name, gradients[i].elements, gradients[i].scale, worst_error(gradients[i])});
  }
  return results;
}

void print_and_judge(const GradcheckCommandOptions& o, const std::string& what,
                     const std::vector<GroupResult>& results) {
  std::printf("fsa gradcheck %s: %s\n", o.mode.c_str(), what.c_str());
  std::printf("  float64, central differences with step %g, tolerance %g on the relative error\n",
              o.step, o.tolerance);
  std::printf("  %-40s %13s %10s %10s %10s %14s %14s\n", "group", "checked/total", "max |grad|",
              "worst rel.", "worst abs.", "analytic", "numeric");
  const GroupResult* worst = nullptr;
  nlohmann::json groups = nlohmann::json::array();
  for (const GroupResult& r : results) {
    const std::string counts = std::to_string(r.worst.checked) + "/" + std::to_string(r.elements);
    std::printf("  %-40s %13s %10.3e %10.3e %10.3e %14.6e %14.6e\n", r.name.c_str(), counts.c_str(),
                r.scale, r.worst.relative, r.worst.absolute, r.worst.analytic, r.worst.numeric);
    if (worst == nullptr || !(r.worst.relative <= worst->worst.relative)) worst = &r;
    groups.push_back({{"group", r.name},
                      {"elements", r.elements},
                      {"checked", r.worst.checked},
                      {"max_abs_gradient", r.scale},
                      {"worst_relative_error", r.worst.relative},
                      {"worst_absolute_error", r.worst.absolute},
                      {"worst_index", r.worst.index},
                      {"analytic", r.worst.analytic},
                      {"numeric", r.worst.numeric}});
  }
  FSA_CHECK(worst != nullptr, "[gradcheck] nothing to check");
  const bool pass = worst->worst.relative <= o.tolerance;
  std::printf("worst relative error %.3e (%s): %s\n", worst->worst.relative, worst->name.c_str(),
              pass ? "pass" : "FAIL");
  if (!o.json.empty()) {
    write_json_file(o.json, {{"command", "fsa gradcheck " + o.mode},
                             {"checked", what},
                             {"step", o.step},
                             {"tolerance", o.tolerance},
                             {"pass", pass},
                             {"worst_relative_error", worst->worst.relative},
                             {"groups", groups}});
  }
  FSA_CHECK(pass, "[gradcheck] the worst relative error ", worst->worst.relative, " (", worst->name,
            ") is above the tolerance ", o.tolerance);
}

void run_style_gradcheck(const GradcheckCommandOptions& o) {
  const Device device = resolve_float64_device(o.device);
  auto classifier = load_float64(o.model, ModelKind::classifier, "--model", device);
  auto encoder = load_float64(o.encoder, ModelKind::encoder, "--encoder", device);
  auto decoder = load_float64(o.decoder, ModelKind::decoder, "--decoder", device);
  const LabelledImages record = read_record(o);
  const Tensor x = record.images.to(DType::f64).to(device);
  const Tensor y = record.labels.to(device);

  FaOptions fa = fa_preset(o.preset);
  fa.loss = parse_adversarial_loss(o.loss);
  fa.kappa = o.kappa;
  if (o.adv_weight) fa.adv_weight = *o.adv_weight;
  std::optional<FiOptions> fi;
  std::unique_ptr<FeatureAttack> attack;
  if (o.mode == "fi") {
    fi = fi_preset(o.preset);
    fi->attack = fa;
    fi->prototypes_per_class = o.prototypes;
    const std::string train = o.train.empty() ? asset_path("data/cifar10").string() : o.train;
    attack = std::make_unique<FeatureInterpolationAttack>(
        *encoder, *decoder, *classifier, *fi,
        training_style_prototypes(*encoder, train, o.prototypes, o.seed, device, DType::f64));
  } else {
    attack = std::make_unique<FeatureAttack>(*encoder, *decoder, *classifier, fa);
  }
  attack->begin(x, y, o.record);
  if (o.point == "random") move_to_random_point(attack->transform(), o.seed);

  const std::vector<std::string> names = variable_names(fa, fi ? &*fi : nullptr);
  std::vector<Group> variables;
  for (size_t i = 0; i < names.size(); ++i) {
    variables.push_back({names[i], attack->transform().variables()[i]});
  }
  const auto objective = [&attack] { return attack->evaluate().total; };
  std::vector<GroupResult> results = check_groups(objective, variables, o.elements, o);
  if (o.parameter_elements > 0) {
    const std::vector<GroupResult> more = check_groups(
        objective,
        parameter_groups(
            {{"encoder", encoder.get()}, {"decoder", decoder.get()}, {"model", classifier.get()}}),
        o.parameter_elements, o);
    results.insert(results.end(), more.begin(), more.end());
  }
  const std::string what =
      concat_message("the ", o.mode == "fi" ? "FI" : "FA", " objective (", o.loss, ", preset ",
                     o.preset, ", ", o.point, " point) of record ", o.record, " (label ",
                     record.labels.to_vector()[0], ") through encoder, decoder and classifier");
  print_and_judge(o, what, results);
}

void run_classifier_gradcheck(const GradcheckCommandOptions& o) {
  const Device device = resolve_float64_device(o.device);
  auto classifier = load_float64(o.model, ModelKind::classifier, "--model", device);
  const LabelledImages record = read_record(o);
  const Tensor pixels = record.images.to(DType::f64).to(device).clone();
  set_requires_grad(pixels, true);
  const Tensor y = record.labels.to(device);
  const auto loss = [&] {
    const Tensor logits = (*classifier)(pixels);
    if (o.loss == "ce") return sum(softmax_cross_entropy(logits, y));
    return sum(cw_margin(logits, y, CwMarginParams{.kappa = o.kappa}));
  };
  std::vector<GroupResult> results = check_groups(loss, {{"pixels", pixels}}, o.elements, o);
  if (o.parameter_elements > 0) {
    const std::vector<GroupResult> more = check_groups(
        loss, parameter_groups({{"model", classifier.get()}}), o.parameter_elements, o);
    results.insert(results.end(), more.begin(), more.end());
  }
  const std::string what =
      concat_message("the ", o.loss, " loss of record ", o.record, " (label ",
                     record.labels.to_vector()[0], ") with respect to the input pixels");
  print_and_judge(o, what, results);
}

void validate(const GradcheckCommandOptions& o) {
  FSA_CHECK(o.elements >= 1 && o.parameter_elements >= 0, "[gradcheck] need --elements >= 1 and ",
            "--parameters >= 0");
  FSA_CHECK(o.step > 0 && o.tolerance > 0, "[gradcheck] need --step > 0 and --tolerance > 0");
  FSA_CHECK(o.prototypes >= 1, "[gradcheck] --prototypes must be >= 1");
}

void add_shared_options(CLI::App* command, GradcheckCommandOptions& o) {
  command->add_option("--model", o.model, "classifier weight file (.h5)")->required();
  command->add_option("--data", o.data,
                      "CIFAR-10 binary batch (default: <assets>/data/cifar10/test_batch.bin)");
  command->add_option("--record", o.record, "the record checked")->capture_default_str();
  command->add_option("--elements", o.elements, "elements checked per group (evenly spread)")
      ->capture_default_str();
  command
      ->add_option("--parameters", o.parameter_elements,
                   "also check this many elements of every network parameter (0: none)")
      ->capture_default_str();
  command->add_option("--step", o.step, "finite-difference step")->capture_default_str();
  command
      ->add_option("--tolerance", o.tolerance,
                   "largest relative error accepted (a ReLU kink crossed by the step gives up to "
                   "~1e-4 on real networks)")
      ->capture_default_str();
  command->add_option("--seed", o.seed, "seed of the random point, cotangent and prototypes")
      ->capture_default_str();
  command->add_option("--json", o.json, "also write the table as JSON to this file");
  add_device_option(command, o.device);
}

void add_style_mode(CLI::App* gradcheck, const char* name, const char* description) {
  auto o = std::make_shared<GradcheckCommandOptions>();
  auto* command = gradcheck->add_subcommand(name, description);
  add_shared_options(command, *o);
  command->add_option("--encoder", o->encoder, "VGG-19 encoder weight file (.h5)")->required();
  command->add_option("--decoder", o->decoder, "decoder weight file (.h5)")->required();
  command->add_option("--preset", o->preset, "paper | official")
      ->check(CLI::IsMember({"paper", "official"}))
      ->capture_default_str();
  command->add_option("--loss", o->loss, "cw | ce")
      ->check(CLI::IsMember({"cw", "ce"}))
      ->capture_default_str();
  command->add_option("--kappa", o->kappa, "CW confidence")->capture_default_str();
  command->add_option("--adv-weight", o->adv_weight,
                      "weight of the adversarial term (default: preset; a large weight on a "
                      "large loss drowns small gradients in rounding noise)");
  command
      ->add_option("--point", o->point,
                   "start (the attack's starting point) | random (seeded, near the start)")
      ->check(CLI::IsMember({"start", "random"}))
      ->capture_default_str();
  if (std::string(name) == "fi") {
    command->add_option("--train", o->train,
                        "CIFAR-10 folder with data_batch_{1..5}.bin for the prototypes "
                        "(default: <assets>/data/cifar10)");
    command->add_option("--prototypes", o->prototypes, "training images per class")
        ->capture_default_str();
  }
  command->callback([o, name] {
    o->mode = name;
    validate(*o);
    run_style_gradcheck(*o);
  });
}

}  // namespace

void add_gradcheck_command(CLI::App& app) {
  auto* gradcheck = app.add_subcommand(
      "gradcheck",
      "Audit a gradient path of real networks by float64 finite differences (exit 1 when the "
      "worst relative error is above --tolerance).");
  gradcheck->require_subcommand(1);
  add_style_mode(gradcheck, "fa",
                 "The FA objective w.r.t. the style variables, through encoder, decoder and "
                 "classifier.");
  add_style_mode(gradcheck, "fi",
                 "The FI objective w.r.t. the interpolation weights (prototypes from the "
                 "training split).");

  auto classifier = std::make_shared<GradcheckCommandOptions>();
  classifier->loss = "cw";
  auto* command = gradcheck->add_subcommand(
      "classifier", "A classifier's loss w.r.t. the input pixels (and optionally its parameters).");
  add_shared_options(command, *classifier);
  command
      ->add_option("--loss", classifier->loss,
                   "cw | ce (ce saturates on confidently classified images, where its finite "
                   "differences drown in rounding)")
      ->check(CLI::IsMember({"ce", "cw"}))
      ->capture_default_str();
  command->add_option("--kappa", classifier->kappa, "CW confidence")->capture_default_str();
  command->callback([classifier] {
    classifier->mode = "classifier";
    validate(*classifier);
    run_classifier_gradcheck(*classifier);
  });
}

}  // namespace fsa::cli
