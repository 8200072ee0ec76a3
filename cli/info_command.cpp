// info_command.cpp: `fsa info FILE` prints what a weight file holds: its attributes, then
// each tensor with its shape, and the parameter count.
#include <cstdio>

#include "cli/commands.h"
#include "weights/weight_file.h"

namespace fsa::cli {

namespace {

std::string join(const std::vector<double>& values) {
  std::string text;
  for (double v : values) text += (text.empty() ? "" : ", ") + std::to_string(v);
  return text.empty() ? "-" : text;
}

void print_info(const std::string& path) {
  const WeightFile file = read_weight_file(path);
  const WeightAttributes& a = file.attributes;
  std::printf("file:          %s\narchitecture:  %s\nsource:        %s\n", path.c_str(), a.architecture.c_str(),
              a.source.c_str());
  std::printf("input range:   %s (%s)\nmean:          %s\nstd:           %s\n", a.input_range.c_str(),
              a.channel_order.c_str(), join(a.mean).c_str(), join(a.stddev).c_str());
  int64_t total = 0;
  for (const auto& [name, tensor] : file.tensors) {
    std::printf("  %-48s %s\n", name.c_str(), to_string(tensor.shape()).c_str());
    total += tensor.numel();
  }
  std::printf("%zu tensors, %lld values\n", file.tensors.size(), static_cast<long long>(total));
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* command = app.add_subcommand("info", "Show what a weight file holds: attributes, tensors and shapes.");
  auto path = std::make_shared<std::string>();
  command->add_option("file", *path, "weight file (.h5) written by `fsa convert` or by training")
      ->required()
      ->check(CLI::ExistingFile);
  command->callback([path] { print_info(*path); });
}

}  // namespace fsa::cli
