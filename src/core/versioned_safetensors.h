#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/safetensors.h"

// A safetensors file that says what it is: its metadata holds "format" (a name such as
// "facegen-model") and "format_version" (a whole number as text). Every facegen file kind
// (models, training checkpoints, directions, face networks) is read through this check, so
// a wrong or too new file gets the same clear error whatever its kind.
namespace facegen::core {

/// A file kind and the versions of it this facegen reads.
struct FileFormat {
    /// The metadata "format" value, e.g. "facegen-directions".
    std::string name;
    /// The kind of file in errors: "model", "training checkpoint", "detector".
    std::string what;
    /// Versions oldest_version .. newest_version are read.
    int oldest_version = 1;
    int newest_version = 1;
    /// Added to the error for a file of another format (e.g. how to convert one).
    std::string hint;
};

/// The version of `file` (read from `path`), checked against `format`. Throws
/// facegen::Error naming the file, the format or version found, and the versions read.
int check_file_format(const SafetensorsFile& file, const std::filesystem::path& path, const FileFormat& format);

struct VersionedSafetensors {
    SafetensorsFile file;
    int version = 0;
};

/// read_safetensors(path) and check_file_format.
VersionedSafetensors read_versioned_safetensors(const std::filesystem::path& path, const FileFormat& format);

/// The metadata entries "format" and "format_version" of a file written at `version`.
std::map<std::string, std::string> format_metadata(const FileFormat& format, int version);

}  // namespace facegen::core
