// atomic_write.h: how every writer of the engine (weights, checkpoints, images, JSON) puts a
// file in place: it writes a temporary file in the target's folder and renames it over the
// target, so a crash or an error never leaves a half-written file at the target's name.
#pragma once

#include <functional>
#include <string>

namespace fsa {

// Calls write(temporary_path), then renames the temporary file to `path`. If `write` throws
// or the rename fails, the temporary file is removed and an fsa::Error naming `who` and the
// files is thrown (write's own exception is rethrown as it is).
void write_atomically(const std::string& path, const char* who,
                      const std::function<void(const std::string& temporary_path)>& write);

}  // namespace fsa
