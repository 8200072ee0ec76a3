// main.cpp: the `fsa` command-line tool: one CLI11 app with a subcommand per task.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "tensor/check.h"

int main(int argc, char** argv) {
  CLI::App app{
      "fsa: feature-space adversarial attacks with a from-scratch deep-learning engine.\n"
      "Run `fsa <command> --help` for the options of each command."};
  app.require_subcommand(1);
  fsa::cli::add_info_command(app);
  fsa::cli::add_convert_command(app);
  fsa::cli::add_eval_command(app);
  fsa::cli::add_reconstruct_command(app);
  fsa::cli::add_attack_command(app);
  fsa::cli::add_train_decoder_command(app);
  fsa::cli::add_train_command(app);
  fsa::cli::add_gradcheck_command(app);
  fsa::cli::add_merge_command(app);
  fsa::cli::add_detect_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const fsa::Error& e) {
    std::fprintf(stderr, "fsa: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fsa: unexpected error: %s\n", e.what());
    return 2;
  }
  return 0;
}
