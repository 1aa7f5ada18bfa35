#pragma once

#include <filesystem>
#include <string>

// Checks of output paths given on the command line, made before any long work starts so that a
// bad path fails at once rather than after minutes of generating or measuring.
namespace facegen::app {

/// Throws facegen::Error (naming `what` and the folder) unless `folder` exists and is writable,
/// or could be created: its nearest existing ancestor is a writable folder.
void check_writable_folder(const std::filesystem::path& folder, const std::string& what);

/// For a flag naming one output file (`flag` such as "--grid", `example` such as "grid.png"):
/// throws facegen::Error when the path is a folder or its folder cannot be written or created.
void check_output_file(const std::filesystem::path& file, const std::string& flag, const std::string& example);

/// Creates the folder of an output file checked by check_output_file, when it is missing.
void create_output_folder(const std::filesystem::path& file);

}  // namespace facegen::app
