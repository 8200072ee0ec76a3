// number_text.h: numbers given to a command as text: "0.03", "2e-3" or a fraction such as
// "8/255" (pixel radii are usually written so). Anything else is an fsa::Error that names
// the command and the option.
#pragma once

#include <string>

namespace fsa::cli {

double parse_fraction(const std::string& text, const char* command, const char* option);

}  // namespace fsa::cli
