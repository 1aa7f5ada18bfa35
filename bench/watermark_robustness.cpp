// watermark_robustness: the watermark's figures as one JSON document on stdout (progress on
// stderr): PSNR of the mark on generated faces, per attack the share of marks found and the
// payload bit accuracy, false positives on unmarked real photos (at their own size and
// area-resized to 64x64, facegen's size) and on unmarked faces, and embed/read time.
//
//   build/bin/watermark_robustness --faces 400 --photos 4000 --data ../shared/data
//   build/bin/watermark_robustness --faces 60 --photos 0 --size 128   # faces upscaled to 128 px
//
// Asserts nothing: tests/unit/provenance_watermark_test.cpp holds the floors.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "bench_main.h"
#include "generate/bundled_model.h"
#include "core/error.h"
#include "core/summary.h"
#include "provenance/watermark.h"
#include "watermark_attacks.h"
#include "watermark_images.h"

namespace {

namespace fs = std::filesystem;
using facegen::test::Image8;
using namespace facegen::provenance;
using Clock = std::chrono::steady_clock;

struct BenchParams {
    int faces = 200;
    int photos = 2000;
    std::string data = "../shared/data";
    std::string model;  // "" = the bundled model
    int threads = 2;
    int large_faces = 10;  // faces also marked at 256 and 1024 pixels
    int size = 0;          // faces resized (bilinear) to this size before marking; 0 = as generated

    void validate() const {
        if (faces < 1) throw facegen::make_error("bad --faces ", faces, ": expected 1 or more");
        if (photos < 0) throw facegen::make_error("bad --photos ", photos, ": expected 0 or more");
        if (threads < 1) throw facegen::make_error("bad --threads ", threads, ": expected 1 or more");
        if (large_faces < 0 || large_faces > faces) throw facegen::make_error("bad --large-faces ", large_faces, ": expected 0..--faces");
        if (size != 0 && (size < kWatermarkMinSide || size > 4096)) throw facegen::make_error("bad --size ", size, ": expected 0 or ", kWatermarkMinSide, "..4096");
    }
};

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

/// Runs body(i) for i in [0, n) on `threads` threads, printing progress to stderr.
void parallel_for(int n, int threads, const char* what, const std::function<void(int)>& body) {
    std::atomic<int> next{0}, done{0};
    std::mutex print;
    auto worker = [&] {
        for (int i = next++; i < n; i = next++) {
            body(i);
            const int d = ++done;
            if (d % 50 == 0 || d == n) {
                std::lock_guard<std::mutex> lock(print);
                std::fprintf(stderr, "\r%s: %d/%d", what, d, n);
                if (d == n) std::fprintf(stderr, "\n");
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
}

nlohmann::json summary(std::vector<double> values) {
    if (values.empty()) return nullptr;
    const facegen::core::Summary s = facegen::core::summarize(std::move(values));
    return {{"mean", s.mean}, {"min", s.min}, {"p10", s.p10}, {"median", s.median}, {"max", s.max}};
}

WatermarkPayload face_payload(const WatermarkPayload& model_payload, int i) {
    // The model's payload with the prefix varied per face, so every bit is exercised.
    return watermark_payload(model_payload.model_prefix() ^ (0x9e3779b9u * static_cast<uint32_t>(i)));
}

int payload_bits_right(const WatermarkPayload& a, const WatermarkPayload& b) {
    return kWatermarkPayloadBits - __builtin_popcountll((a.bits ^ b.bits) & ((1ull << kWatermarkPayloadBits) - 1));
}

struct AttackTally {
    int found = 0;          // found with the right payload
    int wrong_payload = 0;  // found with a wrong payload (a false positive of the decoder)
    long bits_right = 0;
    long bit_errors = 0;
    double score_sum = 0;
};

nlohmann::json run_faces(const BenchParams& params, const std::vector<Image8>& faces, const WatermarkPayload& model_payload,
                         std::vector<double>& embed_ms, std::vector<double>& read_ms) {
    const auto& attacks = facegen::test::standard_attacks();
    std::vector<AttackTally> tallies(attacks.size());
    std::vector<double> psnr(faces.size());
    std::vector<double> embed(faces.size()), read_time(faces.size());
    std::mutex mutex;
    parallel_for(static_cast<int>(faces.size()), params.threads, "faces", [&](int i) {
        Image8 image = faces[static_cast<size_t>(i)];
        const WatermarkPayload payload = face_payload(model_payload, i);
        const auto start = Clock::now();
        embed_watermark(image.data(), image.width, image.height, image.channels, payload);
        embed[static_cast<size_t>(i)] = ms_since(start);
        psnr[static_cast<size_t>(i)] = facegen::test::psnr(faces[static_cast<size_t>(i)], image);
        std::vector<AttackTally> mine(attacks.size());
        for (size_t a = 0; a < attacks.size(); ++a) {
            if (attacks[a].needs_jpeg && !facegen::test::jpeg_available()) continue;
            const Image8 attacked = attacks[a].apply(image);
            const auto read_start = Clock::now();
            const WatermarkReading r = read_watermark(attacked.data(), attacked.width, attacked.height, attacked.channels);
            if (a == 0) read_time[static_cast<size_t>(i)] = ms_since(read_start);
            AttackTally& t = mine[a];
            if (r.found) (r.payload == payload ? t.found : t.wrong_payload) += 1;
            t.bits_right += payload_bits_right(r.payload, payload);
            t.bit_errors += r.bit_errors;
            t.score_sum += r.score;
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (size_t a = 0; a < attacks.size(); ++a) {
            tallies[a].found += mine[a].found;
            tallies[a].wrong_payload += mine[a].wrong_payload;
            tallies[a].bits_right += mine[a].bits_right;
            tallies[a].bit_errors += mine[a].bit_errors;
            tallies[a].score_sum += mine[a].score_sum;
        }
    });
    embed_ms.insert(embed_ms.end(), embed.begin(), embed.end());
    read_ms.insert(read_ms.end(), read_time.begin(), read_time.end());
    const auto n = static_cast<double>(faces.size());
    nlohmann::json out;
    out["psnr_db"] = summary(psnr);
    for (size_t a = 0; a < attacks.size(); ++a) {
        if (attacks[a].needs_jpeg && !facegen::test::jpeg_available()) continue;
        const AttackTally& t = tallies[a];
        out["attacks"].push_back({{"name", attacks[a].name},
                                  {"found_rate", t.found / n},
                                  {"wrong_payload", t.wrong_payload},
                                  {"payload_bit_accuracy", static_cast<double>(t.bits_right) / (n * kWatermarkPayloadBits)},
                                  {"mean_coded_bit_errors", static_cast<double>(t.bit_errors) / n},
                                  {"mean_score", t.score_sum / n}});
    }
    return out;
}

/// Marks a few faces upscaled to facegen's larger sizes; reads them as they are and after JPEG.
nlohmann::json run_large(const BenchParams& params, const std::vector<Image8>& faces, const WatermarkPayload& model_payload) {
    nlohmann::json out = nlohmann::json::array();
    for (int64_t size : {256, 1024}) {
        int clean = 0, jpeg = 0, half = 0;
        std::vector<double> psnr, embed, read;
        for (int i = 0; i < params.large_faces; ++i) {
            const Image8 original = facegen::test::resize_bilinear(faces[static_cast<size_t>(i)], size, size);
            Image8 image = original;
            const WatermarkPayload payload = face_payload(model_payload, i);
            auto start = Clock::now();
            embed_watermark(image.data(), size, size, 3, payload);
            embed.push_back(ms_since(start));
            psnr.push_back(facegen::test::psnr(original, image));
            start = Clock::now();
            const WatermarkReading r = read_watermark(image.data(), size, size, 3);
            read.push_back(ms_since(start));
            clean += r.found && r.payload == payload;
            if (facegen::test::jpeg_available()) {
                const Image8 j = facegen::test::jpeg_round_trip(image, 75);
                const WatermarkReading rj = read_watermark(j.data(), size, size, 3);
                jpeg += rj.found && rj.payload == payload;
            }
            const Image8 small = facegen::test::resize_area(image, 64, 64);  // a thumbnail at facegen's smallest size
            const WatermarkReading rs = read_watermark(small.data(), 64, 64, 3);
            half += rs.found && rs.payload == payload;
        }
        const auto n = static_cast<double>(params.large_faces);
        out.push_back({{"size", size}, {"faces", params.large_faces}, {"psnr_db", summary(psnr)}, {"found_rate_clean", clean / n},
                       {"found_rate_jpeg_q75", facegen::test::jpeg_available() ? nlohmann::json(jpeg / n) : nlohmann::json(nullptr)},
                       {"found_rate_thumbnail_64", half / n}, {"embed_ms", summary(embed)}, {"read_ms", summary(read)}});
        std::fprintf(stderr, "large faces %lldpx done\n", static_cast<long long>(size));
    }
    return out;
}

/// False positives: how many unmarked images a reader reports as marked, and how close the
/// highest scores come to the threshold.
struct FalsePositives {
    int images = 0;
    int found = 0;
    std::vector<double> scores;

    nlohmann::json to_json() const {
        std::vector<int> histogram(static_cast<size_t>(kWatermarkMinScore) + 1, 0);  // [0,1), ..., [6, inf)
        for (double s : scores) histogram[std::min(histogram.size() - 1, static_cast<size_t>(s))] += 1;
        return {{"images", images}, {"found", found}, {"score", summary(scores)}, {"score_histogram_unit_bins", histogram}};
    }
};

void count(FalsePositives& fp, std::mutex& mutex, const Image8& image) {
    const WatermarkReading r = read_watermark(image.data(), image.width, image.height, image.channels);
    std::lock_guard<std::mutex> lock(mutex);
    fp.images += 1;
    fp.found += r.found;
    fp.scores.push_back(r.score);
}

nlohmann::json run_photos(const BenchParams& params, std::vector<double>& read_ms_64) {
    nlohmann::json out;
    const fs::path folder = params.data;
    if (params.photos == 0) return out;
    if (!facegen::test::photo_decoding_available()) {
        out["skipped"] = "built without the dataset tools";
        return out;
    }
    if (!fs::is_directory(folder)) {
        out["skipped"] = "no folder '" + folder.string() + "'";
        return out;
    }
    const std::vector<fs::path> all = facegen::test::list_photos(folder);
    const size_t n = std::min(all.size(), static_cast<size_t>(params.photos));
    FalsePositives native, small;
    std::mutex mutex;
    std::vector<double> read_64(n, 0.0);
    parallel_for(static_cast<int>(n), params.threads, "photos", [&](int i) {
        const fs::path& path = all[static_cast<size_t>(i) * all.size() / n];  // evenly spread over every set
        Image8 photo;
        try {
            photo = facegen::test::load_photo(path);
        } catch (const facegen::Error& e) {
            std::fprintf(stderr, "\nskipping %s\n", e.what());
            return;
        }
        if (photo.width < kWatermarkMinSide || photo.height < kWatermarkMinSide) return;
        count(native, mutex, photo);
        const Image8 thumb = facegen::test::resize_area(photo, 64, 64);
        const auto start = Clock::now();
        count(small, mutex, thumb);
        read_64[static_cast<size_t>(i)] = ms_since(start);
    });
    read_ms_64 = read_64;
    out["folder"] = folder.string();
    out["photos_available"] = all.size();
    out["at_own_size"] = native.to_json();
    out["area_resized_to_64"] = small.to_json();
    return out;
}

nlohmann::json run_unmarked_faces(const BenchParams& params, const std::vector<Image8>& faces) {
    FalsePositives fp;
    std::mutex mutex;
    parallel_for(static_cast<int>(faces.size()), params.threads, "unmarked faces", [&](int i) { count(fp, mutex, faces[static_cast<size_t>(i)]); });
    return fp.to_json();
}

void run(const BenchParams& params, const std::string& command_line) {
    params.validate();
    const fs::path model = params.model.empty() ? facegen::generate::find_bundled_model() : fs::path(params.model);
    std::fprintf(stderr, "watermark_robustness: faces=%d photos=%d data=%s model=%s threads=%d large_faces=%d\n", params.faces,
                 params.photos, params.data.c_str(), model.c_str(), params.threads, params.large_faces);
    std::vector<uint32_t> seeds(static_cast<size_t>(params.faces));
    std::iota(seeds.begin(), seeds.end(), 0u);
    std::string model_id;
    std::vector<Image8> faces = facegen::test::generate_faces(model, seeds, &model_id);
    if (params.size != 0) {
        for (Image8& face : faces) face = facegen::test::resize_bilinear(face, params.size, params.size);
    }
    const WatermarkPayload model_payload = payload_for_model(model_id);
    std::fprintf(stderr, "generated %zu faces (model %s)\n", faces.size(), model_id.c_str());

    std::vector<double> embed_ms, read_ms, read_ms_photos;
    nlohmann::json doc;
    doc["command"] = command_line;
    doc["model"] = {{"file", model.string()}, {"id", model_id}, {"payload", to_string(model_payload)}};
    doc["faces"] = params.faces;
    doc["face_size"] = faces.front().width;
    doc["found_threshold"] = {{"score", kWatermarkMinScore}, {"false_alarm_bound_per_image", std::pow(10.0, -kWatermarkMinScore)}};
    const nlohmann::json marked = run_faces(params, faces, model_payload, embed_ms, read_ms);
    doc["psnr_db"] = marked["psnr_db"];
    doc["attacks"] = marked["attacks"];
    doc["larger_sizes"] = run_large(params, faces, model_payload);
    doc["false_positives"]["unmarked_faces"] = run_unmarked_faces(params, faces);
    doc["false_positives"]["real_photos"] = run_photos(params, read_ms_photos);
    doc["time_ms"] = {{"face_size", faces.front().width}, {"embed", summary(embed_ms)}, {"read_marked", summary(read_ms)}, {"read_unmarked_photo", summary(read_ms_photos)}};
    std::printf("%s\n", doc.dump(2).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    BenchParams params;
    CLI::App app{"Watermark figures: PSNR, survival of attacks, false positives on real photos, speed (JSON on stdout)"};
    app.add_option("--faces", params.faces, "Generated faces to mark (seeds 0..N-1)")->capture_default_str();
    app.add_option("--photos", params.photos, "Unmarked real photos to search for marks (0 = none)")->capture_default_str();
    app.add_option("--data", params.data, "Folder of real photos (searched recursively)")->capture_default_str();
    app.add_option("--model", params.model, "Model file; default: $FACEGEN_MODEL, else the bundled model");
    app.add_option("--threads", params.threads, "Worker threads")->capture_default_str();
    app.add_option("--large-faces", params.large_faces, "Faces also marked at 256 and 1024 pixels")->capture_default_str();
    app.add_option("--size", params.size, "Resize the faces (bilinear) to this size before marking; 0 = as generated")->capture_default_str();
    return facegen::bench::run_bench_main(app, argc, argv, [&](const std::string& command_line) { run(params, command_line); });
}
