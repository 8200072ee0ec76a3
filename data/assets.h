// assets.h: where the read-only assets (weights/, data/ of the shared folder) are found.
// The environment variable FSA_ASSETS wins; otherwise the `shared` folder beside the
// repository (<repo>/../shared), fixed at build time. Nothing here checks that files exist.
#pragma once

#include <filesystem>
#include <string>

namespace fsa {

// The assets root: $FSA_ASSETS if set and non-empty, else <repo>/../shared.
std::filesystem::path assets_dir();

// assets_dir() / relative, e.g. asset_path("data/cifar10/test_batch.bin").
std::filesystem::path asset_path(const std::string& relative);

}  // namespace fsa
