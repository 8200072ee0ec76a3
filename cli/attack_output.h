// attack_output.h: what `fsa attack` writes: lossless adversarial PNGs, a Figure-1 style grid
// (original / adversarial / |difference| x3, each row captioned with the pixel L∞ and L2 of
// that image in a built-in 3x5 digit font), the JSON pieces of metrics.json (written atomically
// by cli/json_file.h) and the summary table on stdout.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attack/metrics.h"
#include "tensor/tensor.h"

namespace fsa::cli {

// DIR/adversarial/<record>.png for each image of the batch (N,3,H,W).
void write_adversarial_pngs(const std::string& folder, const Tensor& adversarial,
                            const std::vector<SampleMetrics>& samples);

// Rows of (original, adversarial, min(1, 3 |adversarial − original|)), each image scaled up
// `scale` times (nearest), with captions; at most images.dim(0) rows.
void write_grid_png(const std::string& path, const Tensor& originals, const Tensor& adversarials,
                    const std::vector<SampleMetrics>& samples, int64_t scale);

nlohmann::json sample_to_json(const SampleMetrics& s);
// The inverse of sample_to_json (null distances become NaN); a missing field is an
// fsa::Error naming it.
SampleMetrics sample_from_json(const nlohmann::json& j);
nlohmann::json summary_to_json(const MetricSummary& summary);

// The main figures as an aligned two-column table.
void print_summary_table(const std::string& title, const MetricSummary& summary);

}  // namespace fsa::cli
