// o2_detector_file.cpp: the detector file's JSON layout, its checks on reading, and the
// final-layer fingerprint.
#include "cli/o2_detector_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "cli/json_file.h"
#include "tensor/check.h"

namespace fsa::cli {

namespace {

using json = nlohmann::json;

void hash_values(uint64_t& hash, const Tensor& tensor) {
  if (!tensor.defined()) return;
  for (double v : tensor.to_vector()) {
    const float f = static_cast<float>(v);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&f);
    for (size_t i = 0; i < sizeof f; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  }
}

// (specs, classes) cells as nested arrays; the z = y entries as null.
json cells_to_json(const std::vector<double>& cells, int64_t specs, int64_t classes, int64_t y) {
  json rows = json::array();
  for (int64_t e = 0; e < specs; ++e) {
    json row = json::array();
    for (int64_t z = 0; z < classes; ++z) {
      row.push_back(z == y ? json(nullptr) : json(cells[static_cast<size_t>(e * classes + z)]));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<double> cells_from_json(const json& rows, int64_t specs, int64_t classes,
                                    const std::string& where) {
  FSA_CHECK(rows.is_array() && static_cast<int64_t>(rows.size()) == specs, where, " must hold ",
            specs, " rows (one per detection spec)");
  std::vector<double> cells;
  for (const json& row : rows) {
    FSA_CHECK(row.is_array() && static_cast<int64_t>(row.size()) == classes, where,
              " rows must hold ", classes, " values (one per class)");
    for (const json& v : row) cells.push_back(v.is_null() ? 0.0 : v.get<double>());
  }
  return cells;
}

json statistics_to_json(const O2Statistics& s) {
  json classes = json::array();
  for (int64_t y = 0; y < s.classes; ++y) {
    const O2ClassStatistics& c = s.per_class[static_cast<size_t>(y)];
    classes.push_back({{"class", y},
                       {"count", c.count},
                       {"usable", c.usable()},
                       {"mean", cells_to_json(c.mean, s.specs, s.classes, y)},
                       {"std", cells_to_json(c.std, s.specs, s.classes, y)}});
  }
  return {{"layout",
           "per_class[y].mean[spec][z] over clean calibration images predicted y; "
           "std is the population std; z = y is null"},
          {"minimum_count", kO2MinimumClassCount},
          {"classes", s.classes},
          {"specs", s.specs},
          {"per_class", std::move(classes)}};
}

O2Statistics statistics_from_json(const json& j, int64_t specs, const std::string& where) {
  O2Statistics s;
  s.specs = specs;
  s.classes = j.at("classes").get<int64_t>();
  FSA_CHECK(j.at("specs").get<int64_t>() == specs, where, " statistics have ",
            j.at("specs").get<int64_t>(), " specs but the configuration lists ", specs);
  const json& per_class = j.at("per_class");
  FSA_CHECK(per_class.is_array() && static_cast<int64_t>(per_class.size()) == s.classes, where,
            " must hold statistics for ", s.classes, " classes");
  for (int64_t y = 0; y < s.classes; ++y) {
    const json& c = per_class[static_cast<size_t>(y)];
    const std::string at = concat_message(where, " class ", y);
    s.per_class.push_back({c.at("count").get<int64_t>(),
                           cells_from_json(c.at("mean"), specs, s.classes, at + " mean"),
                           cells_from_json(c.at("std"), specs, s.classes, at + " std")});
  }
  return s;
}

json correction_to_json(const O2Detector& d) {
  if (d.correction_specs.empty()) return nullptr;
  const O2CorrectionStatistics& c = d.correction;
  json pairs = json::array();
  for (int64_t t = 0; t < c.classes; ++t) {
    for (int64_t s = 0; s < c.classes; ++s) {
      const int64_t count = c.count[static_cast<size_t>(t * c.classes + s)];
      if (count == 0) continue;
      json mean = json::array(), std = json::array();
      for (int64_t e = 0; e < c.specs; ++e) {
        mean.push_back(c.mean_at(t, s, e));
        std.push_back(c.std_at(t, s, e));
      }
      pairs.push_back({{"adversarial", t},
                       {"source", s},
                       {"count", count},
                       {"mean", std::move(mean)},
                       {"std", std::move(std)}});
    }
  }
  std::vector<std::string> specs;
  for (const NoiseSpec& spec : d.correction_specs) specs.push_back(to_string(spec));
  return {{"layout",
           "per (adversarial class t, source class s) with calibration PGD images: "
           "mean and population std of the alignment toward s, per spec"},
          {"specs", specs},
          {"classes", c.classes},
          {"pairs", std::move(pairs)}};
}

void correction_from_json(const json& j, O2Detector& d, const std::string& where) {
  if (j.is_null()) return;
  for (const json& s : j.at("specs"))
    d.correction_specs.push_back(parse_noise_spec(s.get<std::string>()));
  O2CorrectionStatistics& c = d.correction;
  c.specs = static_cast<int64_t>(d.correction_specs.size());
  c.classes = j.at("classes").get<int64_t>();
  FSA_CHECK(c.specs > 0 && c.classes == d.statistics.classes, where,
            " correction statistics need specs and ", d.statistics.classes, " classes");
  const size_t pairs = static_cast<size_t>(c.classes * c.classes);
  c.count.assign(pairs, 0);
  c.mean.assign(pairs * c.specs, 0.0);
  c.std.assign(pairs * c.specs, 0.0);
  for (const json& p : j.at("pairs")) {
    const int64_t t = p.at("adversarial").get<int64_t>(), s = p.at("source").get<int64_t>();
    FSA_CHECK(t >= 0 && t < c.classes && s >= 0 && s < c.classes, where,
              " has a correction pair outside the classes");
    const size_t pair = static_cast<size_t>(t * c.classes + s);
    c.count[pair] = p.at("count").get<int64_t>();
    const std::vector<double> mean = p.at("mean").get<std::vector<double>>();
    const std::vector<double> std = p.at("std").get<std::vector<double>>();
    FSA_CHECK(static_cast<int64_t>(mean.size()) == c.specs && std.size() == mean.size(), where,
              " correction pair (", t, ", ", s, ") must hold ", c.specs, " values per field");
    std::copy(mean.begin(), mean.end(), c.mean.begin() + pair * c.specs);
    std::copy(std.begin(), std.end(), c.std.begin() + pair * c.specs);
  }
}

}  // namespace

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

double number_or_minus_infinity(const json& value) {
  return value.is_null() ? -std::numeric_limits<double>::infinity() : value.get<double>();
}

std::string final_layer_fingerprint(Module& classifier) {
  Linear& layer = linear_head(classifier).final_layer();
  uint64_t hash = 0xcbf29ce484222325ull;
  hash_values(hash, layer.weight);
  hash_values(hash, layer.bias);
  char text[24];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

json detector_to_json(const O2Detector& d) {
  std::vector<std::string> specs;
  for (const NoiseSpec& spec : d.detection_specs) specs.push_back(to_string(spec));
  json holdout_scores = json::array();
  for (double s : d.holdout_scores) holdout_scores.push_back(finite_or_null(s));
  json thresholds = json::array();
  for (const O2Threshold& t : d.thresholds) {
    thresholds.push_back({{"target_fpr", t.target_fpr},
                          {"threshold", finite_or_null(t.threshold)},
                          {"holdout_fpr", t.holdout_fpr}});
  }
  json model = d.model.is_null() ? json::object() : d.model;
  model["architecture"] = d.architecture;
  model["final_layer_fingerprint"] = d.final_layer_fingerprint;
  return {
      {"format", kO2DetectorFormat},
      {"version", kO2DetectorVersion},
      {"written_utc", utc_timestamp()},
      {"model", std::move(model)},
      {"detection",
       {{"specs", specs},
        {"samples", d.samples},
        {"seed", d.seed},
        {"cutoff_probability", d.cutoff_probability},
        {"z_cutoff", normal_quantile(d.cutoff_probability)}}},
      {"config", d.config},
      {"calibration", d.calibration},
      {"statistics", statistics_to_json(d.statistics)},
      {"correction", correction_to_json(d)},
      {"holdout", {{"scores", std::move(holdout_scores)}, {"thresholds", std::move(thresholds)}}},
      {"timing", d.timing}};
}

O2Detector read_detector_file(const std::string& path) {
  const std::string where = concat_message("[detect] detector file '", path, "'");
  FSA_CHECK(std::filesystem::is_regular_file(path), where, " does not exist");
  json j;
  try {
    std::ifstream in(path);
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(where, " is not valid JSON: ", e.what());
  }
  FSA_CHECK(j.is_object() && j.value("format", "") == kO2DetectorFormat, where,
            " is not an O2 detector (expected \"format\": \"", kO2DetectorFormat,
            "\"; write one with `fsa detect calibrate`)");
  FSA_CHECK(j.value("version", 0) == kO2DetectorVersion, where, " has version ",
            j.value("version", 0), ", this build reads version ", kO2DetectorVersion);
  try {
    O2Detector d;
    d.model = j.at("model");
    d.architecture = d.model.at("architecture").get<std::string>();
    d.final_layer_fingerprint = d.model.at("final_layer_fingerprint").get<std::string>();
    const json& detection = j.at("detection");
    for (const json& s : detection.at("specs")) {
      d.detection_specs.push_back(parse_noise_spec(s.get<std::string>()));
    }
    FSA_CHECK(!d.detection_specs.empty(), where, " lists no detection noise specs");
    d.samples = detection.at("samples").get<int64_t>();
    d.seed = detection.at("seed").get<uint64_t>();
    d.cutoff_probability = detection.at("cutoff_probability").get<double>();
    d.statistics = statistics_from_json(j.at("statistics"),
                                        static_cast<int64_t>(d.detection_specs.size()), where);
    correction_from_json(j.value("correction", json(nullptr)), d, where);
    for (const json& s : j.at("holdout").at("scores")) {
      d.holdout_scores.push_back(number_or_minus_infinity(s));
    }
    for (const json& t : j.at("holdout").at("thresholds")) {
      d.thresholds.push_back({t.at("target_fpr").get<double>(),
                              number_or_minus_infinity(t.at("threshold")),
                              t.at("holdout_fpr").get<double>()});
    }
    d.config = j.value("config", json::object());
    d.calibration = j.value("calibration", json::object());
    d.timing = j.value("timing", json::object());
    return d;
  } catch (const json::exception& e) {
    fail(where, " is missing a field or has a wrong type: ", e.what());
  }
}

}  // namespace fsa::cli
