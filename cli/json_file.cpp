// json_file.cpp: atomic JSON writing and the run metadata recorded with results.
#include "cli/json_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "tensor/check.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fsa::cli {

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_text_file(path, value.dump(2) + "\n");
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  FSA_CHECK(std::filesystem::is_directory(folder), "[json] cannot write '", path, "': folder '",
            folder.string(), "' does not exist");
  std::string temporary_name = ".";  // built step by step: GCC 12 warns on "." + string
  temporary_name += target.filename().string();
  temporary_name += ".tmp" + std::to_string(getpid());
  const std::string temporary = (folder / temporary_name).string();
  {
    std::ofstream out(temporary, std::ios::trunc);
    FSA_CHECK(out.is_open(), "[json] cannot create '", temporary, "': ", std::strerror(errno));
    out << text;
    out.flush();
    if (!out.good()) {
      std::remove(temporary.c_str());
      fail("[json] write error on '", temporary, "'");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (error) {
    std::remove(temporary.c_str());
    fail("[json] cannot rename '", temporary, "' to '", path, "': ", error.message());
  }
}

int thread_count() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace fsa::cli
