// attack_folder.h: reading back what `fsa attack fa|pgd` wrote (cli/attack_output.h): the
// per-sample records of DIR/metrics.json and the lossless DIR/adversarial/<record>.png files,
// so that a later command (`fsa detect eval`) sees exactly the images the attack measured.
// The PNGs hold the 8-bit quantised adversarial images, so the attack's "quantised" figures
// are the ones that describe them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fsa::cli {

struct AttackFolderSample {
  int64_t record = 0;
  int32_t label = 0;
  int32_t target = -1;  // −1: untargeted
  int32_t clean_prediction = 0;
  bool clean_top1 = false;
  bool quantised_fooled = false;  // what the attack measured on the 8-bit image
  std::string png;                // DIR/adversarial/<record>.png
};

struct AttackFolder {
  std::string path;
  std::string command;       // "fsa attack pgd", "fsa attack fa", ...
  std::string architecture;  // of the attacked classifier
  std::string model_path;
  bool complete = false;  // false: metrics.json of an unfinished run
  std::vector<AttackFolderSample> samples;
};

// A missing folder, metrics.json or PNG (e.g. a run with --no-images) is an fsa::Error that
// names the path and says what is missing.
AttackFolder read_attack_folder(const std::string& dir);

}  // namespace fsa::cli
