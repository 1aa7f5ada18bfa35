// The page in a real browser: tests/browser/serve_page.mjs (puppeteer-core driving
// Debian's chromium) against `facegen serve` with the bundled model. Skips only when
// chromium or node is not installed; the "Your photo" upload is checked when the shared
// photos are there (a UTKFace photo), and the summary says when it was not.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "serve_process.h"
#include "test_support.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;

std::string quote(const fs::path& path) { return "'" + path.string() + "'"; }

std::string find_chromium() {
    if (const char* path = std::getenv("CHROMIUM"); path != nullptr && fs::exists(path)) return path;
    for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
        if (fs::exists(path)) return path;
    }
    return "";
}

TEST(ServeBrowserTest, PageShowsAFaceAndTheSliderChangesIt) {
    const std::string chromium = find_chromium();
    if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
    if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
    const fs::path browser_dir = test::source_dir() / "tests" / "browser";
    ASSERT_TRUE(fs::exists(browser_dir / "node_modules" / "puppeteer-core"))
        << "puppeteer-core is missing: run `npm ci` in tests/browser (scripts/setup.sh does)";

    // A UTKFace photo for "Your photo"; a few projection steps keep the upload quick.
    std::string photo_argument;
    if (test::missing_shared_data("utkface").empty()) {
        for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) {
            if (entry.path().filename().string().rfind("26_", 0) == 0) {
                photo_argument = " --photo " + quote(entry.path());
                break;
            }
        }
    }
    test::ServeProcess server("--threads 1 --projection-steps 3");  // the bundled model
    // Beside the binary's build folder; docs/serve.md says how to refresh docs/images/serve-page.png.
    const fs::path screenshot = test::facegen_binary().parent_path().parent_path() / "serve-page.png";
    const auto result = test::run_command("node " + quote(browser_dir / "serve_page.mjs") + " --url " + server.url() +
                                          " --chromium " + quote(chromium) + photo_argument +
                                          " --screenshot " + quote(screenshot));
    EXPECT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err
                                   << "\nserver log:\n" << server.log();
    EXPECT_TRUE(fs::exists(screenshot));
    if (photo_argument.empty()) std::cout << "the photo upload was not checked: no UTKFace photos\n";
    EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace facegen
