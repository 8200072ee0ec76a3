// eval_command.cpp: `fsa eval --model M.h5 [--data DIR] [--split test|train] [--limit N]
// [--batch B] [--json out.json]`: top-1/top-5 accuracy of a classifier weight file on
// CIFAR-10, with a progress bar on stderr and, optionally, the results and the full resolved
// configuration as JSON.
#include <cstdio>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/evaluation.h"
#include "cli/json_file.h"
#include "cli/progress.h"
#include "data/assets.h"

namespace fsa::cli {

namespace {

struct EvalOptions {
  std::string model;
  std::string data;
  std::string split = "test";
  int64_t limit = -1;
  int64_t batch = 100;
  std::string json;
  std::string device = "cpu";
};

double percent(int64_t part, int64_t whole) {
  return whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

nlohmann::json configuration_json(const EvalOptions& options, const LoadedModel& model,
                                  const CifarSplit& split) {
  const WeightAttributes& a = model.attributes;
  return {{"model", std::filesystem::absolute(options.model).string()},
          {"architecture", a.architecture},
          {"source", a.source},
          {"preprocessing",
           {{"input_range", a.input_range},
            {"channel_order", a.channel_order},
            {"mean", a.mean},
            {"std", a.stddev}}},
          {"data", std::filesystem::absolute(options.data).string()},
          {"split", split.name},
          {"files", split.files},
          {"limit", options.limit},
          {"batch", options.batch},
          {"device", options.device},
          {"threads", thread_count()}};
}

void run_eval(EvalOptions options) {
  if (options.data.empty()) options.data = asset_path("data/cifar10").string();
  FSA_CHECK(options.batch > 0, "[eval] --batch must be positive, got ", options.batch);
  FSA_CHECK(options.limit >= -1, "[eval] --limit must be >= 0 (or -1 for all), got ",
            options.limit);
  const Device device = resolve_device(options.device, "eval");
  const LoadedModel model = load_model(options.model, ModelKind::classifier, "fsa eval", device);
  const CifarSplit split = cifar10_split(options.data, options.split);
  const std::vector<CifarBatch> batches = cifar10_batches(split, options.limit, options.batch);
  int64_t images = 0;
  for (const CifarBatch& batch : batches) images += batch.count;

  NoGradGuard no_grad;
  TopKCounts correct;
  ProgressBar progress("eval", images);
  for (const CifarBatch& batch : batches) {
    const LabelledImages data = read_batch(split, batch);
    const TopKCounts counts =
        count_correct(model.module->forward(data.images.to(device)), data.labels);
    correct.top1 += counts.top1;
    correct.top5 += counts.top5;
    progress.advance(batch.count);
  }
  progress.finish();

  const double top1 = percent(correct.top1, images), top5 = percent(correct.top5, images);
  std::printf("model:  %s (%s)\ndata:   CIFAR-10 %s split, %lld images\n", options.model.c_str(),
              model.attributes.architecture.c_str(), split.name.c_str(),
              static_cast<long long>(images));
  std::printf("top-1:  %.2f %% (%lld correct)\ntop-5:  %.2f %% (%lld correct)\n", top1,
              static_cast<long long>(correct.top1), top5, static_cast<long long>(correct.top5));
  std::printf("time:   %.1f s (%.1f images/s, %d threads)\n", progress.elapsed_seconds(),
              progress.items_per_second(), thread_count());
  if (!options.json.empty()) {
    const nlohmann::json result = {{"command", "eval"},
                                   {"finished", utc_timestamp()},
                                   {"configuration", configuration_json(options, model, split)},
                                   {"results",
                                    {{"images", images},
                                     {"top1_correct", correct.top1},
                                     {"top5_correct", correct.top5},
                                     {"top1_percent", top1},
                                     {"top5_percent", top5},
                                     {"seconds", progress.elapsed_seconds()},
                                     {"images_per_second", progress.items_per_second()}}}};
    write_json_file(options.json, result);
    std::printf("wrote:  %s\n", options.json.c_str());
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* command = app.add_subcommand(
      "eval",
      "Top-1/top-5 accuracy of a classifier weight file on CIFAR-10 (RGB in [0,1]; the "
      "file's preprocessing is applied by the model).");
  command->add_option("--model,-m", options->model, "classifier weight file (.h5)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--data,-d", options->data,
                      "CIFAR-10 folder in the binary layout (default: <assets>/data/cifar10)");
  command->add_option("--split", options->split, "test (test_batch.bin) or train (data_batch_*)")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  command->add_option("--limit,-n", options->limit, "evaluate the first N records only (-1: all)")
      ->capture_default_str();
  command->add_option("--batch,-b", options->batch, "images per forward pass")
      ->capture_default_str();
  command->add_option("--json", options->json,
                      "also write results and the resolved configuration to this JSON file");
  add_device_option(command, options->device);
  command->callback([options] { run_eval(*options); });
}

}  // namespace fsa::cli
