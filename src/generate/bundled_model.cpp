#include "generate/bundled_model.h"

#include <unistd.h>

#include <cstdlib>

#include "core/error.h"

#ifndef FACEGEN_INSTALL_PREFIX
#define FACEGEN_INSTALL_PREFIX "/usr/local"
#endif

namespace facegen::generate {
namespace {

std::optional<std::filesystem::path> executable_dir() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec || exe.empty()) return std::nullopt;
    return exe.parent_path();
}

/// Where files shipped in models/ are looked for: the source tree the binary was built in
/// (<build>/bin/facegen -> ../../models/), then the installed share folders.
std::vector<std::filesystem::path> shipped_file_candidates(const std::string& file_name) {
    std::vector<std::filesystem::path> candidates;
    if (auto dir = executable_dir()) {
        candidates.push_back((*dir / ".." / ".." / "models" / file_name).lexically_normal());
        candidates.push_back((*dir / ".." / "share" / "facegen" / "models" / file_name).lexically_normal());
    }
    candidates.push_back(std::filesystem::path(FACEGEN_INSTALL_PREFIX) / "share" / "facegen" / "models" / file_name);
    return candidates;
}

}  // namespace

std::vector<std::filesystem::path> bundled_model_candidates() {
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("FACEGEN_MODEL"); env && *env) candidates.emplace_back(env);
    for (auto& candidate : shipped_file_candidates(kBundledModelFileName)) candidates.push_back(std::move(candidate));
    return candidates;
}

std::optional<std::filesystem::path> find_shipped_file(const std::string& file_name) {
    for (const auto& candidate : shipped_file_candidates(file_name)) {
        if (std::filesystem::is_regular_file(candidate)) return candidate;
    }
    return std::nullopt;
}

std::filesystem::path find_bundled_model() {
    if (const char* env = std::getenv("FACEGEN_MODEL"); env && *env) {
        if (!std::filesystem::is_regular_file(env)) {
            throw make_error("FACEGEN_MODEL='", env, "' names no model file");
        }
        return env;
    }
    std::string looked;
    for (const auto& candidate : bundled_model_candidates()) {
        if (std::filesystem::is_regular_file(candidate)) return candidate;
        looked += (looked.empty() ? "" : ", ") + candidate.string();
    }
    // The model ships in models/ of the source tree and is installed with the binary, so
    // reaching this means a partial checkout or install.
    throw make_error("no model given and the bundled model '", kBundledModelFileName, "' is missing (looked in ",
                     looked, "): give a model file, or set FACEGEN_MODEL to one");
}

}  // namespace facegen::generate
