// attack_report.h: DIR/report.html, the page `fsa attack` and `fsa merge` write next to
// metrics.json: the summary table, the Figure-1 grid, a table of the first images and the
// fully resolved configuration. Self-contained: the grid is embedded as a base64 data URI
// (nothing is linked), so the page can be mailed or moved on its own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fsa::cli {

// Writes `dir`/report.html (atomically) from a metrics.json document; the grid is read from
// `dir`/<document.grid.file> when there is one.
void write_report_html(const std::string& dir, const nlohmann::json& document);

// RFC 4648 base64 of `bytes`.
std::string base64_encode(const std::string& bytes);

}  // namespace fsa::cli
