// atomic_write.cpp: temporary file beside the target, then rename.
#include "tensor/atomic_write.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>

#include "tensor/check.h"

namespace fsa {

namespace {

// A name in the target's folder that no other writer (thread or process) uses.
std::filesystem::path temporary_path_beside(const std::filesystem::path& target) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  return folder / concat_message(".", target.filename().string(), ".tmp-", getpid(), "-",
                                 counter.fetch_add(1));
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

}  // namespace

void write_atomically(const std::string& path, const char* who,
                      const std::function<void(const std::string& temporary_path)>& write) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  FSA_CHECK(std::filesystem::is_directory(folder), "[", who, "] cannot write '", path,
            "': folder '", folder.string(), "' does not exist");
  const std::filesystem::path temporary = temporary_path_beside(target);
  try {
    write(temporary.string());
  } catch (...) {
    remove_quietly(temporary);
    throw;
  }
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (error) {
    remove_quietly(temporary);
    fail("[", who, "] cannot rename '", temporary.string(), "' to '", path, "': ",
         error.message());
  }
}

}  // namespace fsa
