// merge_command.cpp: `fsa merge DIR... --out DIR`: joins the outputs of `fsa attack ...
// --shard K/N` runs. It checks that the shards are of one configuration (everything but
// their record range, output folder and environment), complete (shards 1..N, each finished)
// and non-overlapping (contiguous record ranges tiling the selection), then writes the
// combined metrics.json (summary recomputed from the per-sample rows with attack/metrics
// summarize), the grid (the shards' grid rows stacked), the adversarial PNGs and the report.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attack/metrics.h"
#include "cli/attack_output.h"
#include "cli/attack_report.h"
#include "cli/commands.h"
#include "cli/json_file.h"
#include "data/image_io.h"
#include "tensor/check.h"

namespace fsa::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Shard {
  std::string dir;
  json document;
  int64_t index = 0, count = 0, first = 0, end = 0;
};

Shard read_shard(const std::string& dir) {
  const fs::path path = fs::path(dir) / "metrics.json";
  FSA_CHECK(fs::is_regular_file(path), "[merge] '", path.string(), "' does not exist");
  Shard shard;
  shard.dir = dir;
  try {
    std::ifstream in(path);
    shard.document = json::parse(in);
  } catch (const json::exception& e) {
    fail("[merge] '", path.string(), "' is not valid JSON: ", e.what());
  }
  const json& d = shard.document;
  FSA_CHECK(d.contains("complete") && d.contains("config") && d.contains("samples"), "[merge] '",
            path.string(), "' is not a metrics.json of `fsa attack`");
  FSA_CHECK(d["complete"].get<bool>(), "[merge] '", path.string(),
            "' is partial: that shard did not finish");
  FSA_CHECK(d["config"].contains("shard"), "[merge] '", path.string(),
            "' was not written with --shard K/N");
  const json& s = d["config"]["shard"];
  shard.index = s.at("index").get<int64_t>();
  shard.count = s.at("count").get<int64_t>();
  shard.first = s.at("first_record").get<int64_t>();
  shard.end = s.at("end_record").get<int64_t>();
  return shard;
}

// What every shard of one run shares: the configuration without the shard's own range,
// output folder, environment and the last batch's effective weight.
json shared_config(json config) {
  for (const char* own : {"offset", "limit", "images", "out", "environment", "shard",
                          "effective_adv_weight_last_batch"}) {
    config.erase(own);
  }
  return config;
}

json shared_shard_fields(json shard) {
  for (const char* own : {"index", "first_record", "end_record"}) shard.erase(own);
  return shard;
}

// The JSON pointer of the first difference between two documents.
std::string first_difference(const json& a, const json& b) {
  const json patch = json::diff(a, b);
  return patch.empty() ? "" : patch[0].value("path", "?");
}

void check_shards(const std::vector<Shard>& shards) {
  const Shard& head = shards.front();
  const int64_t count = head.count;
  const json config = shared_config(head.document["config"]);
  const json fields = shared_shard_fields(head.document["config"]["shard"]);
  for (const Shard& s : shards) {
    FSA_CHECK(s.count == count, "[merge] '", s.dir, "' is shard ", s.index, " of ", s.count, ", '",
              head.dir, "' one of ", count);
    FSA_CHECK(s.document["command"] == head.document["command"], "[merge] '", s.dir, "' ran ",
              s.document["command"].dump(), ", '", head.dir, "' ran ",
              head.document["command"].dump());
    const json other = shared_config(s.document["config"]);
    FSA_CHECK(other == config, "[merge] '", s.dir, "' and '", head.dir,
              "' differ in their configuration at ", first_difference(config, other));
    const json other_fields = shared_shard_fields(s.document["config"]["shard"]);
    FSA_CHECK(other_fields == fields, "[merge] '", s.dir, "' and '", head.dir,
              "' split different record selections (", first_difference(fields, other_fields), ")");
  }
  for (int64_t k = 1; k <= count; ++k) {
    std::vector<std::string> dirs;
    for (const Shard& s : shards) {
      if (s.index == k) dirs.push_back(s.dir);
    }
    FSA_CHECK(!dirs.empty(), "[merge] shard ", k, " of ", count, " is missing");
    FSA_CHECK(dirs.size() == 1, "[merge] shard ", k, " appears twice: '", dirs[0], "' and '",
              dirs[1], "'");
  }
  const int64_t selection_first = fields.at("selection_offset").get<int64_t>();
  const int64_t selection_end = selection_first + fields.at("selection_records").get<int64_t>();
  int64_t expected_first = selection_first;
  for (const Shard& s : shards) {  // sorted by index
    FSA_CHECK(s.first == expected_first && s.end > s.first, "[merge] shard ", s.index, " ('", s.dir,
              "') covers records [", s.first, ", ", s.end, "), expected to start at ",
              expected_first, ": the shards overlap or leave a gap");
    const json& samples = s.document["samples"];
    FSA_CHECK(static_cast<int64_t>(samples.size()) == s.end - s.first, "[merge] '", s.dir,
              "' holds ", samples.size(), " samples for records [", s.first, ", ", s.end, ")");
    for (size_t i = 0; i < samples.size(); ++i) {
      FSA_CHECK(samples[i].value("record", int64_t{-1}) == s.first + static_cast<int64_t>(i),
                "[merge] '", s.dir, "': sample ", i, " is not record ",
                s.first + static_cast<int64_t>(i));
    }
    expected_first = s.end;
  }
  FSA_CHECK(expected_first == selection_end, "[merge] the shards end at record ", expected_first,
            ", the selection at ", selection_end);
}

// The shards' grids stacked: each grid is a top gap of 2·scale white rows, then `rows` bands
// of equal height (image, caption, gap); at most `max_rows` bands are kept.
void write_merged_grid(const std::vector<Shard>& shards, const std::string& out, int64_t scale,
                       int64_t max_rows, int64_t& rows_written) {
  const int64_t gap = 2 * scale;
  RgbImage merged;
  rows_written = 0;
  for (const Shard& s : shards) {
    const int64_t rows = s.document.contains("grid") ? s.document["grid"].value("rows", 0) : 0;
    if (rows == 0 || rows_written >= max_rows) continue;
    const RgbImage grid = decode_image((fs::path(s.dir) / "grid.png").string());
    FSA_CHECK((grid.height - gap) % rows == 0, "[merge] '", s.dir, "/grid.png' (", grid.height,
              " rows of pixels) does not hold ", rows, " grid rows");
    const int64_t band = (grid.height - gap) / rows;
    if (merged.width == 0) {
      merged.width = grid.width;
      merged.height = gap;
      merged.pixels.assign(static_cast<size_t>(gap * grid.width * 3), 255);
    }
    FSA_CHECK(grid.width == merged.width, "[merge] the grids of the shards differ in width");
    const int64_t take = std::min(rows, max_rows - rows_written);
    const auto begin = grid.pixels.begin() + gap * grid.width * 3;
    merged.pixels.insert(merged.pixels.end(), begin, begin + take * band * grid.width * 3);
    merged.height += take * band;
    rows_written += take;
  }
  if (rows_written == 0) return;
  write_png((fs::path(out) / "grid.png").string(), image_to_tensor(merged));
}

void copy_adversarial_images(const std::vector<Shard>& shards, const std::string& out) {
  for (const Shard& s : shards) {
    const fs::path folder = fs::path(s.dir) / "adversarial";
    if (!fs::is_directory(folder)) continue;
    fs::create_directories(fs::path(out) / "adversarial");
    for (const auto& entry : fs::directory_iterator(folder)) {
      fs::copy_file(entry.path(), fs::path(out) / "adversarial" / entry.path().filename(),
                    fs::copy_options::overwrite_existing);
    }
  }
}

// Per-shard timings, and the sums of the figures every shard has.
json merged_timing(const std::vector<Shard>& shards) {
  json timing = {{"shards", json::array()}};
  for (const char* name : {"total_seconds", "attack_seconds", "iterations_run"}) {
    double sum = 0.0;
    bool everywhere = true;
    for (const Shard& s : shards) {
      const json& t = s.document.value("timing", json::object());
      everywhere = everywhere && t.contains(name);
      if (t.contains(name)) sum += t[name].get<double>();
    }
    if (everywhere) timing[std::string("sum_of_") + name] = sum;
  }
  for (const Shard& s : shards) timing["shards"].push_back(s.document.value("timing", json()));
  return timing;
}

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
};

void run_merge(const MergeOptions& o) {
  FSA_CHECK(!o.inputs.empty(), "[merge] no shard folders given");
  std::vector<Shard> shards;
  for (const std::string& dir : o.inputs) {
    FSA_CHECK(fs::weakly_canonical(dir) != fs::weakly_canonical(o.out), "[merge] --out '", o.out,
              "' is one of the shard folders");
    shards.push_back(read_shard(dir));
  }
  std::sort(shards.begin(), shards.end(),
            [](const Shard& a, const Shard& b) { return a.index < b.index; });
  check_shards(shards);

  std::vector<SampleMetrics> samples;
  json rows = json::array();
  for (const Shard& s : shards) {
    for (const json& row : s.document["samples"]) {
      samples.push_back(sample_from_json(row));
      rows.push_back(row);
    }
  }
  const MetricSummary summary = summarize(samples);

  const json& shard_fields = shards.front().document["config"]["shard"];
  json config = shards.front().document["config"];
  config.erase("shard");
  config["offset"] = shard_fields["selection_offset"];
  config["limit"] = shard_fields["selection_limit"];
  config["images"] = static_cast<int64_t>(samples.size());
  config["out"] = o.out;
  const json& last = shards.back().document["config"];
  if (last.contains("effective_adv_weight_last_batch")) {
    config["effective_adv_weight_last_batch"] = last["effective_adv_weight_last_batch"];
  }
  config["merged_from"] = json::array();
  for (const Shard& s : shards) {
    config["merged_from"].push_back(
        {{"dir", s.dir}, {"index", s.index}, {"first_record", s.first}, {"end_record", s.end}});
  }

  fs::create_directories(o.out);
  int64_t grid_rows = 0;
  write_merged_grid(shards, o.out, config.value("grid_scale", int64_t{4}),
                    config.value("grid", int64_t{8}), grid_rows);
  copy_adversarial_images(shards, o.out);
  const std::string title = shards.front().document["command"].get<std::string>();
  const json document = {{"command", title},
                         {"complete", true},
                         {"config", config},
                         {"summary", summary_to_json(summary)},
                         {"grid", {{"file", grid_rows > 0 ? "grid.png" : ""}, {"rows", grid_rows}}},
                         {"timing", merged_timing(shards)},
                         {"samples", rows}};
  write_json_file((fs::path(o.out) / "metrics.json").string(), document);
  write_report_html(o.out, document);
  print_summary_table(title + " (merged from " + std::to_string(shards.size()) + " shards)",
                      summary);
  std::printf("  written to %s (metrics.json, report.html%s%s)\n", o.out.c_str(),
              fs::is_directory(fs::path(o.out) / "adversarial") ? ", adversarial/" : "",
              grid_rows > 0 ? ", grid.png" : "");
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  auto* command = app.add_subcommand(
      "merge",
      "Join the output folders of `fsa attack ... --shard K/N` runs (all N shards of one "
      "configuration) into one: metrics.json, grid.png, adversarial/, report.html.");
  command->add_option("dirs", options->inputs, "the shards' output folders")->required();
  command->add_option("--out", options->out, "output folder")->required();
  command->callback([options] { run_merge(*options); });
}

}  // namespace fsa::cli
