#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>

// The folder of a synthesis run: its manifest (synth.json: what defines the dataset, so a
// resumed run can check that it makes the same one) and the clean-up of files that no
// journal line accounts for (an image written just before a crash, a temporary file).
namespace facegen::synth {

/// Makes `out` ready for a run defined by `definition`: creates it with its manifest, or
/// accepts a run of the same definition to continue. Throws facegen::Error, before writing
/// anything, for a file at `out`, for a folder that is not a synth run and is not empty,
/// and for a run of another definition (naming each value that differs); with
/// `overwrite`, those folders are removed first instead.
void prepare_run_folder(const std::filesystem::path& out, const nlohmann::json& definition, bool overwrite);

/// Removes every file in the sub-folders of `out` whose path relative to `out` is not in
/// `keep`, and temporary files left at the top; returns how many were removed.
int64_t remove_unrecorded_files(const std::filesystem::path& out, const std::set<std::string>& keep);

}  // namespace facegen::synth
