// check.h: the engine's one error mechanism.
// fsa::Error is the only exception type the library throws; FSA_CHECK(cond, parts...)
// throws it with the parts streamed into the message ("[op] what went wrong, shapes").
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace fsa {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
std::string concat_message(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(concat_message(parts...));
}

}  // namespace fsa

#define FSA_CHECK(cond, ...)               \
  do {                                     \
    if (!(cond)) ::fsa::fail(__VA_ARGS__); \
  } while (0)
