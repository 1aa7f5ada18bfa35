#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace facegen::core {

/// Writes `path` through a temporary file in the same folder that is renamed into place
/// only once `write` has returned and the data is flushed to disk, so a crash, a full disk
/// or an exception never leaves a half-written file under the real name, and an older
/// file of that name stays intact until the new one is complete.
/// `write` receives the temporary path and must create it.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp_path)>& write);

/// Convenience: atomically writes `bytes` to `path`.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

/// Reads a whole file; throws facegen::Error naming the path when it cannot.
std::string read_file(const std::filesystem::path& path);

}  // namespace facegen::core
