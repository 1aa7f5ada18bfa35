// Runs `facegen serve` (FACEGEN_BIN) on a tiny random model on a free loopback port and
// talks HTTP to it: every route, bad requests, the queue bound and dynamic batching.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "core/png_io.h"
#include "generate/numpy_rng.h"
#include "model/generator.h"
#include "model/model_file.h"
#include "provenance/labelled_png.h"
#include "serve_process.h"
#include "test_support.h"
#include "tiny_model.h"

namespace facegen {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string quote(const fs::path& path) { return "'" + path.string() + "'"; }

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

std::string decode_base64(const std::string& text) {
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int value = -1;
        if (c >= 'A' && c <= 'Z') value = c - 'A';
        if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
        if (c >= '0' && c <= '9') value = c - '0' + 52;
        if (c == '+') value = 62;
        if (c == '/') value = 63;
        if (value < 0) continue;  // padding
        buffer = buffer << 6 | static_cast<uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(buffer >> bits & 0xff);
        }
    }
    return out;
}

const core::PngText* find_text(const core::PngImage& image, const std::string& keyword) {
    for (const auto& t : image.texts) {
        if (t.keyword == keyword) return &t;
    }
    return nullptr;
}

/// Sends raw bytes on a fresh loopback connection and reads until the server closes it
/// or `timeout` passes.
struct RawResult {
    std::string response;
    bool closed = false;  // the server closed the connection
    double seconds = 0;
};
RawResult raw_exchange(int port, const std::string& request, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    RawResult result;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        close(fd);
        return result;
    }
    timeval receive_timeout{static_cast<time_t>(timeout.count()), 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
    const auto start = Clock::now();
    if (!request.empty()) send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[4096];
    for (;;) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n == 0) {
            result.closed = true;
            break;
        }
        if (n < 0) break;  // timed out (or reset)
        result.response.append(buffer, static_cast<size_t>(n));
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    close(fd);
    return result;
}

/// A loopback connection that sends nothing: it holds one of the server's HTTP threads
/// until --read-timeout-s. Closed when the object goes.
class IdleConnection {
public:
    explicit IdleConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    }
    ~IdleConnection() { close(fd_); }
    IdleConnection(const IdleConnection&) = delete;
    IdleConnection& operator=(const IdleConnection&) = delete;
    bool connected() const { return connected_; }

private:
    int fd_;
    bool connected_ = false;
};

/// PNG bytes of `size` x `size` noise with provenance labels: large (about 3 bytes a pixel),
/// as photos are, unlike the tiny model's faces.
std::string labelled_noise_png(int64_t size, const std::string& model_id) {
    torch::manual_seed(3);
    const torch::Tensor pixels = torch::randint(0, 256, {size, size, 3}).to(torch::kUInt8);
    provenance::ImageProvenance info;
    info.model_id = model_id;
    info.software_version = "test";
    return provenance::encode_labelled_png(pixels, info);
}

/// `text` percent-encoded for a query value ("age=+10" -> "age%3D%2B10").
std::string encode_query_value(const std::string& text) {
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
            out += static_cast<char>(c);
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof(escaped), "%%%02X", c);
            out += escaped;
        }
    }
    return out;
}

/// The count of a sample in Prometheus text, e.g. `facegen_batch_size_count`.
double metric_value(const std::string& text, const std::string& sample) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    }
    return -1;
}

class ServeApiTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        model_dir_ = std::make_unique<test::TempDir>();
        model::Generator generator = test::tiny_generator_for_images(/*seed=*/5);
        model::ModelMetadata metadata;
        metadata.license = "test licence: research only";
        metadata.provenance_json = R"({"dataset": "none"})";
        metadata.description = "tiny test model";
        model_id_ = model::save_model_file(model_path(), generator, metadata);
        num_ws_ = generator->config().num_ws();
        try {
            server_ = std::make_unique<test::ServeProcess>("--model " + quote(model_path()) +
                                                           " --threads 1 --max-batch 16 --batch-wait-ms 40 --projection-steps 3 "
                                                           "--read-timeout-s 1");
        } catch (const std::exception& e) {
            start_error_ = e.what();
        }
    }
    static void TearDownTestSuite() {
        if (server_) {
            const std::string log = server_->log();
            EXPECT_EQ(server_->stop(), 0) << "serve did not stop cleanly on SIGTERM; its log:\n" << log;
        }
        server_.reset();
        model_dir_.reset();
    }
    void SetUp() override { ASSERT_TRUE(server_) << start_error_; }

    static fs::path model_path() { return *model_dir_ / "tiny.safetensors"; }

    static std::unique_ptr<httplib::Client> client(int port = server_->port()) {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
        c->set_read_timeout(30, 0);
        c->set_connection_timeout(5, 0);
        return c;
    }

    static core::PngImage decode_png(const std::string& bytes) {
        test::TempDir dir;
        std::ofstream(dir / "image.png", std::ios::binary) << bytes;
        return core::read_png(dir / "image.png");
    }

    /// A 4xx answer with a JSON error whose message contains `fragment`.
    static void expect_json_error(const httplib::Result& result, int status, const std::string& fragment,
                                  const std::string& what) {
        ASSERT_TRUE(result) << what << ": no response (" << httplib::to_string(result.error()) << ")";
        EXPECT_EQ(result->status, status) << what << ": " << result->body;
        EXPECT_EQ(result->get_header_value("Content-Type"), "application/json") << what;
        const json error = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
        ASSERT_TRUE(error.is_object()) << what << ": " << result->body;
        EXPECT_EQ(error.value("status", 0), status) << what;
        EXPECT_NE(error.value("error", "").find(fragment), std::string::npos)
            << what << ": '" << fragment << "' not in " << result->body;
    }

    static inline std::unique_ptr<test::TempDir> model_dir_;
    static inline std::unique_ptr<test::ServeProcess> server_;
    static inline std::string start_error_;
    static inline std::string model_id_;
    static inline int64_t num_ws_ = 0;
    test::TempDir dir_;
};

TEST_F(ServeApiTest, HealthzAndModelsDescribeTheModel) {
    auto http = client();
    const auto health = http->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(json::parse(health->body)["status"], "ok");
    EXPECT_EQ(json::parse(health->body)["model_id"], model_id_);

    const auto models = http->Get("/v1/models");
    ASSERT_TRUE(models);
    ASSERT_EQ(models->status, 200) << models->body;
    const json body = json::parse(models->body);
    ASSERT_EQ(body["models"].size(), 1u);
    const json& model = body["models"][0];
    EXPECT_EQ(model["id"], model_id_);
    EXPECT_EQ(model["resolution"], 16);
    EXPECT_EQ(model["num_ws"], num_ws_);
    EXPECT_EQ(model["license"], "test licence: research only");
    EXPECT_EQ(model["recommended_truncation_psi"], 1.0);
    EXPECT_EQ(model["provenance"]["dataset"], "none");
    EXPECT_EQ(body["limits"]["max_images_per_request"], 64);
    EXPECT_EQ(body["limits"]["max_batch"], 16);
    // The tiny model has no directions beside it: no edits, and the page is told why.
    EXPECT_EQ(body["edits"]["available"], false) << body["edits"];
    EXPECT_NE(body["edits"].value("why", "").find("no attribute directions"), std::string::npos) << body["edits"];
}

TEST_F(ServeApiTest, OpenApiDocumentsEveryRoute) {
    const auto result = client()->Get("/v1/openapi.json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
    const json document = json::parse(result->body);
    EXPECT_EQ(document["openapi"].get<std::string>().substr(0, 2), "3.");
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"/", "get"},         {"/v1/face.png", "get"},     {"/v1/generate", "post"}, {"/v1/models", "get"},
        {"/healthz", "get"},  {"/v1/openapi.json", "get"}, {"/metrics", "get"},      {"/v1/detect", "post"},
        {"/v1/project", "post"},
    };
    for (const auto& [path, method] : routes) {
        EXPECT_TRUE(document["paths"].contains(path) && document["paths"][path].contains(method)) << method << " " << path;
    }
}

// POST /v1/detect judges an upload: a labelled, watermarked 64 px PNG (the tiny model's
// 16 px faces are too small to mark), then broken uploads.
TEST_F(ServeApiTest, DetectJudgesAnUploadOrSaysWhatIsWrong) {
    const auto models = client()->Get("/v1/models");
    ASSERT_TRUE(models);
    const json description = json::parse(models->body)["detection"];
    if (description.is_null()) {
        const auto result = client()->Post("/v1/detect", "x", "application/octet-stream");
        ASSERT_TRUE(result);
        EXPECT_EQ(result->status, 501);
        GTEST_SKIP() << "built without detection";
    }
    EXPECT_NE(description.get<std::string>().find("watermark"), std::string::npos);
    const auto ramp = torch::linspace(40, 200, 64).view({1, 64, 1}).expand({64, 64, 3});
    const torch::Tensor pixels = (ramp + torch::linspace(0, 30, 64).view({64, 1, 1})).round().to(torch::kUInt8);
    provenance::ImageProvenance info;
    info.model_id = model_id_;
    info.software_version = "test";
    const std::string png = provenance::encode_labelled_png(pixels, info);
    const auto judged = client()->Post("/v1/detect", png, "image/png");
    ASSERT_TRUE(judged);
    ASSERT_EQ(judged->status, 200) << judged->body;
    const json verdict = json::parse(judged->body);
    EXPECT_EQ(verdict["verdict"], "generated");
    EXPECT_TRUE(verdict["watermark"]["found"].get<bool>());
    EXPECT_EQ(verdict["watermark"]["model_prefix"], model_id_.substr(0, 8));
    EXPECT_TRUE(verdict["metadata_label"]["found"].get<bool>());

    expect_json_error(client()->Post("/v1/detect", "", "application/octet-stream"), 400, "no image", "empty body");
    expect_json_error(client()->Post("/v1/detect", "not an image", "application/octet-stream"), 400, "not an image",
                      "text body");
    expect_json_error(client()->Post("/v1/detect", png.substr(0, png.size() / 2), "image/png"), 400, "broken PNG",
                      "truncated PNG");
    // The server still answers.
    const auto health = client()->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

// POST /v1/project: what is wrong with an upload is said, and a busy projector answers 429.
TEST_F(ServeApiTest, ProjectSaysWhatIsWrongWithAnUpload) {
    const auto models = client()->Get("/v1/models");
    ASSERT_TRUE(models);
    const json description = json::parse(models->body)["projection"];
    ASSERT_TRUE(description.is_object()) << models->body;
    if (!description.value("available", false)) {
        expect_json_error(client()->Post("/v1/project", "x", "application/octet-stream"), 501, "projection",
                          "projection not available");
        GTEST_SKIP() << "no projection: " << description.dump();
    }
    EXPECT_EQ(description["steps"], 3) << description.dump();
    EXPECT_EQ(description["start"], "average");  // the tiny model has no encoder
    expect_json_error(client()->Post("/v1/project", "", "application/octet-stream"), 400, "no photo", "empty body");
    expect_json_error(client()->Post("/v1/project", "not an image", "application/octet-stream"), 400, "not an image",
                      "text body");
    expect_json_error(client()->Post("/v1/project", labelled_noise_png(/*size=*/96, model_id_), "image/png"), 400,
                      "no face found", "noise without a face");
}

// A real photo comes back as ws latents that /v1/generate renders; several uploads at once
// are each projected or told to come back later (429 with Retry-After), never queued.
TEST_F(ServeApiTest, ProjectTurnsAPhotoIntoLatentsThatGenerateRenders) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    const auto models = client()->Get("/v1/models");
    ASSERT_TRUE(models);
    if (!json::parse(models->body)["projection"].value("available", false)) GTEST_SKIP() << "no projection";
    fs::path photo;
    for (const auto& entry : fs::directory_iterator(test::shared_data_dir() / "utkface")) {
        if (entry.path().filename().string().rfind("26_", 0) == 0) {
            photo = entry.path();
            break;
        }
    }
    ASSERT_FALSE(photo.empty()) << "no UTKFace photo of a 26-year-old";
    const std::string bytes = read_bytes(photo);

    const auto projected = client()->Post("/v1/project", bytes, "image/jpeg");
    ASSERT_TRUE(projected);
    ASSERT_EQ(projected->status, 200) << projected->body;
    EXPECT_EQ(projected->get_header_value("Cache-Control"), "no-store");
    const json answer = json::parse(projected->body);
    EXPECT_EQ(answer["model_id"], model_id_);
    EXPECT_EQ(answer["steps"], 3);
    EXPECT_GE(answer["faces_found"].get<int>(), 1);
    EXPECT_EQ(answer["target"].get<std::string>().rfind("data:image/png;base64,", 0), 0u);
    const json& latents = answer["latents"];
    EXPECT_EQ(latents["space"], "ws");
    ASSERT_EQ(latents["values"].size(), 1u);
    ASSERT_EQ(static_cast<int64_t>(latents["values"][0].size()), num_ws_);

    const auto rendered = client()->Post("/v1/generate", json{{"latents", latents}}.dump(), "application/json");
    ASSERT_TRUE(rendered);
    ASSERT_EQ(rendered->status, 200) << rendered->body;
    EXPECT_EQ(json::parse(rendered->body)["images"].size(), 1u);

    std::vector<std::thread> uploads;
    std::vector<int> statuses(4, 0);
    std::vector<std::string> retry_after(4);
    for (size_t i = 0; i < statuses.size(); ++i) {
        uploads.emplace_back([&, i] {
            const auto result = client()->Post("/v1/project", bytes, "image/jpeg");
            if (!result) return;
            statuses[i] = result->status;
            retry_after[i] = result->get_header_value("Retry-After");
        });
    }
    for (std::thread& upload : uploads) upload.join();
    int answered = 0;
    for (size_t i = 0; i < statuses.size(); ++i) {
        EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 429) << "upload " << i << ": " << statuses[i];
        if (statuses[i] == 429) EXPECT_FALSE(retry_after[i].empty()) << "upload " << i;
        answered += statuses[i] == 200;
    }
    EXPECT_GE(answered, 1);
}

// An upload is the bytes of the body whatever its Content-Type says (curl --data-binary
// labels it application/x-www-form-urlencoded), or the file part of multipart/form-data
// (curl -F file=@photo.jpg): the same verdict every way. The upload is larger than the
// 8 KiB cpp-httplib allows a form.
TEST_F(ServeApiTest, DetectTakesRawBodiesOfAnyContentTypeAndMultipartFiles) {
    const auto models = client()->Get("/v1/models");
    ASSERT_TRUE(models);
    if (json::parse(models->body)["detection"].is_null()) GTEST_SKIP() << "built without detection";
    const std::string png = labelled_noise_png(/*size=*/96, model_id_);
    ASSERT_GT(png.size(), 16'000u);
    auto http = client();
    const auto reference = http->Post("/v1/detect", png, "image/png");
    ASSERT_TRUE(reference);
    ASSERT_EQ(reference->status, 200) << reference->body;
    EXPECT_EQ(json::parse(reference->body)["metadata_label"]["found"], true) << reference->body;

    const std::vector<std::pair<std::string, httplib::Result>> answers = [&] {
        std::vector<std::pair<std::string, httplib::Result>> out;
        out.emplace_back("form-urlencoded (curl --data-binary)",
                         http->Post("/v1/detect", png, "application/x-www-form-urlencoded"));
        out.emplace_back("octet-stream", http->Post("/v1/detect", png, "application/octet-stream"));
        out.emplace_back("no Content-Type", http->Post("/v1/detect", png, ""));
        out.emplace_back("text/plain", http->Post("/v1/detect", png, "text/plain"));
        out.emplace_back("multipart (curl -F file=@face.png)",
                         http->Post("/v1/detect", httplib::MultipartFormDataItems{{"file", png, "face.png", "image/png"}}));
        out.emplace_back("multipart, a field before the file",
                         http->Post("/v1/detect", httplib::MultipartFormDataItems{{"note", "hello", "", ""},
                                                                                   {"image", png, "face.png", ""}}));
        out.emplace_back("multipart without a filename (curl -F file=<face.png)",
                         http->Post("/v1/detect", httplib::MultipartFormDataItems{{"file", png, "", ""}}));
        return out;
    }();
    for (const auto& [what, answer] : answers) {
        ASSERT_TRUE(answer) << what;
        EXPECT_EQ(answer->status, 200) << what << ": " << answer->body;
        EXPECT_EQ(answer->body, reference->body) << what;
    }
    expect_json_error(http->Post("/v1/detect", httplib::MultipartFormDataItems{{"file", "", "empty.png", ""}}), 400,
                      "no image", "multipart with an empty file");
    const auto garbled = http->Post("/v1/detect", "--x\r\nnot a part", "multipart/form-data; boundary=x");
    expect_json_error(garbled, 400, "malformed multipart/form-data body", "garbled multipart");
}

// /v1/generate reads its JSON whatever the Content-Type (curl -d @request.json labels it a
// form) and from a multipart file part, at any size up to the body limit.
TEST_F(ServeApiTest, GenerateTakesJsonOfAnyContentType) {
    const std::string request = R"({"seeds": [11], "psi": 0.6})" + std::string(9000, ' ');
    auto http = client();
    const auto reference = http->Post("/v1/generate", request, "application/json");
    ASSERT_TRUE(reference);
    ASSERT_EQ(reference->status, 200) << reference->body;
    const auto as_form = http->Post("/v1/generate", request, "application/x-www-form-urlencoded");
    const auto as_file =
        http->Post("/v1/generate", httplib::MultipartFormDataItems{{"request", request, "request.json", "application/json"}});
    for (const httplib::Result* answer : {&as_form, &as_file}) {
        ASSERT_TRUE(*answer);
        EXPECT_EQ((*answer)->status, 200) << (*answer)->body;
        EXPECT_EQ(json::parse((*answer)->body)["images"][0]["png_base64"],
                  json::parse(reference->body)["images"][0]["png_base64"]);
    }
}

// 413 only for a body that is too big, however it comes: a form-urlencoded one (what
// curl --data-binary sends), a multipart upload, a chunked one with no length up front.
TEST_F(ServeApiTest, OnlyABodyOverTheLimitIs413) {
    const std::string big(9'000'000, 'x');
    const std::string limit = "request body larger than 8388608 bytes";
    expect_json_error(client()->Post("/v1/detect", big, "application/x-www-form-urlencoded"), 413, limit,
                      "9 MB form-urlencoded");
    expect_json_error(client()->Post("/v1/detect", httplib::MultipartFormDataItems{{"file", big, "big.jpg", ""}}), 413,
                      limit, "9 MB multipart");
    size_t sent = 0;
    const auto chunked = client()->Post(
        "/v1/generate",
        [&](size_t, httplib::DataSink& sink) {
            const std::string chunk(1 << 20, ' ');
            if (sent >= big.size() || !sink.is_writable()) {
                sink.done();
                return true;
            }
            sent += chunk.size();
            return sink.write(chunk.data(), chunk.size());
        },
        "application/json");
    if (chunked) {  // the server may answer and close before the client has sent it all
        EXPECT_EQ(chunked->status, 413) << chunked->body;
        EXPECT_NE(chunked->body.find(limit), std::string::npos) << chunked->body;
    }
    const auto health = client()->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

TEST_F(ServeApiTest, PageIsSelfContained) {
    const auto result = client()->Get("/");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(result->get_header_value("Cache-Control"), "no-store");
    EXPECT_NE(result->body.find("This person does not exist"), std::string::npos);
    // Nothing from a CDN or any other host: no absolute URLs in src/href, and the CSP says so.
    EXPECT_EQ(std::regex_search(result->body, std::regex(R"((src|href)\s*=\s*["']?(https?:)?//)")), false);
    EXPECT_NE(result->get_header_value("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
}

TEST_F(ServeApiTest, FacePngEqualsWhatGenerateMakes) {
    const auto served = client()->Get("/v1/face.png?seed=42&psi=0.7");
    ASSERT_TRUE(served);
    ASSERT_EQ(served->status, 200) << served->body;
    EXPECT_EQ(served->get_header_value("Content-Type"), "image/png");
    EXPECT_EQ(served->get_header_value("Cache-Control"), "no-store");
    EXPECT_EQ(served->get_header_value("X-Facegen-Seed"), "42");
    EXPECT_EQ(served->get_header_value("X-Facegen-Model-Id"), model_id_);

    const auto cli = test::run_command(quote(test::facegen_binary()) + " generate --model " + quote(model_path()) +
                                       " --seeds 42 --truncation-psi 0.7 --threads 1 --out " + quote(dir_ / "cli"));
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    const core::PngImage expected = core::read_png(dir_ / "cli" / "seed0042.png");
    const core::PngImage image = decode_png(served->body);
    EXPECT_EQ(image.width, 16);
    EXPECT_EQ(image.pixels, expected.pixels);
    // Same pixels and same provenance: the same file.
    EXPECT_EQ(served->body, read_bytes(dir_ / "cli" / "seed0042.png"));
    ASSERT_NE(find_text(image, "facegen:seed"), nullptr);
    EXPECT_EQ(find_text(image, "facegen:seed")->text, "42");
    ASSERT_NE(find_text(image, "XML:com.adobe.xmp"), nullptr);
    EXPECT_NE(find_text(image, "XML:com.adobe.xmp")->text.find("trainedAlgorithmicMedia"), std::string::npos);
}

TEST_F(ServeApiTest, FacePngWithoutSeedDrawsOneAndNamesIt) {
    auto http = client();
    const auto first = http->Get("/v1/face.png");
    const auto second = http->Get("/v1/face.png");
    ASSERT_TRUE(first && second);
    ASSERT_EQ(first->status, 200) << first->body;
    const std::string seed = first->get_header_value("X-Facegen-Seed");
    ASSERT_FALSE(seed.empty());
    EXPECT_NE(seed, second->get_header_value("X-Facegen-Seed")) << "two random seeds were equal";
    EXPECT_EQ(find_text(decode_png(first->body), "facegen:seed")->text, seed);
    const auto again = http->Get("/v1/face.png?seed=" + seed);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, first->body) << "the seed it named does not make the same face";
}

TEST_F(ServeApiTest, PsiChangesTheFaceWithinItsRange) {
    auto http = client();
    const auto low = http->Get("/v1/face.png?seed=7&psi=0");
    const auto high = http->Get("/v1/face.png?seed=7&psi=2");
    ASSERT_TRUE(low && high);
    ASSERT_EQ(low->status, 200) << low->body;
    ASSERT_EQ(high->status, 200) << high->body;
    EXPECT_NE(decode_png(low->body).pixels, decode_png(high->body).pixels);
    EXPECT_EQ(high->get_header_value("X-Facegen-Truncation-Psi"), "2");
}

TEST_F(ServeApiTest, GenerateSeedsReturnsLabelledPngsInOrder) {
    auto http = client();
    const auto result = http->Post("/v1/generate", R"({"seeds": [3, 1, 4294967295], "psi": 0.5})", "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
    const json body = json::parse(result->body);
    EXPECT_EQ(body["model_id"], model_id_);
    EXPECT_EQ(body["truncation_psi"], 0.5);
    ASSERT_EQ(body["images"].size(), 3u);
    const std::vector<uint32_t> seeds = {3, 1, 4294967295u};
    for (size_t i = 0; i < seeds.size(); ++i) {
        const json& item = body["images"][i];
        EXPECT_EQ(item["seed"], seeds[i]);
        EXPECT_EQ(item["provenance"]["seed"], seeds[i]);
        EXPECT_EQ(item["provenance"]["ai_generated"], true);
        EXPECT_EQ(item["provenance"]["truncation_psi"], 0.5);
        EXPECT_EQ(item["provenance"]["license"], "test licence: research only");
        const auto single = http->Get("/v1/face.png?seed=" + std::to_string(seeds[i]) + "&psi=0.5");
        ASSERT_TRUE(single);
        EXPECT_EQ(decode_base64(item["png_base64"]), single->body) << "seed " << seeds[i];
    }
}

TEST_F(ServeApiTest, GenerateFromLatents) {
    auto http = client();
    // z of seed 9 written out gives seed 9's face.
    const std::vector<double> z = generate::latent_from_seed(9, 32);
    json values = json::array();
    values.push_back(json::array());
    for (double v : z) values[0].push_back(static_cast<float>(v));
    const auto from_z = http->Post("/v1/generate", json({{"latents", {{"space", "z"}, {"values", values}}}}).dump(),
                                   "application/json");
    ASSERT_TRUE(from_z);
    ASSERT_EQ(from_z->status, 200) << from_z->body;
    const json image = json::parse(from_z->body)["images"][0];
    EXPECT_EQ(image["latent_index"], 0);
    EXPECT_EQ(image["provenance"]["latent_space"], "z");
    const auto by_seed = http->Get("/v1/face.png?seed=9");
    ASSERT_TRUE(by_seed);
    EXPECT_EQ(decode_png(decode_base64(image["png_base64"])).pixels, decode_png(by_seed->body).pixels);

    // ws rows render, untruncated unless asked.
    torch::manual_seed(1);
    const torch::Tensor ws = torch::randn({2, num_ws_, 32});
    json ws_values = json::array();
    for (int64_t n = 0; n < 2; ++n) {
        json rows = json::array();
        for (int64_t l = 0; l < num_ws_; ++l) {
            json row = json::array();
            for (int64_t k = 0; k < 32; ++k) row.push_back(ws[n][l][k].item<float>());
            rows.push_back(row);
        }
        ws_values.push_back(rows);
    }
    const auto from_ws = http->Post(
        "/v1/generate", json({{"latents", {{"space", "ws"}, {"values", ws_values}}}}).dump(), "application/json");
    ASSERT_TRUE(from_ws);
    ASSERT_EQ(from_ws->status, 200) << from_ws->body;
    EXPECT_EQ(json::parse(from_ws->body)["truncation_psi"], 1.0);
    EXPECT_EQ(json::parse(from_ws->body)["images"].size(), 2u);
}

/// The bundled model when its attribute directions ship beside it; empty otherwise.
fs::path bundled_model_with_directions() {
    const fs::path models = test::source_dir() / "models";
    if (!fs::exists(models / "facegen-default.safetensors") || !fs::exists(models / "facegen-default.directions.safetensors")) {
        return {};
    }
    return models / "facegen-default.safetensors";
}

// Edits on a server of the bundled model (its directions ship beside it): the edited face
// differs from the plain one, is the same from face.png and generate, and says how it was
// edited; unknown attributes and values out of range are named.
TEST_F(ServeApiTest, EditsOfTheBundledModelAreAppliedAndRecorded) {
    const fs::path bundled = bundled_model_with_directions();
    if (bundled.empty()) GTEST_SKIP() << "the bundled model or its directions are not in this checkout";
    test::ServeProcess edited_server("--model " + quote(bundled) + " --threads 1 --no-detector");
    auto http = client(edited_server.port());
    const auto models = http->Get("/v1/models");
    ASSERT_TRUE(models);
    const json edits = json::parse(models->body)["edits"];
    EXPECT_EQ(edits["available"], true) << edits;
    EXPECT_NE(edits["attributes"].dump().find("\"yaw\""), std::string::npos) << edits;

    const auto plain = http->Get("/v1/face.png?seed=7");
    const auto older = http->Get("/v1/face.png?seed=7&edit=age%3D%2B20");
    ASSERT_TRUE(plain && older);
    ASSERT_EQ(older->status, 200) << older->body;
    const core::PngImage older_image = decode_png(older->body);
    EXPECT_NE(decode_png(plain->body).pixels, older_image.pixels);
    ASSERT_NE(find_text(older_image, "facegen:edit"), nullptr);
    EXPECT_NE(find_text(older_image, "facegen:edit")->text.find("age=+20"), std::string::npos);
    // The served face is the one generate --edit writes for the same seed.
    const auto cli = test::run_command(quote(test::facegen_binary()) + " generate --model " + quote(bundled) +
                                       " --seeds 7 --edit age=+20 --threads 1 --out " + quote(dir_ / "edited"));
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    EXPECT_EQ(older_image.pixels, core::read_png(dir_ / "edited" / "seed0007.png").pixels);

    const auto generated = http->Post("/v1/generate", R"({"seeds": [7], "edit": "age=+20"})", "application/json");
    ASSERT_TRUE(generated);
    ASSERT_EQ(generated->status, 200) << generated->body;
    const json image = json::parse(generated->body)["images"][0];
    EXPECT_NE(image["provenance"]["edit"].get<std::string>().find("age=+20"), std::string::npos) << image["provenance"];
    EXPECT_EQ(decode_png(decode_base64(image["png_base64"].get<std::string>())).pixels, older_image.pixels);

    expect_json_error(http->Get("/v1/face.png?seed=7&edit=height%3D%2B1"), 400, "unknown attribute 'height'", "height");
    expect_json_error(http->Get("/v1/face.png?seed=7&edit=age%3D%2B500"), 400, "edit 'age=+500'", "age out of range");
    expect_json_error(http->Post("/v1/generate", R"({"seeds": [7], "edit": "age"})", "application/json"), 400,
                      "expected NAME=VALUE", "no value");
}

// edit= as people type it in a URL (curl, a browser's address bar) gives the face of the
// percent-encoded form the page sends: '+' in a query is a space, and the '=' inside the
// value is not a separator.
TEST_F(ServeApiTest, EditQueryFormsAsPeopleTypeThem) {
    const fs::path bundled = bundled_model_with_directions();
    if (bundled.empty()) GTEST_SKIP() << "the bundled model or its directions are not in this checkout";
    test::ServeProcess edited_server("--model " + quote(bundled) + " --threads 1 --no-detector");
    auto http = client(edited_server.port());
    http->set_url_encode(false);  // the targets below go out byte for byte, as curl sends them
    const auto face_for = [&](const std::string& target) {
        const auto result = http->Get(target);
        EXPECT_TRUE(result) << target;
        if (!result) return std::string();
        EXPECT_EQ(result->status, 200) << target << ": " << result->body;
        return result->body;
    };
    const std::string older = face_for("/v1/face.png?seed=42&edit=age%3D%2B20");
    const std::string plain = face_for("/v1/face.png?seed=42");
    ASSERT_NE(older, plain);
    EXPECT_NE(find_text(decode_png(older), "facegen:edit")->text.find("age=+20"), std::string::npos);
    for (const std::string edit : {"age=+20", "age=20", "age=%2B20", "age=%2020", "age%3D20"}) {
        EXPECT_EQ(face_for("/v1/face.png?seed=42&edit=" + edit), older) << "edit=" << edit;
    }
    const std::string younger = face_for("/v1/face.png?seed=42&edit=age%3D-5");
    EXPECT_NE(younger, plain);
    EXPECT_EQ(face_for("/v1/face.png?seed=42&edit=age=-5"), younger);
    const std::string both = face_for("/v1/face.png?seed=42&edit=age%3D%2B20%2Csmiling%3D%2B2");
    EXPECT_NE(both, older);
    EXPECT_EQ(face_for("/v1/face.png?edit=age=+20,smiling=+2&seed=42"), both);
    EXPECT_EQ(face_for("/v1/face.png?seed=42&edit=age=+20&edit=smiling=+2"), both);
    // The page's permalink (URLSearchParams writes "age=+10" as age%3D%2B10), typed or clicked.
    EXPECT_EQ(face_for("/v1/face.png?seed=42&psi=0.7&edit=age%3D%2B10"),
              face_for("/v1/face.png?seed=42&psi=0.7&edit=age=+10"));
    expect_json_error(http->Get("/v1/face.png?seed=42&edit=age=+500"), 400, "edit 'age=+500'", "out of range, typed");
    expect_json_error(http->Get("/v1/face.png?seed=42&edit=age+20"), 400, "expected NAME=VALUE", "no '='");
    EXPECT_EQ(edited_server.stop(), 0) << edited_server.log();
}

// The page's attribute sliders come from /v1/models: every attribute offers a slider range
// inside the limits the server enforces, and those limits are the ones edit= is held to
// (the ends are served, a step beyond them is a 400 naming the attribute).
TEST_F(ServeApiTest, ModelsOfferSliderRangesWithinTheEditLimits) {
    const fs::path bundled = bundled_model_with_directions();
    if (bundled.empty()) GTEST_SKIP() << "the bundled model or its directions are not in this checkout";
    test::ServeProcess edited_server("--model " + quote(bundled) + " --threads 1 --no-detector");
    auto http = client(edited_server.port());
    const auto models = http->Get("/v1/models");
    ASSERT_TRUE(models);
    const json edits = json::parse(models->body)["edits"];
    ASSERT_EQ(edits["available"], true) << edits;
    ASSERT_GE(edits["attributes"].size(), 20u) << edits;

    // Every attribute at once at the sliders' lower ends, at their upper ends, at the limits.
    std::string at_slider_min, at_slider_max, at_limits;
    const auto add = [](std::string& edit, const std::string& name, double value) {
        edit += (edit.empty() ? "" : ",") + name + "=" + (value >= 0 ? "+" : "") + std::to_string(value);
    };
    for (const json& attribute : edits["attributes"]) {
        const auto name = attribute["name"].get<std::string>();
        const auto limit_min = attribute["limits"]["min"].get<double>(), limit_max = attribute["limits"]["max"].get<double>();
        const json& slider = attribute["slider"];
        const auto min = slider["min"].get<double>(), max = slider["max"].get<double>(), step = slider["step"].get<double>();
        EXPECT_TRUE(limit_min <= min && min < 0 && 0 < max && max <= limit_max)
            << name << ": slider " << slider << " limits " << attribute["limits"];
        const double stops = (max - min) / step;
        EXPECT_NEAR(stops, std::round(stops), 1e-6) << name << ": the step does not divide the range " << slider;
        EXPECT_TRUE(stops >= 8 && stops <= 40) << name << ": " << stops << " stops";
        EXPECT_NEAR(-min / step, std::round(-min / step), 1e-6) << name << ": 0 is not a stop of " << slider;
        EXPECT_TRUE(slider["unit"].is_string() && attribute["description"].is_string() && attribute["unit"].is_string())
            << attribute;
        add(at_slider_min, name, min);
        add(at_slider_max, name, max);
        add(at_limits, name, limit_max);
        std::string beyond;
        add(beyond, name, limit_max * 1.01);
        expect_json_error(http->Get("/v1/face.png?seed=3&edit=" + encode_query_value(beyond)), 400,
                          "edit '" + name + "=", beyond);
    }
    const json age = edits["attributes"][0];
    ASSERT_EQ(age["name"], "age");
    EXPECT_EQ(age["change_unit"], "years");
    EXPECT_EQ(age["slider"]["unit"], "years");
    EXPECT_EQ(age["limits"], json::parse(R"({"min": -100.0, "max": 100.0})"));
    EXPECT_LE(age["slider"]["max"].get<double>(), 50.0) << "an age slider beyond +50 years leaves what edits do well";

    for (const std::string& edit : {at_slider_min, at_slider_max, at_limits}) {
        const auto face = http->Get("/v1/face.png?seed=3&edit=" + encode_query_value(edit));
        ASSERT_TRUE(face);
        EXPECT_EQ(face->status, 200) << edit << ": " << face->body;
    }
    EXPECT_EQ(edited_server.stop(), 0) << edited_server.log();
}

TEST_F(ServeApiTest, BadRequestsGetJsonErrorsNamingTheValue) {
    auto http = client();
    const std::vector<std::tuple<std::string, int, std::string>> gets = {
        {"/v1/face.png?seed=-1", 400, "seed '-1' is not an integer in 0..4294967295"},
        {"/v1/face.png?seed=4294967296", 400, "seed '4294967296'"},
        {"/v1/face.png?seed=99999999999999999999999999", 400, "seed '9999"},
        {"/v1/face.png?seed=abc", 400, "seed 'abc'"},
        {"/v1/face.png?seed=1&seed=2", 400, "'seed' is given more than once"},
        {"/v1/face.png?psi=nan", 400, "psi 'nan' is not a finite number"},
        {"/v1/face.png?psi=inf", 400, "not a finite number"},
        {"/v1/face.png?psi=1e999", 400, "not a finite number"},
        {"/v1/face.png?psi=2.5", 400, "psi '2.5' is outside 0..2"},
        {"/v1/face.png?psi=-0.1", 400, "outside 0..2"},
        {"/v1/face.png?psi=", 400, "psi '' is not a number"},
        {"/v1/face.png?psi=0.5x", 400, "psi '0.5x' is not a number"},
        {"/v1/face.png?edit=age%3D%2B10", 400, "no attribute directions beside the model"},
        {"/v1/face.png?size=1024", 400, "unknown query parameter 'size'"},
        {"/nope", 404, "no route GET /nope"},
        {"/v1/generate", 405, "method GET is not allowed on /v1/generate (use POST)"},
    };
    for (const auto& [path, status, fragment] : gets) expect_json_error(http->Get(path), status, fragment, "GET " + path);

    std::string too_many = R"({"seeds": [0)";
    for (int i = 1; i < 65; ++i) too_many += "," + std::to_string(i);
    too_many += "]}";
    std::string deep(40, '[');
    deep += std::string(40, ']');
    const std::vector<std::tuple<std::string, std::string, std::string>> posts = {
        {"malformed JSON", R"({"seeds": [1, 2)", "not valid JSON"},
        {"empty body", "", "empty"},
        {"not an object", "[1, 2]", "must be a JSON object"},
        {"number overflow", R"({"seeds": [1e400]})", "not valid JSON"},
        {"huge integer", R"({"seeds": [99999999999999999999999]})", "is not an integer in 0..4294967295"},
        {"seed too large", R"({"seeds": [4294967296]})", "seed '4294967296' is outside 0..4294967295"},
        {"negative seed", R"({"seeds": [-1]})", "seed '-1' is outside"},
        {"fractional seed", R"({"seeds": [1.5]})", "seed '1.5' is not an integer"},
        {"too many seeds", too_many, "65 seeds in one request; at most 64"},
        {"no seeds", R"({"seeds": []})", "'seeds' is empty"},
        {"nothing", "{}", "nothing to generate"},
        {"psi text", R"({"seeds": [1], "psi": "0.5"})", "'psi' must be a number"},
        {"psi range", R"({"seeds": [1], "psi": 3})", "psi 3 is outside 0..2"},
        {"edit", R"({"seeds": [1], "edit": {"smile": 1}})", "'edit' must be a string"},
        {"edit without directions", R"({"seeds": [1], "edit": "age=+10"})", "offers no attribute edits"},
        {"format", R"({"seeds": [1], "format": "png"})", "format '\"png\"' is not supported"},
        {"unknown field", R"({"seeds": [1], "size": 4})", "unknown field 'size'"},
        {"latent space", R"({"latents": {"space": "q", "values": [[1]]}})", "latent space '\"q\"'"},
        {"latent shape", R"({"latents": {"space": "w", "values": [[1, 2]]}})", "w latents of shape [1, 2] do not fit"},
        {"ragged latents", R"({"latents": {"space": "w", "values": [[1, 2], [1]]}})", "not a rectangular array"},
        {"latent overflow", R"({"latents": {"space": "w", "values": [[1e39]]}})", "outside the float32 range"},
        {"both sources", R"({"seeds": [1], "latents": {"space": "z", "values": [[1]]}})", "not both"},
        {"deep nesting", deep, "nests deeper than"},
        {"cutoff", R"({"seeds": [1], "truncation_cutoff": 99})", "truncation cutoff 99 is outside 0.."},
    };
    for (const auto& [what, body, fragment] : posts) {
        expect_json_error(http->Post("/v1/generate", body, "application/json"), 400, fragment, what);
    }
    expect_json_error(http->Post("/v1/face.png", "", "text/plain"), 405, "use GET", "POST face.png");
    // The server still answers.
    const auto health = http->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

TEST_F(ServeApiTest, TenMegabyteBodyIsRefused) {
    const std::string body = R"({"seeds": [1], "pad": ")" + std::string(10'000'000, 'x') + "\"}";
    expect_json_error(client()->Post("/v1/generate", body, "application/json"), 413,
                      "request body larger than 8388608 bytes", "10 MB body");
    const auto health = client()->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

TEST_F(ServeApiTest, PathTraversalIsRefused) {
    for (const std::string target : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/%2E%2E/%2e%2e/etc/passwd",
                                     "/..%2f..%2fetc%2fpasswd", "/v1/face.png/..\\..\\etc\\passwd"}) {
        const RawResult result =
            raw_exchange(server_->port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ASSERT_FALSE(result.response.empty()) << target;
        EXPECT_NE(result.response.find(" 400 "), std::string::npos) << target << ": " << result.response;
        EXPECT_NE(result.response.find("leaves the site root"), std::string::npos) << target;
        EXPECT_EQ(result.response.find("root:"), std::string::npos) << target;
    }
}

TEST_F(ServeApiTest, SilentConnectionsAreClosedWhileOthersAreServed) {
    // --read-timeout-s 1: a client that sends nothing, and one that stops mid-headers.
    std::thread idle([&] {
        const RawResult result = raw_exchange(server_->port(), "", std::chrono::seconds(8));
        EXPECT_TRUE(result.closed) << "idle connection still open after " << result.seconds << " s";
        EXPECT_LT(result.seconds, 4.0);
    });
    std::thread partial([&] {
        const RawResult result = raw_exchange(server_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                              std::chrono::seconds(8));
        EXPECT_TRUE(result.closed) << "half-sent request still open after " << result.seconds << " s";
        EXPECT_LT(result.seconds, 4.0);
        if (!result.response.empty()) {
            EXPECT_NE(result.response.find(" 400 "), std::string::npos) << result.response;
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto start = Clock::now();
    const auto health = client()->Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 1.0);
    idle.join();
    partial.join();
}

TEST_F(ServeApiTest, ConcurrentRequestsAreBatchedAndKeepTheirPixels) {
    auto http = client();
    const double batches_before = metric_value(http->Get("/metrics")->body, "facegen_batch_size_count");
    const double singles_before = metric_value(http->Get("/metrics")->body, "facegen_batch_size_bucket{le=\"1\"}");
    constexpr int kClients = 24;
    std::vector<std::string> bodies(kClients);
    std::vector<int> statuses(kClients, 0);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            auto own = client();
            ++ready;
            while (ready < kClients) std::this_thread::yield();
            const auto result = own->Get("/v1/face.png?seed=" + std::to_string(100 + i) + "&psi=0.8");
            if (result) {
                statuses[static_cast<size_t>(i)] = result->status;
                bodies[static_cast<size_t>(i)] = result->body;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    const std::string metrics = http->Get("/metrics")->body;
    const double batches = metric_value(metrics, "facegen_batch_size_count") - batches_before;
    const double singles = metric_value(metrics, "facegen_batch_size_bucket{le=\"1\"}") - singles_before;
    EXPECT_GT(batches - singles, 0) << "no pass ran more than one image:\n" << metrics;
    EXPECT_LT(batches, kClients) << "as many passes as requests: nothing was batched";
    // Each face equals the same seed's face made alone (a pass of one image).
    for (int i = 0; i < kClients; i += 5) {
        ASSERT_EQ(statuses[static_cast<size_t>(i)], 200) << bodies[static_cast<size_t>(i)];
        const auto alone = http->Get("/v1/face.png?seed=" + std::to_string(100 + i) + "&psi=0.8");
        ASSERT_TRUE(alone);
        EXPECT_EQ(bodies[static_cast<size_t>(i)], alone->body) << "seed " << 100 + i;
    }
}

TEST_F(ServeApiTest, MetricsCountRoutesStatusesAndLatency) {
    auto http = client();
    http->Get("/healthz");
    http->Get("/definitely/not/a/route");
    const auto result = http->Get("/metrics");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
    const std::string& text = result->body;
    EXPECT_GE(metric_value(text, "facegen_http_requests_total{route=\"/healthz\",status=\"200\"}"), 1);
    EXPECT_GE(metric_value(text, "facegen_http_requests_total{route=\"other\",status=\"404\"}"), 1);
    EXPECT_EQ(text.find("definitely"), std::string::npos) << "unknown paths must not become labels";
    EXPECT_GE(metric_value(text, "facegen_http_request_duration_seconds_count{route=\"/healthz\"}"), 1);
    EXPECT_GE(metric_value(text, "facegen_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}"), 1);
    EXPECT_EQ(metric_value(text, "facegen_queue_depth"), 0);
    EXPECT_GT(metric_value(text, "process_resident_memory_bytes"), 0);
    EXPECT_NE(text.find("# TYPE facegen_batch_size histogram"), std::string::npos);
}

TEST_F(ServeApiTest, FullQueueAnswers503AndTheServerRecovers) {
    test::ServeProcess busy("--model " + quote(model_path()) +
                            " --threads 1 --max-batch 1 --batch-wait-ms 0 --queue 1 --max-wait-ms 0 --http-threads 8");
    constexpr int kClients = 8;
    std::vector<std::unique_ptr<httplib::Client>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(client(busy.port()));
    std::string seeds = "0";
    for (int i = 1; i < 64; ++i) seeds += "," + std::to_string(i);
    std::vector<int> statuses(kClients, 0);
    std::vector<std::string> retry_after(kClients), bodies(kClients);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            ++ready;
            while (ready < kClients) std::this_thread::yield();
            const auto result = clients[static_cast<size_t>(i)]->Post(
                "/v1/generate", R"({"seeds": [)" + seeds + "]}", "application/json");
            if (!result) return;
            statuses[static_cast<size_t>(i)] = result->status;
            retry_after[static_cast<size_t>(i)] = result->get_header_value("Retry-After");
            bodies[static_cast<size_t>(i)] = result->body;
        });
    }
    for (auto& thread : threads) thread.join();
    int n_ok = 0;
    int n_busy = 0;
    for (int i = 0; i < kClients; ++i) {
        if (statuses[static_cast<size_t>(i)] == 200) ++n_ok;
        if (statuses[static_cast<size_t>(i)] == 503) {
            ++n_busy;
            EXPECT_EQ(retry_after[static_cast<size_t>(i)], "1");
            EXPECT_NE(bodies[static_cast<size_t>(i)].find("queue is full (1 requests waiting)"), std::string::npos)
                << bodies[static_cast<size_t>(i)];
        }
    }
    EXPECT_EQ(n_ok + n_busy, kClients) << "every request is answered 200 or 503";
    EXPECT_GE(n_ok, 1);
    EXPECT_GE(n_busy, 1) << "8 requests of 64 images each against a queue of 1";
    auto http = client(busy.port());
    const auto face = http->Get("/v1/face.png?seed=1");
    ASSERT_TRUE(face);
    EXPECT_EQ(face->status, 200) << "the server does not recover after refusing";
    EXPECT_GE(metric_value(http->Get("/metrics")->body,
                           "facegen_http_requests_total{route=\"/v1/generate\",status=\"503\"}"),
              1);
    EXPECT_EQ(busy.stop(), 0) << busy.log();
}

// Connections beyond --http-threads are answered at once, not left waiting: what needs
// the model gets 503 with Retry-After, cheap routes their answer, and the connection ends
// (Connection: close), so that the threads that shed keep up.
TEST_F(ServeApiTest, ConnectionsBeyondTheHttpThreadsGetA503AtOnce) {
    test::ServeProcess small("--model " + quote(model_path()) + " --threads 1 --http-threads 2 --read-timeout-s 20");
    {
        IdleConnection first(small.port()), second(small.port());
        ASSERT_TRUE(first.connected() && second.connected());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both accepted, both threads taken
        auto http = client(small.port());
        const auto start = Clock::now();
        const auto face = http->Get("/v1/face.png?seed=1");
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        expect_json_error(face, 503, "server busy: all 2 HTTP threads are answering other connections", "face.png");
        EXPECT_EQ(face->get_header_value("Retry-After"), "1");
        EXPECT_EQ(face->get_header_value("Connection"), "close");
        EXPECT_FALSE(face->has_header("Keep-Alive"));
        EXPECT_LT(seconds, 2.0) << "the refusal was not immediate";
        expect_json_error(http->Post("/v1/generate", R"({"seeds": [1]})", "application/json"), 503, "server busy",
                          "generate");
        const auto health = http->Get("/healthz");
        ASSERT_TRUE(health);
        EXPECT_EQ(health->status, 200) << "cheap routes are answered even when shedding";
        EXPECT_EQ(health->get_header_value("Connection"), "close");
    }
    // The idle connections are gone: served again, and the refusals were counted.
    auto http = client(small.port());
    std::optional<int> status;
    for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
        const auto face = http->Get("/v1/face.png?seed=1");
        if (face) status = face->status;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(status, 200) << "the server does not serve again once its threads are free";
    EXPECT_GE(metric_value(http->Get("/metrics")->body,
                           "facegen_http_requests_total{route=\"/v1/face.png\",status=\"503\"}"),
              1);
    EXPECT_EQ(small.stop(), 0) << small.log();
}

TEST_F(ServeApiTest, AddressInUseAndBadFlagsFail) {
    const auto in_use = test::run_command(quote(test::facegen_binary()) + " serve --model " + quote(model_path()) +
                                          " --port " + std::to_string(server_->port()));
    EXPECT_EQ(in_use.exit_code, 1);
    EXPECT_NE(in_use.err.find("cannot listen on 127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
        << in_use.err;
    EXPECT_TRUE(in_use.out.empty()) << in_use.out;

    const auto bad = test::run_command(quote(test::facegen_binary()) + " serve --max-batch 0");
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.err.find("bad --max-batch 0"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace facegen
