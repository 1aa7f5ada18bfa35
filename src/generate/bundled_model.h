#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace facegen::generate {

/// File name of the model that ships with facegen (in models/ of the source tree, and in
/// <prefix>/share/facegen/models/ when installed).
inline constexpr const char* kBundledModelFileName = "facegen-default.safetensors";

/// Where the bundled model is looked for, in order: $FACEGEN_MODEL (when set), then
/// models/ of the source tree the binary was built in (<build>/bin/facegen ->
/// ../../models/), then <exe>/../share/facegen/models/ and the configured install
/// prefix's share/facegen/models/.
std::vector<std::filesystem::path> bundled_model_candidates();

/// The first candidate that exists. When $FACEGEN_MODEL is set but names no file, throws
/// facegen::Error saying so; when nothing is found, throws facegen::Error explaining that
/// the bundled model is missing and where it was looked for.
std::filesystem::path find_bundled_model();

/// A file that ships in models/ beside the bundled model (e.g. the detector), looked for
/// in the same places but $FACEGEN_MODEL; nullopt when it is in none of them.
std::optional<std::filesystem::path> find_shipped_file(const std::string& file_name);

}  // namespace facegen::generate
