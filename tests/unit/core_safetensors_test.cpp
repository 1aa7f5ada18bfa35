#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "test_support.h"

namespace facegen::core {
namespace {

class CoreSafetensorsTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(5); }

    // Writes a file made of an explicit header JSON and data bytes.
    std::filesystem::path write_raw(const std::string& name, const std::string& header, const std::string& data) {
        const auto path = dir_ / name;
        std::ofstream out(path, std::ios::binary);
        const uint64_t size = header.size();
        for (int i = 0; i < 8; ++i) out.put(static_cast<char>((size >> (8 * i)) & 0xff));
        out << header << data;
        return path;
    }

    void expect_error(const std::filesystem::path& path, const std::string& fragment) {
        try {
            read_safetensors(path);
            FAIL() << "expected an error mentioning '" << fragment << "'";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find(fragment), std::string::npos) << message;
            EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
        }
    }

    test::TempDir dir_;
};

TEST_F(CoreSafetensorsTest, RoundTripAllDtypesAndMetadata) {
    std::map<std::string, torch::Tensor> tensors = {
        {"a.f32", torch::randn({2, 3})},
        {"b.f16", torch::randn({4}).to(torch::kFloat16)},
        {"c.bf16", torch::randn({1, 1, 2}).to(torch::kBFloat16)},
        {"d.i64", torch::arange(5)},
        {"e.u8", torch::arange(3).to(torch::kUInt8)},
        {"f.scalar", torch::tensor(3.5)},
        {"g.empty", torch::zeros({0, 4})},
        {"h.noncontiguous", torch::randn({3, 4}).t()},
    };
    const auto path = dir_ / "x.safetensors";
    write_safetensors(path, tensors, {{"k", "v"}, {"json", "{\"a\": 1}"}});
    const SafetensorsFile file = read_safetensors(path);
    ASSERT_EQ(file.tensors.size(), tensors.size());
    for (const auto& [name, tensor] : tensors) {
        const torch::Tensor& got = file.tensors.at(name);
        EXPECT_EQ(got.scalar_type(), tensor.scalar_type()) << name;
        EXPECT_EQ(got.sizes(), tensor.sizes()) << name;
        EXPECT_TRUE(torch::equal(got, tensor)) << name;
    }
    EXPECT_EQ(file.metadata.at("k"), "v");
    EXPECT_EQ(file.metadata.at("json"), "{\"a\": 1}");
}

TEST_F(CoreSafetensorsTest, DataStartsEightByteAligned) {
    const auto path = dir_ / "aligned.safetensors";
    write_safetensors(path, {{"t", torch::ones({3})}}, {});
    std::ifstream in(path, std::ios::binary);
    unsigned char bytes[8];
    in.read(reinterpret_cast<char*>(bytes), 8);
    EXPECT_EQ(bytes[0] % 8, 0);
    EXPECT_EQ(std::filesystem::file_size(path), 8u + bytes[0] + 12u);
}

TEST_F(CoreSafetensorsTest, MissingAndEmptyFiles) {
    expect_error(dir_ / "absent.safetensors", "no such file");
    std::ofstream(dir_ / "empty.safetensors").close();
    expect_error(dir_ / "empty.safetensors", "empty");
}

TEST_F(CoreSafetensorsTest, GarbageAndTruncatedFiles) {
    {
        std::ofstream out(dir_ / "garbage.safetensors", std::ios::binary);
        out << "this is definitely not a safetensors file, just text";
    }
    expect_error(dir_ / "garbage.safetensors", "header size");
    const auto good = dir_ / "good.safetensors";
    write_safetensors(good, {{"t", torch::randn({64})}}, {});
    const std::string bytes = [&] {
        std::ifstream in(good, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    {
        std::ofstream out(dir_ / "truncated.safetensors", std::ios::binary);
        out << bytes.substr(0, bytes.size() - 10);
    }
    expect_error(dir_ / "truncated.safetensors", "beyond the data size");
    {
        std::ofstream out(dir_ / "header_cut.safetensors", std::ios::binary);
        out << bytes.substr(0, 20);
    }
    expect_error(dir_ / "header_cut.safetensors", "header size");
}

TEST_F(CoreSafetensorsTest, BadHeaders) {
    expect_error(write_raw("json.safetensors", "{not json", ""), "not valid JSON");
    expect_error(write_raw("array.safetensors", "[1, 2]", ""), "not a JSON object");
    expect_error(write_raw("dtype.safetensors", R"({"t": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}})",
                           std::string(4, '\0')),
                 "unsupported dtype");
    expect_error(write_raw("size.safetensors", R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})",
                           std::string(4, '\0')),
                 "need 8");
    expect_error(write_raw("gap.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                               "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                           std::string(12, '\0')),
                 "contiguous");
    expect_error(write_raw("overlap.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                           std::string(8, '\0')),
                 "contiguous");
    expect_error(write_raw("extra.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                           std::string(8, '\0')),
                 "cover 4");
    expect_error(write_raw("meta.safetensors", R"({"__metadata__": {"a": 1}})", ""), "not a string");
    expect_error(write_raw("shape.safetensors", R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
                           std::string(4, '\0')),
                 "bad shape");
}

TEST_F(CoreSafetensorsTest, WriteIsAtomicAndLeavesNoTemporaries) {
    const auto path = dir_ / "atomic.safetensors";
    write_safetensors(path, {{"t", torch::ones({2})}}, {});
    write_safetensors(path, {{"t", torch::zeros({2})}}, {});
    EXPECT_TRUE(torch::equal(read_safetensors(path).tensors.at("t"), torch::zeros({2})));
    size_t n_files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
        (void)entry;
        ++n_files;
    }
    EXPECT_EQ(n_files, 1u);
}

}  // namespace
}  // namespace facegen::core
