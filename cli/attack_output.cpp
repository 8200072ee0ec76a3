// attack_output.cpp: files and tables of `fsa attack`. The grid is assembled on the host as a
// (3,H,W) tensor and written with data/image_io's PNG writer.
#include "cli/attack_output.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "data/image_io.h"
#include "tensor/check.h"

namespace fsa::cli {

namespace {

// 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left column).
const std::array<std::array<uint8_t, 5>, 11> kDigitGlyphs = {{
    {7, 5, 5, 5, 7},  // 0
    {2, 6, 2, 2, 7},  // 1
    {7, 1, 7, 4, 7},  // 2
    {7, 1, 7, 1, 7},  // 3
    {5, 5, 7, 1, 1},  // 4
    {7, 4, 7, 1, 7},  // 5
    {7, 4, 7, 5, 7},  // 6
    {7, 1, 1, 1, 1},  // 7
    {7, 5, 7, 5, 7},  // 8
    {7, 5, 7, 1, 7},  // 9
    {0, 0, 0, 0, 2},  // .
}};

// A host image (3,H,W) as a flat vector, with helpers to paste and draw into it.
struct Canvas {
  int64_t height, width;
  std::vector<double> pixels;  // (3,H,W), white background
  Canvas(int64_t h, int64_t w) : height(h), width(w), pixels(static_cast<size_t>(3 * h * w), 1.0) {}

  double& at(int64_t c, int64_t y, int64_t x) {
    return pixels[static_cast<size_t>((c * height + y) * width + x)];
  }
  // Pastes image (3,h,w) values at (top, left), each pixel as a scale x scale block.
  void paste(const std::vector<double>& image, int64_t h, int64_t w, int64_t top, int64_t left,
             int64_t scale) {
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < h * scale; ++y)
        for (int64_t x = 0; x < w * scale; ++x)
          at(c, top + y, left + x) =
              image[static_cast<size_t>((c * h + y / scale) * w + x / scale)];
  }
  // Draws digits and '.' in black, each glyph pixel a dot x dot block.
  void text(const std::string& s, int64_t top, int64_t left, int64_t dot) {
    for (char ch : s) {
      const int glyph = ch == '.' ? 10 : (ch >= '0' && ch <= '9' ? ch - '0' : -1);
      if (glyph >= 0) {
        for (int64_t row = 0; row < 5; ++row)
          for (int64_t col = 0; col < 3; ++col) {
            if (!((kDigitGlyphs[glyph][row] >> (2 - col)) & 1)) continue;
            for (int64_t dy = 0; dy < dot; ++dy)
              for (int64_t dx = 0; dx < dot; ++dx)
                if (top + row * dot + dy < height && left + col * dot + dx < width)
                  for (int64_t c = 0; c < 3; ++c)
                    at(c, top + row * dot + dy, left + col * dot + dx) = 0.0;
          }
      }
      left += 4 * dot;
    }
  }
};

std::string fixed(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::vector<double> row_of(const std::vector<double>& all, int64_t index, int64_t per_image) {
  return {all.begin() + index * per_image, all.begin() + (index + 1) * per_image};
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json adversarial_to_json(const AdversarialMetrics& m) {
  return {{"top1", m.top1},
          {"top5", m.top5},
          {"fooled", m.fooled},
          {"pixel_linf", m.pixel_linf},
          {"pixel_l2", m.pixel_l2},
          {"feature_linf", number_or_null(m.feature_linf)},
          {"feature_l2", number_or_null(m.feature_l2)}};
}

}  // namespace

void write_adversarial_pngs(const std::string& folder, const Tensor& adversarial,
                            const std::vector<SampleMetrics>& samples) {
  std::filesystem::create_directories(folder);
  const std::vector<double> values = adversarial.to_vector();
  const int64_t h = adversarial.dim(2), w = adversarial.dim(3), per_image = 3 * h * w;
  for (size_t i = 0; i < samples.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(samples[i].record));
    const Tensor image =
        Tensor::from_vector(row_of(values, static_cast<int64_t>(i), per_image), Shape{3, h, w});
    write_png((std::filesystem::path(folder) / name).string(), image);
  }
}

void write_grid_png(const std::string& path, const Tensor& originals, const Tensor& adversarials,
                    const std::vector<SampleMetrics>& samples, int64_t scale) {
  FSA_CHECK(originals.shape() == adversarials.shape() && originals.ndim() == 4, "[grid] originals ",
            originals.shape(), " and adversarials ", adversarials.shape(), " differ");
  const int64_t rows = std::min<int64_t>(originals.dim(0), static_cast<int64_t>(samples.size()));
  const int64_t h = originals.dim(2), w = originals.dim(3), per_image = 3 * h * w;
  const int64_t gap = 2 * scale, dot = std::max<int64_t>(1, scale / 2), caption = 7 * dot;
  const int64_t cell_w = w * scale, cell_h = h * scale + caption;
  Canvas canvas(rows * (cell_h + gap) + gap, 3 * (cell_w + gap) + gap);
  const std::vector<double> x = originals.to_vector(), a = adversarials.to_vector();
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<double> original = row_of(x, r, per_image), adv = row_of(a, r, per_image);
    std::vector<double> difference(adv.size());
    for (size_t j = 0; j < adv.size(); ++j) {
      difference[j] = std::min(1.0, 3.0 * std::abs(adv[j] - original[j]));
    }
    const int64_t top = gap + r * (cell_h + gap);
    canvas.paste(original, h, w, top, gap, scale);
    canvas.paste(adv, h, w, top, gap + (cell_w + gap), scale);
    canvas.paste(difference, h, w, top, gap + 2 * (cell_w + gap), scale);
    const AdversarialMetrics& m = samples[static_cast<size_t>(r)].adversarial;
    const int64_t text_top = top + h * scale + dot;
    canvas.text(fixed(m.pixel_linf, 3), text_top, gap + (cell_w + gap), dot);
    canvas.text(fixed(m.pixel_l2, 2), text_top, gap + 2 * (cell_w + gap), dot);
  }
  write_png(path, Tensor::from_vector(canvas.pixels, Shape{3, canvas.height, canvas.width}));
}

nlohmann::json sample_to_json(const SampleMetrics& s) {
  nlohmann::json j = {{"record", s.record},
                      {"label", s.label},
                      {"clean_prediction", s.clean_prediction},
                      {"adversarial_prediction", s.adversarial_prediction},
                      {"clean_top1", s.clean_top1},
                      {"clean_top5", s.clean_top5},
                      {"adversarial", adversarial_to_json(s.adversarial)},
                      {"quantised", adversarial_to_json(s.quantised)}};
  if (s.target >= 0) j["target"] = s.target;
  if (s.has_decoded) {
    j["decoded_top1"] = s.decoded_top1;
    j["decoded_top5"] = s.decoded_top5;
  }
  if (s.first_success >= 0) j["first_success"] = s.first_success;
  if (std::isfinite(s.content_loss)) j["content_loss"] = s.content_loss;
  return j;
}

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* name) {
  FSA_CHECK(j.is_object() && j.contains(name), "[metrics] a sample has no '", name, "'");
  return j.at(name);
}

double number_or_nan(const nlohmann::json& value) {
  return value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>();
}

AdversarialMetrics adversarial_from_json(const nlohmann::json& j) {
  AdversarialMetrics m;
  m.top1 = field(j, "top1").get<bool>();
  m.top5 = field(j, "top5").get<bool>();
  m.fooled = field(j, "fooled").get<bool>();
  m.pixel_linf = field(j, "pixel_linf").get<double>();
  m.pixel_l2 = field(j, "pixel_l2").get<double>();
  m.feature_linf = number_or_nan(field(j, "feature_linf"));
  m.feature_l2 = number_or_nan(field(j, "feature_l2"));
  return m;
}

}  // namespace

SampleMetrics sample_from_json(const nlohmann::json& j) {
  SampleMetrics s;
  s.record = field(j, "record").get<int64_t>();
  s.label = field(j, "label").get<int32_t>();
  s.clean_prediction = field(j, "clean_prediction").get<int32_t>();
  s.adversarial_prediction = field(j, "adversarial_prediction").get<int32_t>();
  s.clean_top1 = field(j, "clean_top1").get<bool>();
  s.clean_top5 = field(j, "clean_top5").get<bool>();
  s.adversarial = adversarial_from_json(field(j, "adversarial"));
  s.quantised = adversarial_from_json(field(j, "quantised"));
  if (j.contains("target")) s.target = j.at("target").get<int32_t>();
  if (j.contains("decoded_top1")) {
    s.has_decoded = true;
    s.decoded_top1 = j.at("decoded_top1").get<bool>();
    s.decoded_top5 = field(j, "decoded_top5").get<bool>();
  }
  if (j.contains("first_success")) s.first_success = j.at("first_success").get<int64_t>();
  if (j.contains("content_loss")) s.content_loss = j.at("content_loss").get<double>();
  return s;
}

nlohmann::json summary_to_json(const MetricSummary& summary) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : summary) j[name] = number_or_null(value);
  return j;
}

void print_summary_table(const std::string& title, const MetricSummary& summary) {
  const auto value = [&summary](const std::string& name) { return summary_value(summary, name); };
  const auto percent = [](double v) { return std::isfinite(v) ? fixed(100.0 * v, 1) + " %" : "-"; };
  const auto number = [](double v, int d) { return std::isfinite(v) ? fixed(v, d) : "-"; };
  std::printf("%s\n", title.c_str());
  const auto row = [](const char* name, const std::string& text) {
    std::printf("  %-40s %s\n", name, text.c_str());
  };
  row("images", number(value("images"), 0));
  row("clean accuracy (top-1 / top-5)",
      percent(value("clean_top1")) + " / " + percent(value("clean_top5")));
  if (std::isfinite(value("decoded_top1")))
    row("decoded accuracy (top-1 / top-5)",
        percent(value("decoded_top1")) + " / " + percent(value("decoded_top5")));
  row("adversarial accuracy (top-1 / top-5)",
      percent(value("adversarial_top1")) + " / " + percent(value("adversarial_top5")));
  row("robust accuracy (clean and adv. correct)", percent(value("robust_top1")));
  row("success rate among clean-correct", percent(value("success_rate")));
  if (std::isfinite(value("median_first_success")))
    row("median iterations to first success", number(value("median_first_success"), 1));
  row("pixel Linf / L2 on [0,1] (successes)",
      number(value("pixel_linf"), 4) + " / " + number(value("pixel_l2"), 3));
  row("pixel Linf / L2 on 0-255 (successes)",
      number(value("pixel_linf_255"), 1) + " / " + number(value("pixel_l2_255"), 1));
  row("feature Linf / L2 (successes)",
      number(value("feature_linf"), 3) + " / " + number(value("feature_l2"), 2));
  row("after 8-bit quantisation: adv. accuracy", percent(value("quantised_adversarial_top1")));
  row("after 8-bit quantisation: success rate", percent(value("quantised_success_rate")));
  row("after 8-bit quantisation: pixel Linf / L2",
      number(value("quantised_pixel_linf"), 4) + " / " + number(value("quantised_pixel_l2"), 3));
}

}  // namespace fsa::cli
