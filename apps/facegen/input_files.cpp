#include "input_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace facegen::app {

std::string read_image_file(const std::string& name) {
    namespace fs = std::filesystem;
    constexpr std::uintmax_t kMaxFileBytes = 512ull << 20;
    std::error_code ec;
    if (!fs::is_regular_file(name, ec)) throw make_error("'", name, "' is not a file");
    if (fs::file_size(name, ec) > kMaxFileBytes) throw make_error("'", name, "' is over 512 MiB");
    std::ifstream in(name, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in.good() && !in.eof()) throw make_error("cannot read '", name, "'");
    return bytes.str();
}

}  // namespace facegen::app
