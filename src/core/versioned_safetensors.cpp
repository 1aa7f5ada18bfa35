#include "core/versioned_safetensors.h"

#include <cctype>

#include "core/error.h"

namespace facegen::core {
namespace {

std::string readable_versions(const FileFormat& format) {
    if (format.oldest_version == format.newest_version) return std::to_string(format.newest_version);
    return std::to_string(format.oldest_version) + " to " + std::to_string(format.newest_version);
}

// Only the text std::to_string writes ("2", not "02", "+2" or "2.0"), so that a version is
// read the way it was always compared.
bool parse_version(const std::string& text, int& version) {
    if (text.empty() || text.size() > 9) return false;
    for (const char c : text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    version = std::stoi(text);
    return std::to_string(version) == text;
}

}  // namespace

int check_file_format(const SafetensorsFile& file, const std::filesystem::path& path, const FileFormat& format) {
    const std::string where = format.what + " '" + path.string() + "'";
    const std::string hint = format.hint.empty() ? "" : "; " + format.hint;
    const auto name = file.metadata.find("format");
    if (name == file.metadata.end()) {
        throw make_error(where, " is not a facegen ", format.what, ": its metadata has no format (expected '",
                         format.name, "')", hint);
    }
    if (name->second != format.name) {
        throw make_error(where, " is not a facegen ", format.what, ": its format is '", name->second,
                         "', expected '", format.name, "'", hint);
    }
    const auto version_text = file.metadata.find("format_version");
    if (version_text == file.metadata.end()) {
        throw make_error(where, ": its metadata has no format_version; this facegen reads version ",
                         readable_versions(format));
    }
    int version = 0;
    if (!parse_version(version_text->second, version)) {
        throw make_error(where, ": bad format_version '", version_text->second, "'; this facegen reads version ",
                         readable_versions(format));
    }
    if (version < format.oldest_version || version > format.newest_version) {
        throw make_error(where, " has format_version ", version, "; this facegen reads version ",
                         readable_versions(format),
                         version > format.newest_version ? " (written by a newer facegen?)" : "");
    }
    return version;
}

VersionedSafetensors read_versioned_safetensors(const std::filesystem::path& path, const FileFormat& format) {
    VersionedSafetensors out{read_safetensors(path), 0};
    out.version = check_file_format(out.file, path, format);
    return out;
}

std::map<std::string, std::string> format_metadata(const FileFormat& format, int version) {
    return {{"format", format.name}, {"format_version", std::to_string(version)}};
}

}  // namespace facegen::core
