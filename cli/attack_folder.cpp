// attack_folder.cpp: metrics.json and adversarial/*.png of an attack output folder.
#include "cli/attack_folder.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tensor/check.h"

namespace fsa::cli {

namespace {

using json = nlohmann::json;

std::string png_name(int64_t record) {
  char name[32];
  std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(record));
  return name;
}

AttackFolderSample sample_from_json(const json& s, const std::filesystem::path& images) {
  AttackFolderSample sample;
  sample.record = s.at("record").get<int64_t>();
  sample.label = s.at("label").get<int32_t>();
  sample.target = s.value("target", -1);
  sample.clean_prediction = s.at("clean_prediction").get<int32_t>();
  sample.clean_top1 = s.at("clean_top1").get<bool>();
  sample.quantised_fooled = s.at("quantised").at("fooled").get<bool>();
  sample.png = (images / png_name(sample.record)).string();
  return sample;
}

}  // namespace

AttackFolder read_attack_folder(const std::string& dir) {
  const std::string where = concat_message("[attack folder] '", dir, "'");
  FSA_CHECK(std::filesystem::is_directory(dir), where,
            " is not a folder (pass the --out folder of `fsa attack fa|pgd`)");
  const std::filesystem::path metrics = std::filesystem::path(dir) / "metrics.json";
  FSA_CHECK(std::filesystem::is_regular_file(metrics), where,
            " holds no metrics.json (is it the --out folder of `fsa attack fa|pgd`?)");
  json j;
  try {
    std::ifstream in(metrics);
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(where, ": metrics.json is not valid JSON: ", e.what());
  }
  const std::filesystem::path images = std::filesystem::path(dir) / "adversarial";
  AttackFolder folder;
  folder.path = dir;
  try {
    folder.command = j.at("command").get<std::string>();
    folder.complete = j.value("complete", false);
    const json& model = j.at("config").at("model");
    folder.architecture = model.value("architecture", "");
    folder.model_path = model.value("path", "");
    for (const json& s : j.at("samples")) folder.samples.push_back(sample_from_json(s, images));
  } catch (const json::exception& e) {
    fail(where, ": metrics.json is missing a field or has a wrong type: ", e.what());
  }
  FSA_CHECK(!folder.samples.empty(), where, ": metrics.json lists no samples");
  FSA_CHECK(std::filesystem::is_directory(images), where,
            " has no adversarial/ folder of PNGs (was the attack run with --no-images?)");
  for (const AttackFolderSample& s : folder.samples) {
    FSA_CHECK(std::filesystem::is_regular_file(s.png), where, ": the adversarial image of record ",
              s.record, " ('", s.png, "') is missing");
  }
  return folder;
}

}  // namespace fsa::cli
