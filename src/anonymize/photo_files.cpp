#include "anonymize/photo_files.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <vector>

#include "anonymize/labelled_photo.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace facegen::anonymize {
namespace {

namespace fs = std::filesystem;

std::string lower_extension(const fs::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

bool same_format(data::ImageFormat input, PhotoFormat output) {
    return (input == data::ImageFormat::kPNG && output == PhotoFormat::kPNG) ||
           (input == data::ImageFormat::kJPEG && output == PhotoFormat::kJPEG);
}

fs::path output_name(const fs::path& input, const std::string& format) {
    if (format == "png") return input.stem().string() + ".png";
    if (format == "jpg") return input.stem().string() + ".jpg";
    if (lower_extension(input) == ".webp") return input.stem().string() + ".png";  // no WebP encoder here
    return input.filename();
}

/// libjpeg decodes a JPEG cut short with a warning and grey rows: a photo that is half
/// missing would be anonymised and written as if whole. Entropy-coded data never holds
/// FF D9 (FF is stuffed as FF 00), so a complete JPEG has its EOI marker after the last SOS.
void check_jpeg_complete(const std::string& bytes, const fs::path& name) {
    const size_t last_scan = bytes.rfind("\xFF\xDA");
    const size_t end = bytes.rfind("\xFF\xD9");
    if (last_scan == std::string::npos || end == std::string::npos || end < last_scan) {
        throw make_error("photo '", name.string(), "' is truncated: its JPEG data ends before the end-of-image marker");
    }
}

/// A report from an earlier run that finished this photo.
bool finished_before(const fs::path& output, const fs::path& report) {
    if (!fs::exists(output) || !fs::exists(report)) return false;
    try {
        return !nlohmann::json::parse(core::read_file(report)).contains("error");
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

nlohmann::json anonymize_file(Anonymizer& anonymizer, const fs::path& input, const fs::path& output,
                              const fs::path& report, const FileOptions& options) {
    const PhotoFormat format = format_for_path(output);
    if (!options.overwrite && fs::exists(output)) {
        throw make_error("output '", output.string(), "' already exists (overwriting was not asked for)");
    }
    if (fs::exists(input) && fs::exists(output) && fs::equivalent(input, output)) {
        throw make_error("output '", output.string(), "' is the input photo itself");
    }
    const std::string bytes = core::read_file(input);
    const data::DecodedImage decoded = data::decode_image(bytes, input.string());
    if (decoded.format == data::ImageFormat::kJPEG) check_jpeg_complete(bytes, input);
    const AnonymizedPhoto result = anonymizer.anonymize(decoded.image, input.string());

    nlohmann::json out = to_json(result);
    out["file"] = input.string();
    out["output"] = output.string();
    out["input_format"] = data::to_string(decoded.format);
    if (!decoded.notes.empty()) out["input_conversions"] = decoded.notes;
    if (result.unchanged()) {
        out["note"] = result.faces.empty() ? "no face found: the output is the input"
                                           : "no face replaced or blurred: the output is the input";
        if (same_format(decoded.format, format) && decoded.exif_orientation == 1) {
            core::write_file_atomically(output, bytes);
            out["labels"] = "none (the input's own bytes)";
        } else {
            core::write_file_atomically(output, format == PhotoFormat::kPNG ? data::encode_png(result.image)
                                                                           : data::encode_jpeg(result.image, options.jpeg_quality));
            out["labels"] = "none (nothing generated in it)";
        }
    } else {
        const provenance::ImageProvenance info = anonymizer.provenance_for(result.n_replaced());
        core::write_file_atomically(output, encode_labelled_photo(result.image, format, info, options.jpeg_quality));
        out["labels"] = format == PhotoFormat::kPNG
                            ? "PNG text and XMP: IPTC DigitalSourceType compositeWithTrainedAlgorithmicMedia"
                            : "JPEG APP1 XMP (IPTC DigitalSourceType compositeWithTrainedAlgorithmicMedia) and COM "
                              "description; re-encoded at quality " + std::to_string(options.jpeg_quality) +
                                  ", so pixels outside the faces carry JPEG error";
        out["watermark"] = info.watermark;
    }
    if (!report.empty()) core::write_file_atomically(report, out.dump(2) + "\n");
    return out;
}

nlohmann::json to_json(const FolderSummary& s) {
    return {{"photos", s.n_photos},
            {"done", s.n_done},
            {"resumed", s.n_resumed},
            {"failed", s.n_failed},
            {"faces_replaced", s.n_faces_replaced},
            {"faces_blurred", s.n_faces_blurred},
            {"faces_kept", s.n_faces_kept},
            {"photos_without_faces", s.n_without_faces},
            {"seconds", s.seconds},
            {"seconds_per_photo", s.n_done > 0 ? s.seconds / static_cast<double>(s.n_done) : 0.0}};
}

FolderSummary anonymize_folder(Anonymizer& anonymizer, const fs::path& input_folder, const fs::path& output_folder,
                               const FileOptions& options, const core::ProgressCallback& progress) {
    if (!fs::is_directory(input_folder)) throw make_error("input folder '", input_folder.string(), "' is not a folder");
    if (fs::exists(output_folder) && fs::equivalent(input_folder, output_folder)) {
        throw make_error("output folder '", output_folder.string(), "' is the input folder");
    }
    std::vector<fs::path> photos;
    for (const auto& entry : fs::directory_iterator(input_folder)) {
        const std::string ext = lower_extension(entry.path());
        if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp")) {
            photos.push_back(entry.path());
        }
    }
    std::sort(photos.begin(), photos.end());
    fs::create_directories(output_folder);
    FolderSummary summary;
    summary.n_photos = static_cast<int64_t>(photos.size());
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < photos.size(); ++i) {
        const fs::path output = output_folder / output_name(photos[i], options.format);
        const fs::path report = output_folder / (photos[i].stem().string() + ".json");
        if (!options.overwrite && finished_before(output, report)) {
            ++summary.n_resumed;
        } else {
            try {
                FileOptions each = options;
                each.overwrite = true;  // an output without a finished report is this run's to redo
                if (!options.overwrite && fs::exists(output) && !fs::exists(report)) {
                    throw make_error("output '", output.string(), "' already exists and no report says it was made here");
                }
                const nlohmann::json line = anonymize_file(anonymizer, photos[i], output, report, each);
                ++summary.n_done;
                summary.n_faces_replaced += line["faces_replaced"].get<int64_t>();
                summary.n_faces_blurred += line["faces_blurred"].get<int64_t>();
                summary.n_faces_kept += line["faces_kept"].get<int64_t>();
                if (line["faces_found"].get<int64_t>() == 0) ++summary.n_without_faces;
            } catch (const Error& e) {
                ++summary.n_failed;
                core::write_file_atomically(report, nlohmann::json({{"file", photos[i].string()}, {"error", e.what()}}).dump(2) + "\n");
            }
        }
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (progress) {
            progress({"photo", static_cast<double>(i + 1), static_cast<double>(photos.size()),
                      {{"replaced", static_cast<double>(summary.n_faces_replaced)},
                       {"failed", static_cast<double>(summary.n_failed)}}});
        }
    }
    return summary;
}

}  // namespace facegen::anonymize
