#pragma once

#include <string>

// Reading the files named on the command line, with errors that name them.
namespace facegen::app {

/// The bytes of an image file, or facegen::Error naming it (missing, a folder, unreadable,
/// over 512 MiB: more than any image a decoder here accepts).
std::string read_image_file(const std::string& name);

}  // namespace facegen::app
