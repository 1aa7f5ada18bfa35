#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/error.h"

namespace facegen::test {

TempDir::TempDir() {
    std::random_device device;
    std::ostringstream name;
    name << "facegen-test-" << ::getpid() << "-" << std::hex << device();
    path_ = std::filesystem::temp_directory_path() / name.str();
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path source_dir() {
    if (const char* dir = std::getenv("FACEGEN_SOURCE_DIR")) return dir;
    return std::filesystem::current_path();
}

std::filesystem::path shared_data_dir() {
    const std::filesystem::path dir = source_dir() / ".." / "shared" / "data";
    if (std::filesystem::is_directory(dir)) return std::filesystem::canonical(dir);
    return {};
}

std::string missing_shared_data(const std::string& subfolder) {
    const std::filesystem::path dir = shared_data_dir();
    if (!dir.empty() && std::filesystem::exists(dir / subfolder)) return "";
    return std::string(kSharedDataSkipMessage) + "/" + subfolder + " (not beside this checkout)";
}

std::filesystem::path facegen_binary() {
    if (const char* bin = std::getenv("FACEGEN_BIN")) return bin;
    return source_dir() / "build" / "bin" / "facegen";
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    return contents.str();
}

std::string quote(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

std::string error_message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

CommandResult run_command(const std::string& command) {
    TempDir capture;
    const auto out_path = capture / "stdout";
    const auto err_path = capture / "stderr";
    const std::string full = command + " >'" + out_path.string() + "' 2>'" + err_path.string() + "'";
    const int status = std::system(full.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out_path);
    result.err = read_file(err_path);
    return result;
}

void expect_error_mentioning(const std::function<void()>& action, const std::vector<std::string>& fragments) {
    try {
        action();
    } catch (const Error& e) {
        const std::string message = e.what();
        for (const auto& fragment : fragments)
            EXPECT_NE(message.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << message;
        return;
    }
    ADD_FAILURE() << "expected a facegen::Error mentioning '" << (fragments.empty() ? "" : fragments.front()) << "'";
}

}  // namespace facegen::test
