#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace facegen::core {

/// File name of the model that ships with facegen (in models/ of the source tree, and in
/// <prefix>/share/facegen/models/ when installed).
inline constexpr const char* kBundledModelFileName = "facegen-default.safetensors";

/// Truncation psi used by `facegen generate` unless --truncation-psi is given. Chosen by
/// measurement on the bundled model (docs/model-card.md, scripts/measure_model.py): the
/// smallest psi whose SWD against held-out faces is within 10% of the best psi's. For the
/// current model (460 kimg) that is 1, no truncation, as the official generate.py: psi 0.9
/// is 23% worse (the 375-kimg snapshot's 0.9 was within 9%). Smaller psi gives cleaner,
/// more average faces at the cost of variety.
inline constexpr double kDefaultTruncationPsi = 1.0;

/// Where the bundled model is looked for, in order: $FACEGEN_MODEL (when set), then
/// models/ of the source tree the binary was built in (<build>/bin/facegen ->
/// ../../models/), then <exe>/../share/facegen/models/ and the configured install
/// prefix's share/facegen/models/.
std::vector<std::filesystem::path> bundled_model_candidates();

/// The first candidate that exists. When $FACEGEN_MODEL is set but names no file, throws
/// facegen::Error saying so; when nothing is found, throws facegen::Error explaining that
/// there is no bundled model yet and how to pass one with --model.
std::filesystem::path find_bundled_model();

}  // namespace facegen::core
