// json_file.h: writing a command's results as a JSON file, atomically: the text goes to a
// temporary file in the target's folder, which is then renamed over the target, so readers
// never see a half-written file and a failed write leaves the old file as it was.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fsa::cli {

void write_json_file(const std::string& path, const nlohmann::json& value);
// The same for any text (e.g. an HTML page).
void write_text_file(const std::string& path, const std::string& text);

// The OpenMP thread count and the time of day (ISO 8601, UTC), recorded with results.
int thread_count();
std::string utc_timestamp();

}  // namespace fsa::cli
