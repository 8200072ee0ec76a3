// convert_command.cpp: `fsa convert IN OUT [--arch NAME] [--mean M M M] [--std S S S]`:
// converts a PyTorch checkpoint to the fsa weight format by running
// scripts/convert_checkpoint.py (Python 3 with numpy and h5py, no PyTorch), then checks that
// the result loads strictly into its architecture before it appears at OUT.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "cli/evaluation.h"
#include "models/registry.h"

extern char** environ;

namespace fsa::cli {

namespace {

constexpr const char* kDefaultPython = "/usr/bin/python3";

struct ConvertOptions {
  std::string input;
  std::string output;
  std::string architecture;
  std::vector<double> mean;
  std::vector<double> stddev;
  std::string input_range;
  std::string channel_order;
  bool list = false;
};

// $FSA_PYTHON when set (tests use it), else /usr/bin/python3.
std::string python_path() {
  const char* configured = std::getenv("FSA_PYTHON");
  return configured != nullptr && configured[0] != '\0' ? configured : kDefaultPython;
}

std::string converter_script() {
  return (std::filesystem::path(FSA_SCRIPTS_DIR) / "convert_checkpoint.py").string();
}

// What a child process may print; the rest goes to /dev/null.
enum class ChildOutput { all, errors_only, none };

// Runs argv[0] with `argv` (no shell); returns its exit status, or -1 when it was killed by
// a signal.
int run_program(const std::vector<std::string>& argv, ChildOutput output) {
  std::vector<char*> arguments;
  for (const std::string& argument : argv) arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (output != ChildOutput::all) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  if (output == ChildOutput::none) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, arguments[0], &actions, nullptr, arguments.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  FSA_CHECK(spawn_error == 0, "[convert] cannot run '", argv[0], "': ", std::strerror(spawn_error));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    FSA_CHECK(errno == EINTR, "[convert] waiting for '", argv[0],
              "' failed: ", std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void check_python_exists(const std::string& python) {
  FSA_CHECK(access(python.c_str(), X_OK) == 0, "[convert] '", python,
            "' not found: the checkpoint converter needs Python 3 with numpy and h5py (Debian: "
            "apt-get install python3 python3-numpy python3-h5py)");
  FSA_CHECK(std::filesystem::is_regular_file(converter_script()), "[convert] the converter '",
            converter_script(), "' is missing");
}

// Runs the converter; when it fails, says plainly whether numpy or h5py is what is missing.
void run_converter(const std::vector<std::string>& argv, const std::string& input,
                   ChildOutput output) {
  if (run_program(argv, output) == 0) return;
  FSA_CHECK(run_program({argv[0], "-c", "import numpy, h5py"}, ChildOutput::none) == 0,
            "[convert] '", argv[0],
            "' cannot import numpy and h5py, which the checkpoint converter needs (Debian: "
            "apt-get install python3-numpy python3-h5py)");
  fail("[convert] converting '", input, "' failed (the converter's message is above)");
}

std::vector<std::string> script_arguments(const ConvertOptions& options,
                                          const std::string& output) {
  std::vector<std::string> argv = {python_path(), converter_script(), options.input};
  if (options.list) {
    argv.push_back("--list");
    return argv;
  }
  argv.push_back(output);
  if (!options.architecture.empty()) argv.insert(argv.end(), {"--arch", options.architecture});
  const auto add_triple = [&](const char* flag, const std::vector<double>& values) {
    if (values.empty()) return;
    argv.push_back(flag);
    for (double v : values) argv.push_back(concat_message(v));
  };
  add_triple("--mean", options.mean);
  add_triple("--std", options.stddev);
  if (!options.input_range.empty()) argv.insert(argv.end(), {"--input-range", options.input_range});
  if (!options.channel_order.empty()) {
    argv.insert(argv.end(), {"--channel-order", options.channel_order});
  }
  return argv;
}

void run_convert(const ConvertOptions& options) {
  FSA_CHECK(options.list || !options.output.empty(), "[convert] OUT is required unless --list");
  check_python_exists(python_path());
  if (options.list) {
    run_converter(script_arguments(options, ""), options.input, ChildOutput::all);
    return;
  }
  // Convert next to OUT, check the result loads into its architecture, then rename: OUT
  // only ever holds a complete, loadable file.
  const std::filesystem::path output(options.output);
  const std::filesystem::path temporary =
      output.parent_path() /
      ("." + output.filename().string() + ".converting" + std::to_string(getpid()) + ".h5");
  try {
    run_converter(script_arguments(options, temporary.string()), options.input,
                  ChildOutput::errors_only);
    const WeightFile file = read_weight_file(temporary.string());
    const LoadedModel model =
        load_model(temporary.string(), model_kind(file.attributes.architecture), "fsa convert");
    std::filesystem::rename(temporary, output);
    std::printf("wrote %s: %zu tensors, loads into %s\n", options.output.c_str(),
                model.module->named_tensors().size(), model.attributes.architecture.c_str());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto options = std::make_shared<ConvertOptions>();
  auto* command = app.add_subcommand(
      "convert",
      "Convert a PyTorch checkpoint (.pth/.th, legacy or zip format) to an fsa weight file, "
      "without PyTorch (runs scripts/convert_checkpoint.py with Python 3, numpy and h5py). "
      "The checkpoints of the assets are recognised by name; others need --arch, --mean, --std.");
  command->add_option("input", options->input, "PyTorch checkpoint")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("output", options->output, "fsa weight file to write (.h5)");
  std::string architectures;
  for (const std::string& name : known_architectures()) {
    architectures += (architectures.empty() ? "" : ", ") + name;
  }
  command->add_option("--arch", options->architecture, "architecture: " + architectures)
      ->check(CLI::IsMember(known_architectures()));
  command->add_option("--mean", options->mean, "per-channel input mean (3 values)")->expected(3);
  command->add_option("--std", options->stddev, "per-channel input std (3 values)")->expected(3);
  command->add_option("--input-range", options->input_range, "input pixel range (default 0-1)");
  command->add_option("--channel-order", options->channel_order, "RGB (default) or BGR")
      ->check(CLI::IsMember({"RGB", "BGR"}));
  command->add_flag("--list", options->list, "print the checkpoint's tensor names and shapes");
  command->callback([options] { run_convert(*options); });
}

}  // namespace fsa::cli
