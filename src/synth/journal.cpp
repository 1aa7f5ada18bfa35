#include "synth/journal.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace facegen::synth {

Journal::Journal(const std::filesystem::path& path) : path_(path) {
    std::string text;
    if (std::filesystem::exists(path)) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream buffer;
        buffer << in.rdbuf();
        text = buffer.str();
    }
    const size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    std::istringstream lines(text.substr(0, complete));
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
        if (line.empty()) continue;
        try {
            events_.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::exception& e) {
            throw make_error("journal '", path.string(), "' line ", number, " is not JSON: ", e.what());
        }
    }
    if (complete < text.size()) std::filesystem::resize_file(path, complete);
    file_ = std::fopen(path.c_str(), "ab");
    if (!file_) throw make_error("cannot open journal '", path.string(), "' for appending");
}

Journal::~Journal() {
    if (file_) std::fclose(file_);
}

void Journal::append(const nlohmann::json& event) {
    const std::string line = event.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
        throw make_error("writing journal '", path_.string(), "' failed (disk full?)");
    }
}

}  // namespace facegen::synth
