// cli_runner.h: running the built `fsa` binary from a test (exit status and the combined
// stdout/stderr text), and converting an asset checkpoint for tests that need real weights.
// Used by the CLI tests and pretrained_test.cpp.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/assets.h"
#include "tensor/check.h"

namespace fsa::testing {

struct CommandResult {
  int exit_status = -1;  // -1: killed by a signal (a crash)
  std::string output;    // stdout and stderr together
};

// Runs `fsa <arguments>` through the shell (`arguments` is shell text: quote paths with
// spaces), prefixed by `environment` assignments such as "FSA_PYTHON=/x".
inline CommandResult run_fsa(const std::string& arguments, const std::string& environment = "") {
  const std::string command = concat_message(environment, environment.empty() ? "" : " ", "'",
                                             FSA_CLI_BINARY, "' ", arguments, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  FSA_CHECK(pipe != nullptr, "cannot run ", command);
  CommandResult result;
  std::array<char, 4096> buffer{};
  size_t read = 0;
  while ((read = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), read);
  }
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A clear failure: exit status 1 and one "fsa: error:" line naming `what`.
inline void expect_clear_error(const CommandResult& result, const std::string& what) {
  EXPECT_EQ(result.exit_status, 1) << result.output;
  EXPECT_NE(result.output.find("fsa: error:"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(what), std::string::npos) << "'" << what << "' not in\n"
                                                         << result.output;
}

// True when the converter can run here (Python 3 with numpy and h5py).
inline bool converter_available() {
  return std::system("/usr/bin/python3 -c 'import numpy, h5py' >/dev/null 2>&1") == 0;
}

// Converts assets_dir()/weights/<relative> to `output` with `fsa convert`; returns "" on
// success, else why it could not (the asset or Python is missing: skip; or the failure).
inline std::string convert_asset(const std::string& relative, const std::string& output) {
  const std::filesystem::path checkpoint = asset_path("weights/" + relative);
  if (!std::filesystem::exists(checkpoint)) return checkpoint.string() + " is absent";
  if (!converter_available()) return "python3 with numpy and h5py is needed to convert";
  const CommandResult result =
      run_fsa(concat_message("convert '", checkpoint.string(), "' '", output, "'"));
  FSA_CHECK(result.exit_status == 0, "fsa convert ", relative, " failed:\n", result.output);
  return "";
}

}  // namespace fsa::testing
