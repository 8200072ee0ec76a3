// attack_report.cpp: the HTML report page, built as one string from the metrics.json
// document: escaped text, numbers formatted like the summary table on stdout, the grid as
// a data URI.
#include "cli/attack_report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/json_file.h"
#include "tensor/check.h"

namespace fsa::cli {

namespace {

using nlohmann::json;

constexpr size_t kSampleRows = 100;  // rows of the per-image table

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// A summary value: "–" when absent or null (NaN when written).
std::string figure(const json& summary, const std::string& key, bool percent, int decimals) {
  if (!summary.contains(key) || !summary[key].is_number()) return "&ndash;";
  const double v = summary[key].get<double>();
  return percent ? fixed(100.0 * v, 1) + " %" : fixed(v, decimals);
}

std::string read_binary(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  FSA_CHECK(in.good(), "[report] cannot read '", path.string(), "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

struct SummaryRow {
  const char* label;
  std::vector<const char*> keys;  // shown as "a / b"
  bool percent;
  int decimals;
  bool quantised;  // has a quantised_ twin
};

const std::vector<SummaryRow>& summary_rows() {
  static const std::vector<SummaryRow> rows = {
      {"images", {"images"}, false, 0, false},
      {"clean accuracy (top-1 / top-5)", {"clean_top1", "clean_top5"}, true, 1, false},
      {"decoded accuracy (top-1 / top-5)", {"decoded_top1", "decoded_top5"}, true, 1, false},
      {"adversarial accuracy (top-1 / top-5)",
       {"adversarial_top1", "adversarial_top5"},
       true,
       1,
       true},
      {"robust accuracy (clean and adversarial correct)", {"robust_top1"}, true, 1, true},
      {"success rate among clean-correct", {"success_rate"}, true, 1, true},
      {"successes", {"successes"}, false, 0, true},
      {"median iterations to first success", {"median_first_success"}, false, 1, false},
      {"pixel L&infin; / L2 on [0,1] (successes)", {"pixel_linf", "pixel_l2"}, false, 4, true},
      {"pixel L&infin; / L2 on 0&ndash;255 (successes)",
       {"pixel_linf_255", "pixel_l2_255"},
       false,
       1,
       true},
      {"feature L&infin; / L2 (successes)", {"feature_linf", "feature_l2"}, false, 3, true},
      {"pixel L&infin; / L2 on [0,1] (all images)",
       {"pixel_linf_all", "pixel_l2_all"},
       false,
       4,
       true},
      {"feature L&infin; / L2 (all images)",
       {"feature_linf_all", "feature_l2_all"},
       false,
       3,
       true},
  };
  return rows;
}

std::string summary_table(const json& summary) {
  std::string html =
      "<table id=\"summary\">\n<thead><tr><th>figure</th><th>x&prime; as optimised</th>"
      "<th>after 8-bit quantisation</th></tr></thead>\n<tbody>\n";
  for (const SummaryRow& row : summary_rows()) {
    std::string plain, quantised;
    for (const char* key : row.keys) {
      plain += (plain.empty() ? "" : " / ") + figure(summary, key, row.percent, row.decimals);
      quantised += (quantised.empty() ? "" : " / ") +
                   figure(summary, std::string("quantised_") + key, row.percent, row.decimals);
    }
    html += std::string("<tr><td>") + row.label + "</td><td>" + plain + "</td><td>" +
            (row.quantised ? quantised : "") + "</td></tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

std::string cell(const json& row, const char* key, int decimals = -1, double scale = 1.0) {
  if (!row.contains(key) || row[key].is_null()) return "<td></td>";
  const json& v = row[key];
  if (v.is_boolean()) return v.get<bool>() ? "<td>yes</td>" : "<td>no</td>";
  if (decimals >= 0) return "<td>" + fixed(scale * v.get<double>(), decimals) + "</td>";
  return "<td>" + escape_html(v.dump()) + "</td>";
}

std::string sample_table(const json& samples) {
  std::string html =
      "<table id=\"samples\">\n<thead><tr><th>record</th><th>label</th><th>target</th>"
      "<th>clean pred.</th><th>adv. pred.</th><th>fooled</th><th>fooled (8-bit)</th>"
      "<th>pixel L&infin; (0&ndash;255)</th><th>pixel L2 (0&ndash;255)</th>"
      "<th>feature L2</th><th>content loss</th><th>first success</th></tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < samples.size() && i < kSampleRows; ++i) {
    const json& s = samples[i];
    const json adversarial = s.value("adversarial", json::object());
    const json quantised = s.value("quantised", json::object());
    html += "<tr>" + cell(s, "record") + cell(s, "label") + cell(s, "target") +
            cell(s, "clean_prediction") + cell(s, "adversarial_prediction") +
            cell(adversarial, "fooled") + cell(quantised, "fooled") +
            cell(adversarial, "pixel_linf", 1, 255.0) + cell(adversarial, "pixel_l2", 1, 255.0) +
            cell(adversarial, "feature_l2", 2) + cell(s, "content_loss", 3) +
            cell(s, "first_success") + "</tr>\n";
  }
  html += "</tbody>\n</table>\n";
  if (samples.size() > kSampleRows) {
    html += "<p>The first " + std::to_string(kSampleRows) + " of " +
            std::to_string(samples.size()) + " images; metrics.json has them all.</p>\n";
  }
  return html;
}

std::string grid_figure(const std::string& dir, const json& document) {
  const std::string file = document.contains("grid") ? document["grid"].value("file", "") : "";
  if (file.empty() || !std::filesystem::is_regular_file(std::filesystem::path(dir) / file)) {
    return "<p>No grid was written (--grid 0).</p>\n";
  }
  const std::string png = read_binary(std::filesystem::path(dir) / file);
  // onload records the decoded width in the DOM (the headless rendering test reads it).
  return "<figure>\n<img id=\"grid\" alt=\"original, adversarial and 3&times; difference of "
         "the first images\" onload=\"this.setAttribute('data-loaded', this.naturalWidth)\" "
         "src=\"data:image/png;base64," +
         base64_encode(png) +
         "\">\n<figcaption>Each row: the original, the adversarial image and 3&times; their "
         "absolute difference, with the pixel L&infin; and L2 on [0,1] under the last "
         "two.</figcaption>\n</figure>\n";
}

constexpr const char* kStyle = R"(<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eee; }
img { image-rendering: pixelated; border: 1px solid #ccc; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
</style>
)";

}  // namespace

std::string base64_encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    uint32_t word = static_cast<uint8_t>(bytes[i]) << 16;
    if (left > 1) word |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (left > 2) word |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(word >> 18) & 63];
    out += kAlphabet[(word >> 12) & 63];
    out += left > 1 ? kAlphabet[(word >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[word & 63] : '=';
  }
  return out;
}

void write_report_html(const std::string& dir, const json& document) {
  const std::string title = document.value("command", std::string("fsa attack"));
  const json config = document.value("config", json::object());
  const json summary = document.value("summary", json::object());
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>" + escape_html(title) + " report</title>\n" + kStyle + "</head>\n<body>\n";
  html += "<h1>" + escape_html(title) + "</h1>\n";
  html += "<p>" + escape_html(std::to_string(config.value("images", int64_t{0}))) +
          " images from " + escape_html(config.value("data", std::string("?"))) + ", written " +
          escape_html(
              config.value("environment", json::object()).value("written_utc", std::string("?"))) +
          (document.value("complete", false) ? "" : " &mdash; <strong>partial</strong>") +
          ".</p>\n";
  html += "<h2>Summary</h2>\n" + summary_table(summary);
  html += "<h2>Grid</h2>\n" + grid_figure(dir, document);
  html += "<h2>Images</h2>\n" + sample_table(document.value("samples", json::array()));
  html += "<h2>Configuration</h2>\n<pre id=\"config\">" + escape_html(config.dump(2)) + "</pre>\n";
  html += "<h2>Timing</h2>\n<pre id=\"timing\">" +
          escape_html(document.value("timing", json::object()).dump(2)) + "</pre>\n";
  html += "</body>\n</html>\n";
  write_text_file((std::filesystem::path(dir) / "report.html").string(), html);
}

}  // namespace fsa::cli
