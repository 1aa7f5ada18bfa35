#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace facegen::test {

/// A fresh temporary folder, removed when the object goes out of scope.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// The project's source folder (tests run from it; FACEGEN_SOURCE_DIR overrides).
std::filesystem::path source_dir();

/// `../shared/data` beside the checkout, or empty when absent.
std::filesystem::path shared_data_dir();

/// What a test that needs `../shared/data/<subfolder>` lacks: "" when the folder is there,
/// else a skip message containing kSharedDataSkipMessage.
std::string missing_shared_data(const std::string& subfolder);

/// The text of every skip for want of `../shared/data`. Such tests are registered apart
/// (facegen_add_test's SHARED_DATA) with this text as CTest's SKIP_REGULAR_EXPRESSION, so
/// `ctest` reports and counts them as skipped instead of passing them silently.
inline constexpr char kSharedDataSkipMessage[] = "skipped: needs ../shared/data";

/// Path of the built facegen binary (FACEGEN_BIN, set by CTest).
std::filesystem::path facegen_binary();

/// Result of running a command line through the shell.
struct CommandResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

/// Runs `command` with /bin/sh, capturing stdout and stderr separately.
CommandResult run_command(const std::string& command);

/// The whole file (empty when it cannot be read).
std::string read_file(const std::filesystem::path& path);

/// `path` in single quotes, for command lines of run_command.
std::string quote(const std::filesystem::path& path);

/// The JSON objects of a command's output, one per line starting with '{'.
std::vector<nlohmann::json> json_lines(const std::string& text);

/// The message of the facegen::Error `action` throws, or "" when it throws none.
std::string error_message_of(const std::function<void()>& action);

/// Runs `action`, which must throw facegen::Error with every one of `fragments` in its
/// message (a test failure otherwise, naming what was missing).
void expect_error_mentioning(const std::function<void()>& action, const std::vector<std::string>& fragments);

}  // namespace facegen::test

/// Skips the current test unless `../shared/data/<subfolder>` exists (the real photos are
/// not part of the repository). List the test under SHARED_DATA in its tests/*.cmake.
#define FACEGEN_SKIP_WITHOUT_SHARED_DATA(subfolder)                                            \
    if (const std::string facegen_missing_ = ::facegen::test::missing_shared_data(subfolder); \
        facegen_missing_.empty()) {                                                            \
    } else                                                                                     \
        GTEST_SKIP() << facegen_missing_
