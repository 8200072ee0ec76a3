// number_text.cpp: parse_fraction.
#include "cli/number_text.h"

#include <cmath>
#include <stdexcept>

#include "tensor/check.h"

namespace fsa::cli {

namespace {

// Whether all of `part` reads as one finite number (then in *value).
bool parse_whole(const std::string& part, double* value) {
  size_t used = 0;
  try {
    *value = std::stod(part, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == part.size() && used > 0 && std::isfinite(*value);
}

}  // namespace

double parse_fraction(const std::string& text, const char* command, const char* option) {
  const auto parse = [&](const std::string& part) {
    double value = 0.0;
    FSA_CHECK(parse_whole(part, &value), "[", command, "] ", option, " '", text,
              "' is not a number (e.g. 0.03 or 8/255)");
    return value;
  };
  const size_t slash = text.find('/');
  if (slash == std::string::npos) return parse(text);
  const double denominator = parse(text.substr(slash + 1));
  FSA_CHECK(denominator != 0.0, "[", command, "] ", option, " '", text, "' divides by zero");
  return parse(text.substr(0, slash)) / denominator;
}

}  // namespace fsa::cli
