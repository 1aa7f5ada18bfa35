#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include "anonymize/anonymizer.h"
#include "core/progress.h"

// Anonymising files: one photo to one output and its JSON report, or a folder of photos,
// resumably (a photo whose output and report exist is not done again).
namespace facegen::anonymize {

struct FileOptions {
    /// Replace outputs that exist (else they are refused, or in a folder run skipped when a
    /// report from an earlier run says they are done).
    bool overwrite = false;
    int jpeg_quality = 95;
    /// Output format of a folder run: "" = the input's (PNG for WebP), "png" or "jpg".
    std::string format;
};

/// Anonymises `input` into `output` (format from its extension) and writes `report` (JSON;
/// empty = none), each atomically, the report last. Returns the report. A photo without
/// faces is written unchanged: its own bytes when the formats agree. Throws facegen::Error
/// naming the file for an unreadable or truncated photo, an output that exists (unless
/// options.overwrite) and an output extension that is neither PNG nor JPEG; nothing is
/// written then.
nlohmann::json anonymize_file(Anonymizer& anonymizer, const std::filesystem::path& input,
                              const std::filesystem::path& output, const std::filesystem::path& report,
                              const FileOptions& options);

struct FolderSummary {
    int64_t n_photos = 0;    // photos in the input folder
    int64_t n_done = 0;      // anonymised now
    int64_t n_resumed = 0;   // done by an earlier run
    int64_t n_failed = 0;    // errors (in their reports)
    int64_t n_faces_replaced = 0, n_faces_blurred = 0, n_faces_kept = 0, n_without_faces = 0;
    double seconds = 0;
};
nlohmann::json to_json(const FolderSummary& summary);

/// Every JPEG, PNG and WebP file of `input_folder` (sorted by name, not recursive) into
/// `output_folder`/<name>.<ext> with a report <name>.json beside it. A photo that fails is
/// reported (its report holds "error") and the run goes on. `progress` is called per photo.
FolderSummary anonymize_folder(Anonymizer& anonymizer, const std::filesystem::path& input_folder,
                               const std::filesystem::path& output_folder, const FileOptions& options,
                               const core::ProgressCallback& progress = {});

}  // namespace facegen::anonymize
