// attack_command.cpp: `fsa attack fa|fi|pgd`: loads the networks (weight files from
// `fsa convert` or training), reads CIFAR-10 records, attacks them batch by batch, measures
// everything of attack/metrics.h and writes DIR/metrics.json, DIR/adversarial/*.png,
// DIR/grid.png and DIR/report.html; prints a summary table; progress goes to stderr. With
// --shard K/N it attacks the K-th of N contiguous parts of the records (`fsa merge` joins
// the parts).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "attack/feature_attack.h"
#include "attack/feature_interpolation.h"
#include "attack/metrics.h"
#include "attack/pgd.h"
#include "autograd/ops.h"
#include "cli/attack_output.h"
#include "cli/attack_report.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/json_file.h"
#include "cli/number_text.h"
#include "cli/style_prototypes.h"
#include "data/assets.h"
#include "data/cifar10.h"
#include "models/decoder.h"
#include "models/registry.h"
#include "models/vgg19.h"

namespace fsa::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// --shard K/N resolved against the records selected by --offset/--limit: this shard attacks
// records [first, end) of the selection [selection_offset, selection_offset + total).
struct ShardRange {
  int64_t index = 1, count = 1;
  int64_t selection_offset = 0, selection_limit = -1, total = 0;
  int64_t first = 0, end = 0;
};

struct CommonOptions {
  std::string model, encoder, data, out;
  std::string device = "cpu";
  std::string shard;  // "K/N", empty: no sharding
  std::optional<ShardRange> shard_range;
  int64_t offset = 0;
  int64_t limit = -1;
  int64_t batch = 100;
  uint64_t seed = 0;
  int64_t grid = 8;
  int64_t grid_scale = 4;
  bool no_images = false;
};

struct FaCommandOptions {
  CommonOptions common;
  std::string decoder, preset = "paper", loss = "cw", target = "none";
  std::optional<int64_t> iterations;
  std::optional<std::string> eps;
  std::optional<double> adv_weight;
  double kappa = 1.0;
  int64_t top_k = 1;
  int32_t target_label = -1;
  bool early_stop = false;
  bool no_graph = false;
};

// `fsa attack fi`: FA's options (but --eps) plus the prototypes and the simplex.
struct FiCommandOptions {
  FaCommandOptions fa;
  std::string train;  // CIFAR-10 folder with data_batch_{1..5}.bin
  std::optional<int64_t> prototypes;
  std::optional<std::string> start, weights;
  bool no_own = false;
};

struct PgdCommandOptions {
  CommonOptions common;
  std::string norm = "linf", loss = "ce", eps = "8/255", step = "2/255";
  int64_t steps = 10;
  int64_t restarts = 1;
  double kappa = 50.0;
  bool no_random_start = false;
  bool fgsm = false;
};

// A weight file of the expected kind, loaded strictly (cli/evaluation.h), with its path
// and architecture for metrics.json.
struct LoadedNetwork {
  std::shared_ptr<Module> module;
  std::string path, architecture;
};

LoadedNetwork load_network(const std::string& path, ModelKind kind, const char* option,
                           Device device) {
  FSA_CHECK(std::filesystem::is_regular_file(path), "[attack] ", option, " '", path,
            "' is not a file");
  LoadedModel loaded = load_model(path, kind, "attack", device);
  return {loaded.module, path, loaded.attributes.architecture};
}

void validate_common(const CommonOptions& o) {
  FSA_CHECK(o.batch >= 1, "[attack] --batch must be >= 1, got ", o.batch);
  FSA_CHECK(o.offset >= 0, "[attack] --offset must be >= 0, got ", o.offset);
  FSA_CHECK(o.limit == -1 || o.limit >= 1, "[attack] --limit must be >= 1 (or -1: all), got ",
            o.limit);
  FSA_CHECK(o.grid >= 0 && o.grid_scale >= 1, "[attack] need --grid >= 0 and --grid-scale >= 1");
  FSA_CHECK(!o.out.empty(), "[attack] --out DIR is required");
}

std::string data_path(const CommonOptions& o) {
  return o.data.empty() ? asset_path("data/cifar10/test_batch.bin").string() : o.data;
}

LabelledImages read_records(const CommonOptions& o) {
  const std::string path = data_path(o);
  FSA_CHECK(std::filesystem::is_regular_file(path), "[attack] --data '", path,
            "' is not a file (a CIFAR-10 binary batch; set FSA_ASSETS or pass --data)");
  LabelledImages records = read_cifar10(path, {.offset = o.offset, .limit = o.limit});
  FSA_CHECK(records.images.dim(0) > 0, "[attack] no records at offset ", o.offset, " of '", path,
            "'");
  return records;
}

nlohmann::json environment_json() {
  const auto env = [](const char* name) -> nlohmann::json {
    const char* v = std::getenv(name);
    return v != nullptr ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  return {{"threads", thread_count()},
          {"written_utc", utc_timestamp()},
          {"OMP_NUM_THREADS", env("OMP_NUM_THREADS")},
          {"OPENBLAS_NUM_THREADS", env("OPENBLAS_NUM_THREADS")},
          {"OPENBLAS_CORETYPE", env("OPENBLAS_CORETYPE")},
          {"FSA_ASSETS", env("FSA_ASSETS")}};
}

// Parses --shard K/N (1 <= K <= N) and narrows --offset/--limit to the K-th of N contiguous
// parts of the selected records: [offset + floor((K-1) T / N), offset + floor(K T / N)).
void apply_shard(CommonOptions& o) {
  if (o.shard.empty()) return;
  const size_t slash = o.shard.find('/');
  int64_t index = 0, count = 0;
  try {
    size_t used_index = 0, used_count = 0;
    index = std::stoll(o.shard.substr(0, slash), &used_index);
    count = slash == std::string::npos ? 0 : std::stoll(o.shard.substr(slash + 1), &used_count);
    if (used_index != slash || used_count != o.shard.size() - slash - 1) count = 0;
  } catch (const std::exception&) {
    count = 0;
  }
  FSA_CHECK(count >= 1 && index >= 1 && index <= count, "[attack] --shard '", o.shard,
            "' is not K/N with 1 <= K <= N (e.g. 2/8)");
  const std::string path = data_path(o);
  FSA_CHECK(std::filesystem::is_regular_file(path), "[attack] --data '", path,
            "' is not a file (a CIFAR-10 binary batch; set FSA_ASSETS or pass --data)");
  const int64_t available = cifar10_record_count(path) - o.offset;
  FSA_CHECK(o.offset >= 0 && available > 0, "[attack] no records at offset ", o.offset, " of '",
            path, "'");
  const int64_t total = o.limit < 0 ? available : std::min(o.limit, available);
  FSA_CHECK(total >= count, "[attack] --shard ", o.shard, ": ", total, " records cannot make ",
            count, " non-empty shards");
  ShardRange range{.index = index,
                   .count = count,
                   .selection_offset = o.offset,
                   .selection_limit = o.limit,
                   .total = total};
  range.first = o.offset + (index - 1) * total / count;
  range.end = o.offset + index * total / count;
  o.shard_range = range;
  o.offset = range.first;
  o.limit = range.end - range.first;
}

nlohmann::json common_config(const CommonOptions& o, int64_t count) {
  nlohmann::json config = {{"data", data_path(o)},
                           {"offset", o.offset},
                           {"limit", o.limit},
                           {"images", count},
                           {"batch", o.batch},
                           {"seed", o.seed},
                           {"grid", o.grid},
                           {"grid_scale", o.grid_scale},
                           {"no_images", o.no_images},
                           {"out", o.out},
                           {"environment", environment_json()}};
  config["environment"]["device"] = o.device;  // where it ran, not what it computed
  if (o.shard_range) {
    const ShardRange& r = *o.shard_range;
    config["shard"] = {{"index", r.index},
                       {"count", r.count},
                       {"selection_offset", r.selection_offset},
                       {"selection_limit", r.selection_limit},
                       {"selection_records", r.total},
                       {"first_record", r.first},
                       {"end_record", r.end}};
  }
  return config;
}

// Everything a batch contributes to the outputs.
struct Collected {
  std::vector<SampleMetrics> samples;
  std::vector<Tensor> grid_originals, grid_adversarials;
  int64_t grid_rows = 0;

  void add(const CommonOptions& o, const Tensor& clean, const Tensor& adversarial,
           std::vector<SampleMetrics> batch) {
    if (!o.no_images) {
      write_adversarial_pngs((std::filesystem::path(o.out) / "adversarial").string(), adversarial,
                             batch);
    }
    const int64_t take = std::min<int64_t>(o.grid - grid_rows, clean.dim(0));
    if (take > 0) {
      grid_originals.push_back(slice(clean, 0, 0, take));
      grid_adversarials.push_back(slice(adversarial, 0, 0, take));
      grid_rows += take;
    }
    samples.insert(samples.end(), batch.begin(), batch.end());
  }

  // Writes metrics.json (and the grid); `complete` false marks a partial file written after
  // a batch of a longer run, true the final one, which also prints the summary table.
  void write(const CommonOptions& o, const std::string& title, nlohmann::json config,
             nlohmann::json timing, bool complete) const {
    const MetricSummary summary = summarize(samples);
    if (grid_rows > 0) {
      write_grid_png((std::filesystem::path(o.out) / "grid.png").string(),
                     concat(grid_originals, 0), concat(grid_adversarials, 0), samples,
                     o.grid_scale);
    }
    nlohmann::json per_sample = nlohmann::json::array();
    for (const SampleMetrics& s : samples) per_sample.push_back(sample_to_json(s));
    const nlohmann::json document = {
        {"command", title},
        {"complete", complete},
        {"config", std::move(config)},
        {"summary", summary_to_json(summary)},
        {"grid", {{"file", grid_rows > 0 ? "grid.png" : ""}, {"rows", grid_rows}}},
        {"timing", std::move(timing)},
        {"samples", std::move(per_sample)}};
    write_json_file((std::filesystem::path(o.out) / "metrics.json").string(), document);
    if (!complete) return;
    write_report_html(o.out, document);
    print_summary_table(title, summary);
    std::printf("  written to %s (metrics.json, report.html%s%s)\n", o.out.c_str(),
                o.no_images ? "" : ", adversarial/", grid_rows > 0 ? ", grid.png" : "");
  }
};

FaOptions resolve_fa_options(const FaCommandOptions& c) {
  FaOptions o = fa_preset(c.preset);
  o.loss = parse_adversarial_loss(c.loss);
  o.target_policy = parse_target_policy(c.target);
  o.kappa = c.kappa;
  o.top_k = c.top_k;
  o.target_label = c.target_label;
  o.early_stop = c.early_stop;
  o.record_graph = !c.no_graph;
  o.seed = c.common.seed;
  if (c.iterations) o.iterations = *c.iterations;
  if (o.target_policy != TargetPolicy::none) o.epsilon = std::log(2.0);  // paper: targeted ln 2
  if (c.eps) o.epsilon = parse_fraction(*c.eps, "attack", "--eps");
  if (c.adv_weight) o.adv_weight = *c.adv_weight;
  FSA_CHECK(std::isfinite(o.epsilon) && o.epsilon > 0, "[attack] --eps (ln p) must be > 0, got ",
            o.epsilon);
  FSA_CHECK(o.target_policy != TargetPolicy::given || o.target_label >= 0,
            "[attack] --target given needs --target-label L");
  return o;
}

nlohmann::json fa_config_json(const FaOptions& o) {
  return {{"preset", o.preset},
          {"parameterisation", to_string(o.parameterisation)},
          {"epsilon", o.epsilon},
          {"bound_p", std::exp(o.epsilon)},
          {"iterations", o.iterations},
          {"loss", to_string(o.loss)},
          {"kappa", o.kappa},
          {"top_k", o.top_k},
          {"target_policy", to_string(o.target_policy)},
          {"target_label", o.target_label},
          {"adv_weight", o.adv_weight},
          {"adv_weight_times_batch", o.adv_weight_times_batch},
          {"lr", o.lr},
          {"lr_decay", o.lr_decay},
          {"adam",
           {{"beta1", o.beta1},
            {"beta2", o.beta2},
            {"eps", o.adam_eps},
            {"form", o.adam_form == AdamForm::tf1 ? "tf1" : "pytorch"},
            {"reset_per_batch", o.reset_optimizer_per_batch}}},
          {"grad_clip", o.grad_clip},
          {"early_stop", o.early_stop},
          {"record_graph", o.record_graph},
          {"seed", o.seed}};
}

FiOptions resolve_fi_options(const FiCommandOptions& c) {
  FiOptions o = fi_preset(c.fa.preset);
  o.attack = resolve_fa_options(c.fa);
  if (c.prototypes) o.prototypes_per_class = *c.prototypes;
  if (c.start) o.interpolation.start = parse_interpolation_start(*c.start);
  if (c.weights) o.interpolation.shared_weights = *c.weights == "shared";
  if (c.no_own) {
    o.interpolation.include_own = false;
    if (!c.start) o.interpolation.start = InterpolationStart::uniform;
  }
  FSA_CHECK(o.prototypes_per_class >= 1, "[attack] --prototypes must be >= 1, got ",
            o.prototypes_per_class);
  FSA_CHECK(o.interpolation.include_own || o.interpolation.start != InterpolationStart::own,
            "[attack] --start own needs the own style as a vertex (drop --no-own)");
  return o;
}

std::string train_path(const FiCommandOptions& c) {
  return c.train.empty() ? asset_path("data/cifar10").string() : c.train;
}

// FA's configuration without its bound (the simplex is FI's), plus the vertex set.
nlohmann::json fi_config_json(const FiOptions& o, const StyleInterpolation& interpolation,
                              const std::string& train) {
  nlohmann::json j = fa_config_json(o.attack);
  for (const char* fa_only : {"parameterisation", "epsilon", "bound_p"}) j.erase(fa_only);
  const StylePrototypes& p = interpolation.prototypes();
  j["interpolation"] = {{"prototypes_per_class", o.prototypes_per_class},
                        {"include_own", o.interpolation.include_own},
                        {"start", to_string(o.interpolation.start)},
                        {"shared_weights", o.interpolation.shared_weights},
                        {"vertices", interpolation.vertex_count()},
                        {"weights", "Euclidean projection onto the simplex"},
                        {"train", train},
                        {"prototype_records", p.records},
                        {"prototype_labels", p.labels}};
  return j;
}

// `fsa attack fa`, or `fsa attack fi` when `fi` is given: the same networks, loop and outputs.
void run_fa(const FaCommandOptions& c, const FiCommandOptions* fi = nullptr) {
  validate_common(c.common);
  const FaOptions options = resolve_fa_options(c);
  const Device device = resolve_device(c.common.device, "attack");
  const LoadedNetwork classifier =
      load_network(c.common.model, ModelKind::classifier, "--model", device);
  const LoadedNetwork encoder =
      load_network(c.common.encoder, ModelKind::encoder, "--encoder", device);
  const LoadedNetwork decoder = load_network(c.decoder, ModelKind::decoder, "--decoder", device);
  const auto* vgg = dynamic_cast<const Vgg19Encoder*>(encoder.module.get());
  const auto* dec = dynamic_cast<const Decoder*>(decoder.module.get());
  FSA_CHECK(vgg != nullptr && dec != nullptr && vgg->output_channels() == dec->input_channels(),
            "[attack] --encoder (", encoder.architecture, ") and --decoder (", decoder.architecture,
            ") do not meet at the same layer");
  const LabelledImages records = read_records(c.common);
  std::filesystem::create_directories(c.common.out);

  std::unique_ptr<FeatureAttack> attack_holder;
  std::optional<FiOptions> fi_options;
  std::string fi_train;
  if (fi != nullptr) {
    fi_options = resolve_fi_options(*fi);
    fi_train = train_path(*fi);
    std::fprintf(stderr, "[fi] style prototypes: %lld per class from %s\n",
                 static_cast<long long>(fi_options->prototypes_per_class), fi_train.c_str());
    attack_holder = std::make_unique<FeatureInterpolationAttack>(
        *encoder.module, *decoder.module, *classifier.module, *fi_options,
        training_style_prototypes(*encoder.module, fi_train, fi_options->prototypes_per_class,
                                  c.common.seed, device));
  } else {
    attack_holder = std::make_unique<FeatureAttack>(*encoder.module, *decoder.module,
                                                    *classifier.module, options);
  }
  FeatureAttack& attack = *attack_holder;
  const char* tag = fi != nullptr ? "fi" : "fa";
  const int64_t count = records.images.dim(0);
  const int64_t batches = (count + c.common.batch - 1) / c.common.batch;
  Collected collected;
  const Clock::time_point start = Clock::now();
  double attack_seconds = 0.0;
  int64_t iterations_total = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t first = b * c.common.batch, last = std::min(count, first + c.common.batch);
    const Tensor x = slice(records.images, 0, first, last);
    const Tensor y = slice(records.labels, 0, first, last);
    const int64_t every = std::max<int64_t>(1, options.iterations / 10);
    const Clock::time_point batch_start = Clock::now();
    const FaProgress progress = [&](int64_t iteration, int64_t successes) {
      if (iteration % every != 0 && iteration != options.iterations) return;
      std::fprintf(stderr, "[%s] batch %lld/%lld  iteration %lld/%lld  fooled %lld/%lld  %.1f s\n",
                   tag, static_cast<long long>(b + 1), static_cast<long long>(batches),
                   static_cast<long long>(iteration), static_cast<long long>(options.iterations),
                   static_cast<long long>(successes), static_cast<long long>(last - first),
                   seconds_since(start));
    };
    const FaBatchResult r =
        attack.run(x.to(device), y.to(device), c.common.offset + first, progress);
    attack_seconds += seconds_since(batch_start);
    iterations_total += r.iterations_run;
    const bool targeted = options.target_policy != TargetPolicy::none;
    std::vector<SampleMetrics> samples =
        measure_batch(*classifier.module, encoder.module.get(),
                      {.clean = x.to(device),
                       .labels = y.to(device),
                       .adversarial = r.adversarial.to(device),
                       .decoded = r.decoded.to(device),
                       .targets = targeted ? r.targets.to(device) : Tensor(),
                       .first_record = c.common.offset + first});
    for (size_t i = 0; i < samples.size(); ++i) {
      samples[i].first_success = r.first_success[i];
      samples[i].content_loss = r.content_loss[i];
    }
    collected.add(c.common, x, r.adversarial, std::move(samples));
    nlohmann::json config = common_config(c.common, count);
    config["attack"] =
        fi != nullptr
            ? fi_config_json(*fi_options, static_cast<StyleInterpolation&>(attack.transform()),
                             fi_train)
            : fa_config_json(options);
    config["gradient_clip"] = attack.gradient_clip();
    config["effective_adv_weight_last_batch"] = attack.effective_adv_weight();
    config["model"] = {{"path", classifier.path}, {"architecture", classifier.architecture}};
    config["encoder"] = {{"path", encoder.path}, {"architecture", encoder.architecture}};
    config["decoder"] = {{"path", decoder.path}, {"architecture", decoder.architecture}};
    const nlohmann::json timing = {
        {"total_seconds", seconds_since(start)},
        {"attack_seconds", attack_seconds},
        {"iterations_run", iterations_total},
        {"seconds_per_iteration", iterations_total > 0 ? attack_seconds / iterations_total : 0.0}};
    collected.write(c.common, fi != nullptr ? "fsa attack fi" : "fsa attack fa", std::move(config),
                    timing, b + 1 == batches);
  }
}

PgdOptions resolve_pgd_options(const PgdCommandOptions& c) {
  PgdOptions o;
  o.norm = parse_pgd_norm(c.norm);
  o.loss = parse_pgd_loss(c.loss);
  o.epsilon = parse_fraction(c.eps, "attack", "--eps");
  o.step_size = parse_fraction(c.step, "attack", "--step");
  o.steps = c.steps;
  o.restarts = c.restarts;
  o.kappa = c.kappa;
  o.random_start = !c.no_random_start;
  o.seed = c.common.seed;
  if (c.fgsm) {
    FSA_CHECK(o.norm == PgdNorm::linf, "[attack] --fgsm is an L-infinity attack");
    const PgdOptions f = fgsm_options(o.epsilon);
    o.step_size = f.step_size;
    o.steps = f.steps;
    o.random_start = f.random_start;
    o.restarts = f.restarts;
  }
  FSA_CHECK(o.epsilon >= 0 && o.step_size >= 0 && o.steps >= 0 && o.restarts >= 1,
            "[attack] need --eps >= 0, --step >= 0, --steps >= 0 and --restarts >= 1");
  return o;
}

void run_pgd(const PgdCommandOptions& c) {
  validate_common(c.common);
  const PgdOptions options = resolve_pgd_options(c);
  const Device device = resolve_device(c.common.device, "attack");
  const LoadedNetwork classifier =
      load_network(c.common.model, ModelKind::classifier, "--model", device);
  std::optional<LoadedNetwork> encoder;
  if (!c.common.encoder.empty()) {
    encoder = load_network(c.common.encoder, ModelKind::encoder, "--encoder", device);
    encoder->module->eval();
    encoder->module->requires_grad(false);
  }
  const LabelledImages records = read_records(c.common);
  std::filesystem::create_directories(c.common.out);
  const int64_t count = records.images.dim(0);
  const int64_t batches = (count + c.common.batch - 1) / c.common.batch;
  nlohmann::json config = common_config(c.common, count);
  config["attack"] = {{"norm", to_string(options.norm)},
                      {"epsilon", options.epsilon},
                      {"step_size", options.step_size},
                      {"steps", options.steps},
                      {"random_start", options.random_start},
                      {"restarts", options.restarts},
                      {"loss", to_string(options.loss)},
                      {"kappa", options.kappa},
                      {"fgsm", c.fgsm}};
  config["model"] = {{"path", classifier.path}, {"architecture", classifier.architecture}};
  if (encoder) {
    config["encoder"] = {{"path", encoder->path}, {"architecture", encoder->architecture}};
  }
  Collected collected;
  const Clock::time_point start = Clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t first = b * c.common.batch, last = std::min(count, first + c.common.batch);
    const Tensor x = slice(records.images, 0, first, last).to(device);
    const Tensor y = slice(records.labels, 0, first, last).to(device);
    const PgdResult r = pgd_attack(*classifier.module, x, y, options, c.common.offset + first);
    std::vector<SampleMetrics> samples =
        measure_batch(*classifier.module, encoder ? encoder->module.get() : nullptr,
                      {.clean = x,
                       .labels = y,
                       .adversarial = r.adversarial,
                       .decoded = Tensor(),
                       .targets = Tensor(),
                       .first_record = c.common.offset + first});
    collected.add(c.common, x.to(Device::cpu), r.adversarial.to(Device::cpu), std::move(samples));
    std::fprintf(stderr, "[pgd] batch %lld/%lld  %.1f s\n", static_cast<long long>(b + 1),
                 static_cast<long long>(batches), seconds_since(start));
    collected.write(c.common, c.fgsm ? "fsa attack pgd (fgsm)" : "fsa attack pgd", config,
                    {{"total_seconds", seconds_since(start)}}, b + 1 == batches);
  }
}

void add_common_options(CLI::App* command, CommonOptions& o, bool encoder_required) {
  command->add_option("--model", o.model, "classifier weight file (.h5)")->required();
  auto* encoder = command->add_option(
      "--encoder", o.encoder,
      encoder_required ? "VGG-19 encoder weight file (.h5), e.g. relu2_1"
                       : "VGG-19 encoder (.h5) for the feature-space distances (optional)");
  if (encoder_required) encoder->required();
  command->add_option("--data", o.data,
                      "CIFAR-10 binary batch (default: <assets>/data/cifar10/test_batch.bin)");
  command->add_option("--offset", o.offset, "first record")->capture_default_str();
  command->add_option("--limit", o.limit, "number of records (-1: to the end)")
      ->capture_default_str();
  command->add_option("--batch", o.batch, "images per batch")->capture_default_str();
  command->add_option("--seed", o.seed, "seed of random starts and targets")->capture_default_str();
  command->add_option("--out", o.out, "output folder (metrics.json, adversarial/, grid.png)")
      ->required();
  command->add_option("--grid", o.grid, "rows of the Figure-1 grid (0: none)")
      ->capture_default_str();
  command->add_option("--grid-scale", o.grid_scale, "grid pixel scale")->capture_default_str();
  command->add_flag("--no-images", o.no_images, "do not write adversarial/*.png");
  command->add_option("--shard", o.shard,
                      "K/N: attack only the K-th (1..N) of N contiguous parts of the records, "
                      "for `fsa merge` (docs/SCALING.md)");
  add_device_option(command, o.device);
}

// The options FA and FI share: iterations, loss, targets, weight, early stop.
void add_style_attack_options(CLI::App* command, FaCommandOptions& o) {
  command->add_option("--iterations", o.iterations,
                      "optimisation steps (default: preset, 200 paper / 2000 official)");
  command->add_option("--loss", o.loss, "cw | ce")
      ->check(CLI::IsMember({"cw", "ce"}))
      ->capture_default_str();
  command->add_option("--kappa", o.kappa, "CW confidence")->capture_default_str();
  command->add_option("--top-k", o.top_k, "untargeted CW: push the label out of the top k")
      ->capture_default_str();
  command->add_option("--target", o.target, "none | random | least-likely | given")
      ->check(CLI::IsMember({"none", "random", "least-likely", "given"}))
      ->capture_default_str();
  command->add_option("--target-label", o.target_label, "label for --target given");
  command->add_option("--adv-weight", o.adv_weight,
                      "weight of the adversarial term (default: preset)");
  command->add_flag("--early-stop", o.early_stop,
                    "freeze each image at its first success; end a batch when all are");
  command->add_flag("--no-graph", o.no_graph,
                    "cuda: launch every kernel of every step (default: replay a recorded graph)");
}

void add_fi_command(CLI::App* attack) {
  auto fi = std::make_shared<FiCommandOptions>();
  auto* command = attack->add_subcommand(
      "fi",
      "Feature interpolation attack (the style becomes a convex combination of same-class "
      "prototypes from the training split).");
  add_common_options(command, fi->fa.common, true);
  command->add_option("--decoder", fi->fa.decoder, "decoder weight file (.h5)")->required();
  command
      ->add_option("--preset", fi->fa.preset,
                   "paper (200 iterations, separate sigma/mu weights from the own style) | "
                   "official (2000 iterations, one shared weight vector from uniform)")
      ->check(CLI::IsMember({"paper", "official"}))
      ->capture_default_str();
  command->add_option("--train", fi->train,
                      "CIFAR-10 folder with data_batch_{1..5}.bin for the prototypes "
                      "(default: <assets>/data/cifar10)");
  command->add_option("--prototypes", fi->prototypes,
                      "k training images per class, chosen with --seed (default 50)");
  command->add_option("--start", fi->start, "own | uniform: the starting weights (default: preset)")
      ->check(CLI::IsMember({"own", "uniform"}));
  command
      ->add_option("--weights", fi->weights,
                   "shared | separate: one weight vector for sigma and mu, or one each "
                   "(default: preset)")
      ->check(CLI::IsMember({"shared", "separate"}));
  command->add_flag("--no-own", fi->no_own,
                    "leave out the image's own style as a vertex (starts uniform)");
  add_style_attack_options(command, fi->fa);
  command->callback([fi] {
    apply_shard(fi->fa.common);
    run_fa(fi->fa, fi.get());
  });
}

}  // namespace

void add_attack_command(CLI::App& app) {
  auto* attack = app.add_subcommand("attack", "Attack CIFAR-10 images and measure the result.");
  attack->require_subcommand(1);

  auto fa = std::make_shared<FaCommandOptions>();
  auto* fa_command = attack->add_subcommand(
      "fa", "Feature augmentation attack (perturbs the style of the encoder embedding).");
  add_common_options(fa_command, fa->common, true);
  fa_command->add_option("--decoder", fa->decoder, "decoder weight file (.h5)")->required();
  fa_command->add_option("--preset", fa->preset, "paper | official (see docs)")
      ->check(CLI::IsMember({"paper", "official"}))
      ->capture_default_str();
  fa_command->add_option(
      "--eps", fa->eps, "bound epsilon = ln p on the style change (default ln 1.5; ln 2 targeted)");
  add_style_attack_options(fa_command, *fa);
  fa_command->callback([fa] {
    apply_shard(fa->common);
    run_fa(*fa);
  });

  add_fi_command(attack);

  auto pgd = std::make_shared<PgdCommandOptions>();
  auto* pgd_command =
      attack->add_subcommand("pgd", "Projected gradient descent in pixel space (or --fgsm).");
  add_common_options(pgd_command, pgd->common, false);
  pgd_command->add_option("--norm", pgd->norm, "linf | l2")
      ->check(CLI::IsMember({"linf", "l2"}))
      ->capture_default_str();
  pgd_command->add_option("--eps", pgd->eps, "radius on [0,1] images (e.g. 8/255)")
      ->capture_default_str();
  pgd_command->add_option("--step", pgd->step, "step size (e.g. 2/255)")->capture_default_str();
  pgd_command->add_option("--steps,--iterations", pgd->steps, "steps")->capture_default_str();
  pgd_command->add_option("--restarts", pgd->restarts, "random restarts")->capture_default_str();
  pgd_command->add_option("--loss", pgd->loss, "ce | cw")
      ->check(CLI::IsMember({"ce", "cw"}))
      ->capture_default_str();
  pgd_command->add_option("--kappa", pgd->kappa, "CW margin cap")->capture_default_str();
  pgd_command->add_flag("--no-random-start", pgd->no_random_start, "start from the clean image");
  pgd_command->add_flag("--fgsm", pgd->fgsm, "FGSM: one step of size eps, no random start");
  pgd_command->callback([pgd] {
    apply_shard(pgd->common);
    run_pgd(*pgd);
  });
}

}  // namespace fsa::cli
