#include "output_paths.h"

#include <unistd.h>

#include "core/error.h"

namespace facegen::app {

namespace fs = std::filesystem;

// The nearest existing ancestor decides whether a folder could be created there.
void check_writable_folder(const fs::path& folder, const std::string& what) {
    fs::path probe = folder.empty() ? fs::path(".") : folder;
    while (!fs::exists(probe)) {
        const fs::path parent = probe.parent_path();
        if (parent.empty() || parent == probe) { probe = "."; break; }
        probe = parent;
    }
    if (!fs::is_directory(probe)) {
        throw make_error(what, " '", folder.string(), "' cannot be created: '", probe.string(), "' is not a folder");
    }
    if (::access(probe.c_str(), W_OK | X_OK) != 0) {
        throw make_error(what, " '", folder.string(), "' is not writable (no write permission in '", probe.string(), "')");
    }
}

void check_output_file(const fs::path& file, const std::string& flag, const std::string& example) {
    if (fs::is_directory(file))
        throw make_error(flag, " '", file.string(), "' is a folder; give a file name such as ", example);
    check_writable_folder(file.parent_path(), flag + " folder");
}

void create_output_folder(const fs::path& file) {
    if (!file.parent_path().empty()) fs::create_directories(file.parent_path());
}

}  // namespace facegen::app
