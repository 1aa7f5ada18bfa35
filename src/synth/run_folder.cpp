#include "synth/run_folder.h"

#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "synth/synth.h"

namespace facegen::synth {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "facegen-synth";
constexpr int kFormatVersion = 1;

std::string differences(const nlohmann::json& there, const nlohmann::json& here) {
    std::ostringstream out;
    for (const auto& [key, value] : here.items()) {
        const nlohmann::json old = there.contains(key) ? there[key] : nlohmann::json();
        if (old == value) continue;
        out << (out.tellp() > 0 ? "; " : "") << key << ": " << old.dump() << " there, " << value.dump() << " here";
    }
    return out.str();
}

}  // namespace

void prepare_run_folder(const fs::path& out, const nlohmann::json& definition, bool overwrite) {
    const fs::path manifest = out / kManifestFileName;
    if (fs::exists(out) && !fs::is_directory(out)) {
        if (!overwrite) throw make_error("output '", out.string(), "' is a file, not a folder");
        fs::remove(out);
    }
    if (fs::exists(manifest)) {
        nlohmann::json there;
        try {
            there = nlohmann::json::parse(core::read_file(manifest));
        } catch (const nlohmann::json::exception& e) {
            if (!overwrite) throw make_error("'", manifest.string(), "' is not a synth manifest: ", e.what());
        }
        const nlohmann::json old = there.value("definition", nlohmann::json::object());
        if (there.value("format", "") == kFormat && old == definition) return;  // the same run: continue it
        if (!overwrite) {
            throw make_error("'", out.string(), "' holds a synth run with other settings (", differences(old, definition),
                             "): continue it with its own settings, or overwrite it");
        }
        fs::remove_all(out);
    } else if (fs::exists(out) && !fs::is_empty(out)) {
        if (!overwrite) {
            throw make_error("'", out.string(), "' exists and is not a synth run (no ", kManifestFileName,
                             "): choose a new folder, or overwrite it");
        }
        fs::remove_all(out);
    }
    fs::create_directories(out);
    const nlohmann::json text = {{"format", kFormat}, {"version", kFormatVersion}, {"definition", definition}};
    core::write_file_atomically(manifest, text.dump(2) + "\n");
}

int64_t remove_unrecorded_files(const fs::path& out, const std::set<std::string>& keep) {
    int64_t removed = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(out)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_directory()) {
            for (const fs::directory_entry& file : fs::directory_iterator(entry.path())) {
                if (!keep.count(name + "/" + file.path().filename().string())) removed += fs::remove_all(file.path()) > 0;
            }
            if (fs::is_empty(entry.path())) fs::remove(entry.path());
        } else if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos) {
            removed += fs::remove(entry.path());
        }
    }
    return removed;
}

}  // namespace facegen::synth
