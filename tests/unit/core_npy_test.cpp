// .npy/.npz reader. Fixtures in tests/unit/fixtures/ were written by numpy
// (scripts/make_numpy_rng_fixture.py): element i of each array is i / 8.
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "test_support.h"

namespace facegen::core {
namespace {

class NpyTest : public ::testing::Test {
protected:
    static std::filesystem::path fixture(const std::string& name) {
        return test::source_dir() / "tests" / "unit" / "fixtures" / name;
    }
    static std::string error_of(const std::function<void()>& f) {
        try {
            f();
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
    // A version-1 .npy made by hand: header padded so data starts at a multiple of 64.
    static std::string make_npy(const std::string& dict, const std::string& data) {
        std::string header = dict;
        while ((10 + header.size() + 1) % 64 != 0) header += ' ';
        header += '\n';
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
        bytes += static_cast<char>(header.size() & 0xff);
        bytes += static_cast<char>(header.size() >> 8);
        return bytes + header + data;
    }
    static torch::Tensor expected_ramp(std::vector<int64_t> shape, torch::Dtype dtype) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return (torch::arange(n, torch::TensorOptions().dtype(dtype)) / 8).reshape(shape);
    }
};

TEST_F(NpyTest, ReadsFloat32FromNumpy) {
    const torch::Tensor t = read_npy(fixture("array_f4_2x3x4.npy"));
    EXPECT_EQ(t.scalar_type(), torch::kFloat32);
    EXPECT_EQ(t.sizes(), torch::IntArrayRef({2, 3, 4}));
    EXPECT_TRUE(torch::equal(t, expected_ramp({2, 3, 4}, torch::kFloat32)));
}

TEST_F(NpyTest, ReadsFloat64FromNumpy) {
    const torch::Tensor t = read_npy(fixture("array_f8_2x3.npy"));
    EXPECT_EQ(t.scalar_type(), torch::kFloat64);
    EXPECT_TRUE(torch::equal(t, expected_ramp({2, 3}, torch::kFloat64)));
}

TEST_F(NpyTest, FortranOrderRejected) {
    const std::string message = error_of([&] { read_npy(fixture("array_f4_fortran_2x3.npy")); });
    EXPECT_NE(message.find("Fortran order"), std::string::npos) << message;
}

TEST_F(NpyTest, IntegerDtypeRejected) {
    const std::string message = error_of([&] { read_npy(fixture("array_i4_2x3.npy")); });
    EXPECT_NE(message.find("unsupported array dtype '<i4'"), std::string::npos) << message;
}

TEST_F(NpyTest, BigEndianRejected) {
    const std::string bytes = make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'));
    EXPECT_NE(error_of([&] { parse_npy(bytes, "x.npy"); }).find("'>f4'"), std::string::npos);
}

TEST_F(NpyTest, TruncatedDataRejected) {
    const std::string bytes = read_file(fixture("array_f4_2x3x4.npy"));
    const std::string message = error_of([&] { parse_npy(bytes.substr(0, bytes.size() - 5), "cut.npy"); });
    EXPECT_NE(message.find("'cut.npy'"), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST_F(NpyTest, TruncatedHeaderRejected) {
    const std::string bytes = read_file(fixture("array_f4_2x3x4.npy"));
    EXPECT_NE(error_of([&] { parse_npy(bytes.substr(0, 30), "cut.npy"); }).find("truncated"), std::string::npos);
}

TEST_F(NpyTest, BadMagicRejected) {
    EXPECT_NE(error_of([&] { parse_npy("hello world, not numpy", "x.npy"); }).find("not a .npy file"),
              std::string::npos);
}

TEST_F(NpyTest, HandMadeScalarAndEmptyShapes) {
    float value = 2.5f;
    const std::string scalar = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                                        std::string(reinterpret_cast<const char*>(&value), 4));
    const torch::Tensor t = parse_npy(scalar, "scalar.npy");
    EXPECT_EQ(t.dim(), 0);
    EXPECT_EQ(t.item<float>(), 2.5f);
    const std::string empty = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 512), }", "");
    EXPECT_EQ(parse_npy(empty, "empty.npy").sizes(), torch::IntArrayRef({0, 512}));
}

TEST_F(NpyTest, ReadsNpzFromNumpy) {
    if (!npz_supported()) {
        EXPECT_NE(error_of([&] { read_npz(fixture("latents_w_2x3x4.npz")); }).find("built without npz support"),
                  std::string::npos);
        GTEST_SKIP() << "built without libzip";
    }
    const auto arrays = read_npz(fixture("latents_w_2x3x4.npz"));
    ASSERT_EQ(arrays.size(), 1u);
    ASSERT_EQ(arrays.count("w"), 1u);
    EXPECT_TRUE(torch::equal(arrays.at("w"), expected_ramp({2, 3, 4}, torch::kFloat32)));
}

TEST_F(NpyTest, ReadsCompressedNpz) {
    if (!npz_supported()) GTEST_SKIP() << "built without libzip";
    const auto arrays = read_npz(fixture("latents_z_compressed_2x4.npz"));
    ASSERT_EQ(arrays.count("z"), 1u);
    EXPECT_TRUE(torch::equal(arrays.at("z"), expected_ramp({2, 4}, torch::kFloat64)));
}

TEST_F(NpyTest, GarbageNpzRejected) {
    if (!npz_supported()) GTEST_SKIP() << "built without libzip";
    test::TempDir dir;
    write_file_atomically(dir / "bad.npz", "PK\x03\x04 definitely not a zip");
    EXPECT_NE(error_of([&] { read_npz(dir / "bad.npz"); }).find("bad.npz"), std::string::npos);
}

}  // namespace
}  // namespace facegen::core
