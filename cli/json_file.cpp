// json_file.cpp: atomic JSON writing and the run metadata recorded with results.
#include "cli/json_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "tensor/atomic_write.h"
#include "tensor/check.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fsa::cli {

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_text_file(path, value.dump(2) + "\n");
}

void write_text_file(const std::string& path, const std::string& text) {
  write_atomically(path, "json", [&](const std::string& temporary) {
    std::ofstream out(temporary, std::ios::trunc);
    FSA_CHECK(out.is_open(), "[json] cannot create '", temporary, "': ", std::strerror(errno));
    out << text;
    out.flush();
    FSA_CHECK(out.good(), "[json] write error on '", temporary, "'");
  });
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
