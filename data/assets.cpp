// assets.cpp: resolves the assets root. FSA_DEFAULT_ASSETS_DIR is set by CMake to
// <repo>/../shared for this library only.
#include "data/assets.h"

#include <cstdlib>

namespace fsa {

std::filesystem::path assets_dir() {
  const char* configured = std::getenv("FSA_ASSETS");
  if (configured != nullptr && configured[0] != '\0') return std::filesystem::path(configured);
  return std::filesystem::path(FSA_DEFAULT_ASSETS_DIR).lexically_normal();
}

std::filesystem::path asset_path(const std::string& relative) { return assets_dir() / relative; }

}  // namespace fsa
