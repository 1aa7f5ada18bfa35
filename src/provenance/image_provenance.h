#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/png_io.h"
#include "provenance/watermark.h"

namespace facegen::provenance {

/// IPTC NewsCodes "Digital Source Type" for media created by a trained model from no
/// real capture (https://cv.iptc.org/newscodes/digitalsourcetype/).
inline constexpr const char* kDigitalSourceTypeTrainedAlgorithmic =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
/// The same vocabulary's type for a real capture with parts made by a trained model
/// (anonymised photos: real scene, generated faces).
inline constexpr const char* kDigitalSourceTypeCompositeTrainedAlgorithmic =
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";

/// What a generated image records about how it was made.
struct ImageProvenance {
    std::string model_id;
    std::string license;
    std::optional<uint32_t> seed;           // absent for images from latents
    std::optional<int64_t> latent_index;    // row of the latents array, when used
    std::string latent_space;               // "z", "w" or "ws"
    double truncation_psi = 1.0;
    std::optional<int64_t> truncation_cutoff;  // absent = all layers
    std::string noise_mode;
    std::string software_version;           // facegen::kVersion
    std::optional<int64_t> n_images;        // for grids: how many images it shows
    /// Attribute edits applied to the latent ("age=+20,smiling=+1 along directions <id>"),
    /// "" = none. An edited face is still generated, and says how.
    std::string edit;
    /// What of a real photo was replaced by generated content ("2 faces replaced by people
    /// who do not exist"); "" = the whole image is generated. When set, the image is
    /// labelled a composite (kDigitalSourceTypeCompositeTrainedAlgorithmic).
    std::string composite;
    /// Embed the invisible watermark (watermark.h) carrying the model id when the image is
    /// encoded (labelled_png.h). On unless asked otherwise (generate --no-watermark); images
    /// under kWatermarkMinSide pixels a side cannot carry it and are labelled "none".
    bool watermark = true;
};

/// The watermark payload an image of `info` carries: the first 32 bits of its model id, or
/// prefix 0 when the model has no id yet (training previews). Throws facegen::Error naming
/// a malformed model id.
WatermarkPayload watermark_payload_for(const ImageProvenance& info);

/// An XMP packet (RDF/XML) that labels the image AI-generated for readers such as
/// exiftool: Iptc4xmpExt:DigitalSourceType = trainedAlgorithmicMedia, xmp:CreatorTool,
/// dc:description and dc:rights (the model's licence). Deterministic: no timestamps, so
/// the same seed gives the same file bytes.
std::string make_xmp_packet(const ImageProvenance& info);

/// PNG text chunks for a generated image: "Software", "Description", "Copyright"
/// (licence), "facegen:*" keys (model id, seed, psi, cutoff, noise mode, version, and
/// "facegen:watermark": the payload the pixels carry, or "none") and the XMP packet under
/// "XML:com.adobe.xmp" (iTXt, uncompressed, as the XMP spec requires).
std::vector<core::PngText> png_text_for(const ImageProvenance& info);

}  // namespace facegen::provenance
