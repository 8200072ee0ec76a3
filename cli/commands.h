// commands.h: the subcommands of the `fsa` tool. Each lives in its own cli/<name>_command.cpp
// and registers itself on the CLI11 app; main.cpp lists them. A command reports failures
// by throwing fsa::Error, which main() prints as one line and turns into exit status 1.
#pragma once

#include <CLI/CLI.hpp>

namespace fsa::cli {

void add_info_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_reconstruct_command(CLI::App& app);
void add_attack_command(CLI::App& app);
void add_train_decoder_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_gradcheck_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_detect_command(CLI::App& app);

}  // namespace fsa::cli
