// device_option.h: the `--device cpu|cuda` option every computing command takes, and the
// check that the chosen device can be used (a CPU-only build or no GPU is a clear error).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "tensor/device.h"

namespace fsa::cli {

// Adds `--device` (default "cpu") to `command`, storing the name in `name`.
void add_device_option(CLI::App* command, std::string& name);

// The device named by `name`; "cuda" without a usable GPU is an fsa::Error that names
// `command` and says why.
Device resolve_device(const std::string& name, const char* command);

}  // namespace fsa::cli
