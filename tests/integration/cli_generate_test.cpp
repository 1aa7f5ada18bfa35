// Runs the built facegen binary (FACEGEN_BIN) for generate and info on a tiny random model
// made here with the engine's library.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/atomic_file.h"
#include "generate/numpy_rng.h"
#include "core/png_io.h"
#include "model/model_file.h"
#include "provenance/watermark.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;

std::string quote(const fs::path& path) { return "'" + path.string() + "'"; }

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

const core::PngText* find_text(const core::PngImage& image, const std::string& keyword) {
    for (const auto& t : image.texts) {
        if (t.keyword == keyword) return &t;
    }
    return nullptr;
}

// A version-1 .npy of a float32 C-order tensor.
void write_npy(const fs::path& path, const torch::Tensor& t) {
    std::string shape = "(";
    for (int64_t d : t.sizes()) shape += std::to_string(d) + ", ";
    shape += ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    const torch::Tensor data = t.to(torch::kFloat32).contiguous();
    bytes.append(static_cast<const char*>(data.data_ptr()), static_cast<size_t>(data.numel()) * sizeof(float));
    core::write_file_atomically(path, bytes);
}

class CliGenerateTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        model_dir_ = std::make_unique<test::TempDir>();
        model::Generator generator = test::tiny_generator_for_images(/*seed=*/3);
        model::ModelMetadata metadata;
        metadata.license = "test licence: research only";
        metadata.provenance_json = R"({"dataset": "none", "note": "random weights"})";
        metadata.description = "tiny test model";
        model_id_ = model::save_model_file(model_path(), generator, metadata);
        num_ws_ = generator->config().num_ws();
    }
    static void TearDownTestSuite() { model_dir_.reset(); }

    static fs::path model_path() { return *model_dir_ / "tiny.safetensors"; }

    static test::CommandResult facegen(const std::string& args) {
        return test::run_command(quote(test::facegen_binary()) + " " + args);
    }
    test::CommandResult generate(const std::string& args) const {
        return facegen("generate --model " + quote(model_path()) + " " + args);
    }

    // A bad invocation: non-zero exit, an error naming `fragment`, nothing written.
    void expect_rejected(const test::CommandResult& result, const std::string& fragment) const {
        EXPECT_NE(result.exit_code, 0);
        EXPECT_NE(result.err.find(fragment), std::string::npos) << result.err;
        EXPECT_TRUE(result.out.empty()) << result.out;
        EXPECT_FALSE(fs::exists(dir_ / "out")) << "output folder was created";
    }

    static inline std::unique_ptr<test::TempDir> model_dir_;
    static inline std::string model_id_;
    static inline int64_t num_ws_ = 0;
    test::TempDir dir_;
};

TEST_F(CliGenerateTest, SeedsWriteNamedPngsWithMetadata) {
    const auto result = generate("--seeds 1-3,42 --truncation-psi 0.7 --out " + quote(dir_ / "out"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::vector<std::string> paths = lines_of(result.out);
    ASSERT_EQ(paths.size(), 4u) << result.out;
    EXPECT_EQ(fs::path(paths[3]).filename(), "seed0042.png");
    for (const char* name : {"seed0001.png", "seed0002.png", "seed0003.png", "seed0042.png"}) {
        EXPECT_TRUE(fs::exists(dir_ / "out" / name)) << name;
    }
    const core::PngImage image = core::read_png(dir_ / "out" / "seed0042.png");
    EXPECT_EQ(image.width, 16);
    EXPECT_EQ(image.height, 16);
    EXPECT_EQ(image.channels, 3);
    ASSERT_NE(find_text(image, "facegen:seed"), nullptr);
    EXPECT_EQ(find_text(image, "facegen:seed")->text, "42");
    EXPECT_EQ(find_text(image, "facegen:model_id")->text, model_id_);
    EXPECT_EQ(find_text(image, "facegen:license")->text, "test licence: research only");
    EXPECT_EQ(find_text(image, "facegen:truncation_psi")->text, "0.69999999999999996");
    EXPECT_EQ(find_text(image, "facegen:noise_mode")->text, "const");
    ASSERT_NE(find_text(image, "XML:com.adobe.xmp"), nullptr);
    EXPECT_NE(find_text(image, "XML:com.adobe.xmp")->text.find("digitalsourcetype/trainedAlgorithmicMedia"),
              std::string::npos);
    // Different seeds make different images.
    EXPECT_NE(core::read_png(dir_ / "out" / "seed0001.png").pixels, image.pixels);
}

TEST_F(CliGenerateTest, SameSeedSameImageWhateverTheBatch) {
    for (const char* noise : {"const", "random"}) {
        const std::string mode = std::string(" --noise-mode ") + noise;
        ASSERT_EQ(generate("--seeds 5-9 --batch 1 --out " + quote(dir_ / "b1") + mode).exit_code, 0);
        ASSERT_EQ(generate("--seeds 9,5-8 --batch 5 --out " + quote(dir_ / "b5") + mode).exit_code, 0);
        for (const char* name : {"seed0005.png", "seed0007.png", "seed0009.png"}) {
            EXPECT_EQ(read_bytes(dir_ / "b1" / name), read_bytes(dir_ / "b5" / name)) << noise << " " << name;
        }
    }
}

TEST_F(CliGenerateTest, RandomNoiseDiffersFromConstNoise) {
    ASSERT_EQ(generate("--seeds 5 --out " + quote(dir_ / "c") + " --noise-mode const").exit_code, 0);
    ASSERT_EQ(generate("--seeds 5 --out " + quote(dir_ / "r") + " --noise-mode random").exit_code, 0);
    EXPECT_NE(core::read_png(dir_ / "c" / "seed0005.png").pixels, core::read_png(dir_ / "r" / "seed0005.png").pixels);
}

TEST_F(CliGenerateTest, GridTilesTheImages) {
    // Without the watermark, which marks the sheet as a whole (its pixels then differ).
    const auto result = generate("--count 5 --no-watermark --out " + quote(dir_ / "out") + " --grid " + quote(dir_ / "grid.png"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(lines_of(result.out).back(), (dir_ / "grid.png").string());
    const core::PngImage grid = core::read_png(dir_ / "grid.png");
    EXPECT_EQ(grid.width, 3 * 16);  // 5 images -> 3 columns, 2 rows
    EXPECT_EQ(grid.height, 2 * 16);
    ASSERT_NE(find_text(grid, "facegen:n_images"), nullptr);
    EXPECT_EQ(find_text(grid, "facegen:n_images")->text, "5");
    // Cell (row 1, column 1) is seed 4.
    const core::PngImage seed4 = core::read_png(dir_ / "out" / "seed0004.png");
    for (int64_t y = 0; y < 16; ++y) {
        const uint8_t* grid_row = grid.pixels.data() + ((16 + y) * grid.width + 16) * 3;
        const uint8_t* image_row = seed4.pixels.data() + y * 16 * 3;
        ASSERT_EQ(std::memcmp(grid_row, image_row, 16 * 3), 0) << "row " << y;
    }
    // The empty last cell is black.
    EXPECT_EQ(grid.pixels[((16 + 15) * grid.width + 47) * 3], 0);
    EXPECT_EQ(find_text(grid, "facegen:watermark")->text, "none");
    // By default the sheet (48x32, large enough) carries the mark; the 16 px images cannot.
    const auto marked = generate("--count 5 --out " + quote(dir_ / "marked") + " --grid " + quote(dir_ / "marked.png"));
    ASSERT_EQ(marked.exit_code, 0) << marked.err;
    const core::PngImage marked_grid = core::read_png(dir_ / "marked.png");
    EXPECT_EQ(find_text(marked_grid, "facegen:watermark")->text,
              provenance::to_string(provenance::payload_for_model(model_id_)));
    EXPECT_TRUE(provenance::read_watermark(marked_grid.pixels.data(), marked_grid.width, marked_grid.height, 3).found);
    EXPECT_EQ(find_text(core::read_png(dir_ / "marked" / "seed0004.png"), "facegen:watermark")->text, "none");
}

TEST_F(CliGenerateTest, GridOnlyIntoAFolderNotYetMade) {
    // The folder passed the up-front check but was never made: the grid failed after generating.
    const auto grid = dir_ / "grids" / "new" / "grid.png";
    const auto result = generate("--count 2 --grid " + quote(grid));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(core::read_png(grid).width, 2 * 16);
}

TEST_F(CliGenerateTest, LatentsNpyOfSeedZMatchesSeeds) {
    torch::Tensor z = torch::empty({2, 32}, torch::kFloat64);
    for (uint32_t seed : {0u, 1u}) {
        const std::vector<double> values = generate::latent_from_seed(seed, 32);
        for (int64_t i = 0; i < 32; ++i) z[seed][i] = values[static_cast<size_t>(i)];
    }
    write_npy(dir_ / "z.npy", z.to(torch::kFloat32));
    ASSERT_EQ(generate("--seeds 0,1 --out " + quote(dir_ / "seeds")).exit_code, 0);
    const auto result = generate("--latents " + quote(dir_ / "z.npy") + " --out " + quote(dir_ / "lat"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(lines_of(result.out).size(), 2u);
    EXPECT_EQ(core::read_png(dir_ / "lat" / "latent0001.png").pixels,
              core::read_png(dir_ / "seeds" / "seed0001.png").pixels);
    EXPECT_EQ(find_text(core::read_png(dir_ / "lat" / "latent0001.png"), "facegen:latent_index")->text, "1");
}

TEST_F(CliGenerateTest, LatentsNpyOfWsRenders) {
    write_npy(dir_ / "ws.npy", torch::randn({3, num_ws_, 32}));
    const auto result = generate("--latents " + quote(dir_ / "ws.npy") + " --grid " + quote(dir_ / "g.png"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const core::PngImage grid = core::read_png(dir_ / "g.png");
    EXPECT_EQ(grid.width, 32);
    EXPECT_EQ(find_text(grid, "facegen:latent_space")->text, "ws");
    EXPECT_EQ(find_text(grid, "facegen:truncation_psi")->text, "1") << "w and ws are not truncated by default";
    // An explicit psi truncates w and ws latents too (towards the model's w_avg).
    const auto explicit_psi =
        generate("--latents " + quote(dir_ / "ws.npy") + " --truncation-psi 0.5 --grid " + quote(dir_ / "g2.png"));
    ASSERT_EQ(explicit_psi.exit_code, 0) << explicit_psi.err;
    const core::PngImage truncated = core::read_png(dir_ / "g2.png");
    EXPECT_EQ(find_text(truncated, "facegen:truncation_psi")->text, "0.5");
    EXPECT_NE(truncated.pixels, grid.pixels);
}

TEST_F(CliGenerateTest, ModelsRecommendedPsiIsTheDefault) {
    fs::copy_file(model_path(), dir_ / "m.safetensors");
    const auto set = facegen("info " + quote(dir_ / "m.safetensors") + " --set-truncation-psi 0.6");
    ASSERT_EQ(set.exit_code, 0) << set.err;
    const nlohmann::json info = nlohmann::json::parse(set.out);
    EXPECT_EQ(info["truncation_psi"], 0.6);
    EXPECT_EQ(info["model_id"], model_id_) << "the weights did not change";

    const std::string model = " --model " + quote(dir_ / "m.safetensors");
    ASSERT_EQ(facegen("generate" + model + " --seeds 3 --out " + quote(dir_ / "default")).exit_code, 0);
    ASSERT_EQ(facegen("generate" + model + " --seeds 3 --truncation-psi 0.6 --out " + quote(dir_ / "explicit")).exit_code, 0);
    ASSERT_EQ(generate("--seeds 3 --out " + quote(dir_ / "none")).exit_code, 0);
    const core::PngImage by_default = core::read_png(dir_ / "default" / "seed0003.png");
    EXPECT_EQ(find_text(by_default, "facegen:truncation_psi")->text, "0.59999999999999998");
    EXPECT_EQ(by_default.pixels, core::read_png(dir_ / "explicit" / "seed0003.png").pixels);
    EXPECT_NE(by_default.pixels, core::read_png(dir_ / "none" / "seed0003.png").pixels);

    const auto bad = facegen("info " + quote(dir_ / "m.safetensors") + " --set-truncation-psi 9");
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.err.find("truncation psi 9"), std::string::npos) << bad.err;
}

TEST_F(CliGenerateTest, InfoPrintsValidJson) {
    const auto result = facegen("info " + quote(model_path()));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const nlohmann::json info = nlohmann::json::parse(result.out);
    EXPECT_EQ(info["model_id"], model_id_);
    EXPECT_EQ(info["license"], "test licence: research only");
    EXPECT_EQ(info["provenance"]["dataset"], "none");
    EXPECT_EQ(info["config"]["resolution"], 16);
    EXPECT_EQ(info["num_ws"], num_ws_);
    EXPECT_EQ(info["file_dtype"], "F32");
    EXPECT_EQ(info["format_version"], 1);
    EXPECT_GT(info["parameters"].get<int64_t>(), 10000);
}

TEST_F(CliGenerateTest, InfoRejectsGarbage) {
    core::write_file_atomically(dir_ / "junk.safetensors", "this is not a model");
    const auto result = facegen("info " + quote(dir_ / "junk.safetensors"));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("junk.safetensors"), std::string::npos) << result.err;
}

TEST_F(CliGenerateTest, GarbageModelRejected) {
    core::write_file_atomically(dir_ / "junk.safetensors", std::string(64, 'x'));
    expect_rejected(facegen("generate --model " + quote(dir_ / "junk.safetensors") + " --seeds 1 --out " +
                            quote(dir_ / "out")),
                    "junk.safetensors");
}

TEST_F(CliGenerateTest, TruncatedModelRejected) {
    const std::string bytes = read_bytes(model_path());
    core::write_file_atomically(dir_ / "cut.safetensors", bytes.substr(0, bytes.size() / 2));
    const auto result = facegen("generate --model " + quote(dir_ / "cut.safetensors") + " --seeds 1 --out " +
                                quote(dir_ / "out"));
    expect_rejected(result, "cut.safetensors");
    EXPECT_EQ(lines_of(result.err).size(), 1u) << result.err;
}

TEST_F(CliGenerateTest, MissingModelRejected) {
    expect_rejected(facegen("generate --model " + quote(dir_ / "nope.safetensors") + " --seeds 1 --out " +
                            quote(dir_ / "out")),
                    "nope.safetensors");
}

TEST_F(CliGenerateTest, BadPsiRejected) {
    expect_rejected(generate("--seeds 1 --truncation-psi abc --out " + quote(dir_ / "out")), "--truncation-psi");
    expect_rejected(generate("--seeds 1 --truncation-psi nan --out " + quote(dir_ / "out")), "--truncation-psi");
}

TEST_F(CliGenerateTest, BadSeedsRejected) {
    for (const char* seeds : {"--seeds=-1", "--seeds -1", "--seeds 5-2", "--seeds 4294967296", "--seeds 1,1"}) {
        const auto result = generate(std::string(seeds) + " --out " + quote(dir_ / "out"));
        EXPECT_NE(result.exit_code, 0) << seeds;
        EXPECT_FALSE(fs::exists(dir_ / "out")) << seeds;
        EXPECT_EQ(lines_of(result.err).size(), 1u) << seeds << ": " << result.err;
    }
    expect_rejected(generate("--seeds 5-2 --out " + quote(dir_ / "out")), "start 5 is greater than end 2");
}

TEST_F(CliGenerateTest, UnwritableOutRejected) {
    core::write_file_atomically(dir_ / "file", "x");
    const auto result = generate("--seeds 1 --out " + quote(dir_ / "file" / "out"));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("is not a folder"), std::string::npos) << result.err;
    EXPECT_EQ(lines_of(result.err).size(), 1u) << result.err;
}

TEST_F(CliGenerateTest, ReadOnlyOutRejected) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere";
    fs::create_directories(dir_ / "ro");
    fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    const auto result = generate("--seeds 1 --out " + quote(dir_ / "ro" / "out"));
    fs::permissions(dir_ / "ro", fs::perms::owner_all);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("not writable"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(dir_ / "ro" / "out"));
}

TEST_F(CliGenerateTest, MissingSourceOrOutputRejected) {
    expect_rejected(generate("--out " + quote(dir_ / "out")), "--seeds");
    expect_rejected(generate("--seeds 1"), "--out");
    expect_rejected(generate("--seeds 1 --batch 0 --out " + quote(dir_ / "out")), "--batch");
    expect_rejected(generate("--seeds 1 --device tpu --out " + quote(dir_ / "out")), "tpu");
}

TEST_F(CliGenerateTest, CudaUnavailableIsClear) {
    if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
    expect_rejected(generate("--seeds 1 --device cuda --out " + quote(dir_ / "out")), "device 'cpu' works without one");
}

TEST_F(CliGenerateTest, WrongLatentShapeRejected) {
    write_npy(dir_ / "bad.npy", torch::zeros({2, 7}));
    expect_rejected(generate("--latents " + quote(dir_ / "bad.npy") + " --out " + quote(dir_ / "out")),
                    "expected z [N, 32]");
}

// The README's first command: generate with no --model uses models/facegen-default.safetensors.
TEST(CliBundledModel, GenerateWithoutModelUsesTheBundledModel) {
    const fs::path bundled = test::source_dir() / "models" / "facegen-default.safetensors";
    if (!fs::exists(bundled)) GTEST_SKIP() << bundled << " not in this checkout";
    const auto info = test::run_command("unset FACEGEN_MODEL; " + quote(test::facegen_binary()) + " info " + quote(bundled));
    ASSERT_EQ(info.exit_code, 0) << info.err;
    const auto card = nlohmann::json::parse(info.out);
    EXPECT_GE(card["config"]["resolution"].get<int64_t>(), 64);
    EXPECT_NE(card["license"].get<std::string>().find("non-commercial"), std::string::npos) << "licence travels with the model";

    test::TempDir dir;
    const auto result = test::run_command("unset FACEGEN_MODEL; " + quote(test::facegen_binary()) +
                                          " generate --seeds 0-1 --threads 2 --out " + quote(dir / "faces"));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    ASSERT_EQ(lines_of(result.out).size(), 2u) << result.out;
    const core::PngImage image = core::read_png(dir / "faces" / "seed0000.png");
    EXPECT_EQ(image.width, card["config"]["resolution"].get<int64_t>());
    EXPECT_EQ(find_text(image, "facegen:model_id")->text, card["model_id"].get<std::string>());
    // Not a flat or blank image: a face has real contrast.
    double mean = 0, square = 0;
    for (uint8_t v : image.pixels) mean += v, square += double(v) * v;
    mean /= double(image.pixels.size());
    EXPECT_GT(std::sqrt(square / double(image.pixels.size()) - mean * mean), 10.0);
    // The invisible watermark is on by default and carries the model id's first 32 bits.
    const provenance::WatermarkReading mark =
        provenance::read_watermark(image.pixels.data(), image.width, image.height, image.channels);
    ASSERT_TRUE(mark.found);
    const provenance::WatermarkPayload expected = provenance::payload_for_model(card["model_id"].get<std::string>());
    EXPECT_EQ(mark.payload, expected);
    EXPECT_EQ(find_text(image, "facegen:watermark")->text, provenance::to_string(expected));
}

TEST(CliBundledModel, NoWatermarkLeavesTheMarkOutOnly) {
    const fs::path bundled = test::source_dir() / "models" / "facegen-default.safetensors";
    if (!fs::exists(bundled)) GTEST_SKIP() << bundled << " not in this checkout";
    test::TempDir dir;
    const std::string generate = quote(test::facegen_binary()) + " generate --model " + quote(bundled) + " --seeds 5 --threads 2";
    const auto marked = test::run_command(generate + " --out " + quote(dir / "marked"));
    const auto plain = test::run_command(generate + " --no-watermark --out " + quote(dir / "plain"));
    ASSERT_EQ(marked.exit_code, 0) << marked.err;
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    const core::PngImage a = core::read_png(dir / "marked" / "seed0005.png");
    const core::PngImage b = core::read_png(dir / "plain" / "seed0005.png");
    EXPECT_FALSE(provenance::read_watermark(b.pixels.data(), b.width, b.height, b.channels).found);
    EXPECT_EQ(find_text(b, "facegen:watermark")->text, "none");
    // The same face, with the metadata labels still there; only the mark differs.
    EXPECT_NE(find_text(b, "XML:com.adobe.xmp"), nullptr);
    ASSERT_EQ(a.pixels.size(), b.pixels.size());
    EXPECT_NE(a.pixels, b.pixels);
    double square = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) square += std::pow(double(a.pixels[i]) - double(b.pixels[i]), 2);
    EXPECT_GT(10.0 * std::log10(255.0 * 255.0 / (square / double(a.pixels.size()))), 30.0);
}

TEST(CliBundledModel, ModelVariableNamingNoFileIsAClearError) {
    test::TempDir dir;
    const auto result = test::run_command("FACEGEN_MODEL=/nonexistent/model.safetensors " + quote(test::facegen_binary()) +
                                          " generate --seeds 0 --out " + quote(dir / "faces"));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("/nonexistent/model.safetensors"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(dir / "faces" / "seed0000.png"));
}

}  // namespace
}  // namespace facegen
