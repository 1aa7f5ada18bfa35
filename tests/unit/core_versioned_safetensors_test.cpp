// core::read_versioned_safetensors: the version of a file of the right kind, and errors
// that name the file, the format or version found and the versions read.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/versioned_safetensors.h"
#include "test_support.h"

namespace facegen::core {
namespace {

class VersionedSafetensorsTest : public ::testing::Test {
protected:
    const FileFormat format_{"facegen-thing", "thing", /*oldest_version=*/1, /*newest_version=*/2,
                             "make one with facegen thing"};

    std::filesystem::path write(const std::string& name, const std::map<std::string, std::string>& metadata) {
        const auto path = dir_ / name;
        write_safetensors(path, {{"x", torch::ones({2})}}, metadata);
        return path;
    }
    test::TempDir dir_;
};

TEST_F(VersionedSafetensorsTest, ReadsEachSupportedVersion) {
    for (int version : {1, 2}) {
        const auto path = write("v.safetensors", format_metadata(format_, version));
        const VersionedSafetensors read = read_versioned_safetensors(path, format_);
        EXPECT_EQ(read.version, version);
        EXPECT_EQ(read.file.metadata.at("format"), "facegen-thing");
        EXPECT_TRUE(read.file.tensors.at("x").equal(torch::ones({2})));
    }
}

TEST_F(VersionedSafetensorsTest, AnotherFormatIsNamedWithTheExpectedOneAndTheHint) {
    const auto path = write("other.safetensors", {{"format", "facegen-model"}, {"format_version", "1"}});
    test::expect_error_mentioning([&] { read_versioned_safetensors(path, format_); },
                                  {"thing '" + path.string() + "'", "format is 'facegen-model'",
                                   "expected 'facegen-thing'", "make one with facegen thing"});
    const auto bare = write("bare.safetensors", {});
    test::expect_error_mentioning([&] { read_versioned_safetensors(bare, format_); },
                                  {"bare.safetensors", "no format", "expected 'facegen-thing'"});
}

TEST_F(VersionedSafetensorsTest, AVersionOutsideTheRangeNamesTheVersionsRead) {
    const auto newer = write("v3.safetensors", format_metadata(format_, 3));
    test::expect_error_mentioning([&] { read_versioned_safetensors(newer, format_); },
                                  {"v3.safetensors", "format_version 3", "reads version 1 to 2", "newer facegen"});
    const FileFormat only_two{"facegen-thing", "thing", 2, 2, ""};
    const auto older = write("v1.safetensors", format_metadata(format_, 1));
    test::expect_error_mentioning([&] { read_versioned_safetensors(older, only_two); },
                                  {"format_version 1", "reads version 2"});
}

TEST_F(VersionedSafetensorsTest, AVersionThatIsNotAWholeNumberTextIsRefused) {
    for (const char* text : {"one", "", "02", "+2", "2.0"}) {
        const auto path = write("bad.safetensors", {{"format", "facegen-thing"}, {"format_version", text}});
        test::expect_error_mentioning([&] { read_versioned_safetensors(path, format_); },
                                      {"bad format_version '" + std::string(text) + "'", "reads version 1 to 2"});
    }
    const auto missing = write("missing.safetensors", {{"format", "facegen-thing"}});
    test::expect_error_mentioning([&] { read_versioned_safetensors(missing, format_); }, {"no format_version"});
}

}  // namespace
}  // namespace facegen::core
