// attack_scale_test.cpp: splitting `fsa attack` with --shard K/N and joining the parts with
// `fsa merge` (2 shards merged == one run on the same records: samples, summary, grid,
// images), merge's refusals (missing, duplicate, mismatched or unsharded parts), and the
// HTML report rendered headless by Chromium.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/attack_report.h"
#include "data/image_io.h"
#include "tests/attack_cli_fixture.h"
#include "tests/cli_runner.h"

namespace fsa::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct ScaleFixture : AttackCliFixture {
  std::string records = cifar_file(dir, 8, "eight.bin");

  // `fsa attack fa` on the 8 records in batches of 2 (shard boundaries fall on batches).
  CommandResult fa(const std::string& out, const std::string& extra) const {
    return run_fsa(concat_message("attack fa --model '", classifier, "' --encoder '", encoder,
                                  "' --decoder '", decoder, "' --data '", records,
                                  "' --batch 2 --iterations 2 --out '", out, "' ", extra));
  }
  CommandResult merge(const std::string& arguments) const { return run_fsa("merge " + arguments); }
};

// The configuration without what differs between a run and a merge of its shards.
json comparable(json config) {
  for (const char* key : {"out", "environment", "merged_from"}) config.erase(key);
  return config;
}

std::vector<std::string> file_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AttackScale, TwoShardsMergedEqualOneRun) {
  ScaleFixture f;
  const std::string single = f.dir.file("single"), one = f.dir.file("one"), two = f.dir.file("two"),
                    merged = f.dir.file("merged");
  ASSERT_EQ(f.fa(single, "--grid 6").exit_status, 0);
  ASSERT_EQ(f.fa(two, "--grid 6 --shard 2/2").exit_status, 0);
  ASSERT_EQ(f.fa(one, "--grid 6 --shard 1/2").exit_status, 0);
  const json part = read_json(two + "/metrics.json");
  EXPECT_EQ(part["config"]["shard"]["first_record"], 4);
  EXPECT_EQ(part["config"]["shard"]["end_record"], 8);
  EXPECT_EQ(part["samples"].size(), 4u);
  EXPECT_EQ(part["samples"][0]["record"], 4);

  const CommandResult r = f.merge(concat_message("'", two, "' '", one, "' --out '", merged, "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  EXPECT_NE(r.output.find("merged from 2 shards"), std::string::npos) << r.output;
  const json a = read_json(single + "/metrics.json"), b = read_json(merged + "/metrics.json");
  EXPECT_EQ(b["command"], a["command"]);
  EXPECT_TRUE(b["complete"].get<bool>());
  EXPECT_EQ(b["samples"], a["samples"]);
  EXPECT_EQ(b["summary"], a["summary"]);
  EXPECT_EQ(comparable(b["config"]), comparable(a["config"]));
  EXPECT_EQ(b["config"]["merged_from"].size(), 2u);
  EXPECT_EQ(b["grid"], a["grid"]);  // 6 rows: 4 from shard 1, 2 from shard 2
  const RgbImage grid_a = decode_image(single + "/grid.png"),
                 grid_b = decode_image(merged + "/grid.png");
  EXPECT_EQ(grid_b.height, grid_a.height);
  EXPECT_EQ(grid_b.width, grid_a.width);
  EXPECT_TRUE(grid_b.pixels == grid_a.pixels);
  EXPECT_EQ(file_names(fs::path(merged) / "adversarial"),
            file_names(fs::path(single) / "adversarial"));
  EXPECT_TRUE(fs::exists(merged + "/report.html"));
}

TEST(AttackScale, PgdShardsMergeToo) {
  ScaleFixture f;
  const auto pgd = [&f](const std::string& out, const std::string& extra) {
    return run_fsa(
        concat_message("attack pgd --model '", f.classifier, "' --data '", f.records,
                       "' --offset 1 --limit 6 --batch 3 --steps 2 --seed 5 --no-images ",
                       "--grid 0 --out '", out, "' ", extra));
  };
  ASSERT_EQ(pgd(f.dir.file("single"), "").exit_status, 0);
  ASSERT_EQ(pgd(f.dir.file("p1"), "--shard 1/2").exit_status, 0);
  ASSERT_EQ(pgd(f.dir.file("p2"), "--shard 2/2").exit_status, 0);
  const CommandResult r = f.merge(concat_message("'", f.dir.file("p1"), "' '", f.dir.file("p2"),
                                                 "' --out '", f.dir.file("merged"), "'"));
  ASSERT_EQ(r.exit_status, 0) << r.output;
  const json a = read_json(f.dir.file("single") + "/metrics.json");
  const json b = read_json(f.dir.file("merged") + "/metrics.json");
  EXPECT_EQ(b["samples"], a["samples"]);  // random starts are drawn per record
  EXPECT_EQ(b["summary"], a["summary"]);
  EXPECT_EQ(b["config"]["offset"], 1);
  EXPECT_EQ(b["config"]["limit"], 6);
  EXPECT_FALSE(fs::exists(f.dir.file("merged") + "/grid.png"));
}

TEST(AttackScale, MergeRefusesIncompleteOverlappingOrMismatchedShards) {
  ScaleFixture f;
  const std::string one = f.dir.file("one"), two = f.dir.file("two"), other = f.dir.file("other"),
                    plain = f.dir.file("plain"), out = f.dir.file("out");
  ASSERT_EQ(f.fa(one, "--shard 1/2 --grid 0 --no-images").exit_status, 0);
  ASSERT_EQ(f.fa(two, "--shard 2/2 --grid 0 --no-images").exit_status, 0);
  ASSERT_EQ(f.fa(other, "--shard 2/2 --grid 0 --no-images --kappa 3").exit_status, 0);
  ASSERT_EQ(f.fa(plain, "--limit 4 --grid 0 --no-images").exit_status, 0);
  const auto merge = [&](const std::string& dirs) {
    return f.merge(dirs + " --out '" + out + "'");
  };
  expect_clear_error(merge("'" + one + "'"), "shard 2 of 2 is missing");
  expect_clear_error(merge("'" + one + "' '" + two + "' '" + two + "'"), "shard 2 appears twice");
  expect_clear_error(merge("'" + one + "' '" + other + "'"), "differ in their configuration at");
  expect_clear_error(merge("'" + one + "' '" + plain + "'"), "was not written with --shard");
  expect_clear_error(merge("'" + one + "' '" + f.dir.file("nowhere") + "'"), "does not exist");
  expect_clear_error(f.merge("'" + one + "' '" + two + "' --out '" + one + "'"),
                     "is one of the shard folders");
  // A partial shard (metrics.json of an unfinished run).
  json partial = read_json(two + "/metrics.json");
  partial["complete"] = false;
  std::ofstream(two + "/metrics.json") << partial.dump();
  expect_clear_error(merge("'" + one + "' '" + two + "'"), "is partial");
  EXPECT_FALSE(fs::exists(out + "/metrics.json"));
  // --shard itself.
  expect_clear_error(f.fa(f.dir.file("x"), "--shard 3/2"), "--shard '3/2'");
  expect_clear_error(f.fa(f.dir.file("x"), "--shard 1/x"), "is not K/N");
  expect_clear_error(f.fa(f.dir.file("x"), "--limit 2 --shard 1/3"),
                     "cannot make 3 non-empty shards");
}

TEST(AttackScale, Base64) {
  EXPECT_EQ(cli::base64_encode(""), "");
  EXPECT_EQ(cli::base64_encode("f"), "Zg==");
  EXPECT_EQ(cli::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(cli::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(cli::base64_encode(std::string("\xff\x00\x10", 3)), "/wAQ");
}

// A file:// URL for an absolute path, with the characters URLs reserve percent-encoded.
std::string file_url(const std::string& path) {
  std::string url = "file://";
  for (char c : path) {
    const bool plain =
        std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-';
    char escaped[4];
    std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
    url += plain ? std::string(1, c) : std::string(escaped);
  }
  return url;
}

// The Chromium binary, or "" when none is installed.
std::string chromium_binary() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string probe = concat_message("command -v ", name, " >/dev/null 2>&1");
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

TEST(AttackScale, ReportRendersHeadlessWithTheGridAndTheSummary) {
  ScaleFixture f;
  const std::string out = f.dir.file("report <&> run");  // a name that needs escaping
  const CommandResult r = f.fa(out, "--limit 4 --grid 3");
  ASSERT_EQ(r.exit_status, 0) << r.output;
  const std::string html = read_text(out + "/report.html");
  EXPECT_NE(html.find("src=\"data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("report &lt;&amp;&gt; run"), std::string::npos);  // escaped in the config
  EXPECT_EQ(html.find("report <&> run"), std::string::npos);

  const std::string chromium = chromium_binary();
  if (chromium.empty()) {
    GTEST_SKIP() << "Chromium is not installed (apt-get install chromium): the report was "
                    "checked as text only";
  }
  const std::string profile = f.dir.file("chromium-profile"), dom = f.dir.file("dom.html");
  const std::string command = concat_message(
      chromium,
      " --headless --no-sandbox --disable-gpu --disable-background-networking"
      " --disable-component-update --disable-sync --no-first-run --user-data-dir='",
      profile, "' --dump-dom '", file_url(out + "/report.html"), "' > '", dom, "' 2>/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string rendered = read_text(dom);
  // The grid image decoded: its onload handler wrote the natural width into the DOM.
  const RgbImage grid = decode_image(out + "/grid.png");
  EXPECT_NE(rendered.find(concat_message("data-loaded=\"", grid.width, "\"")), std::string::npos)
      << rendered.substr(0, 2000);
  EXPECT_NE(rendered.find("<table id=\"summary\">"), std::string::npos);
  EXPECT_NE(rendered.find("success rate among clean-correct"), std::string::npos);
  EXPECT_NE(rendered.find("<table id=\"samples\">"), std::string::npos);
}

}  // namespace
}  // namespace fsa::testing
