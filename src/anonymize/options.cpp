#include "anonymize/options.h"

#include <sstream>

#include "core/error.h"

namespace facegen::anonymize {

std::string to_string(Fallback fallback) { return fallback == Fallback::kBlur ? "blur" : "keep"; }

Fallback parse_fallback(const std::string& text) {
    if (text == "blur") return Fallback::kBlur;
    if (text == "keep") return Fallback::kKeep;
    throw make_error("unknown fallback '", text, "' (expected blur or keep)");
}

void AnonymizeOptions::validate() const {
    if (pool_size < 1 || pool_size > 100000) throw make_error("pool size ", pool_size, " is out of range 1 .. 100000");
    if (!(truncation_psi > 0 && truncation_psi <= 1.5)) throw make_error("truncation psi ", truncation_psi, " is out of range (0, 1.5]");
    if (!(crop_scale > 0.1 && crop_scale <= 2.0)) throw make_error("crop scale ", crop_scale, " is out of range (0.1, 2]");
    if (!(min_identity_distance >= 0 && min_identity_distance <= 2)) {
        throw make_error("minimum identity distance ", min_identity_distance, " is out of range 0 .. 2");
    }
    if (!(min_face_px >= 8)) throw make_error("minimum face size ", min_face_px, " px is below 8");
    if (!(max_pose_degrees > 0 && max_pose_degrees <= 90)) throw make_error("maximum pose ", max_pose_degrees, " degrees is out of range (0, 90]");
    if (max_pixels < 64 * 64) throw make_error("pixel limit ", max_pixels, " is below 4096");
    if (max_tries < 1) throw make_error("tries per face ", max_tries, " is below 1");
}

std::string AnonymizeOptions::to_string() const {
    std::ostringstream out;
    out << "pool_size=" << pool_size << " pool_first_seed=" << pool_first_seed << " truncation_psi=" << truncation_psi
        << " crop_scale=" << crop_scale << " min_identity_distance=" << min_identity_distance
        << " min_face_px=" << min_face_px << " max_pose_degrees=" << max_pose_degrees
        << " fallback=" << anonymize::to_string(fallback) << " max_pixels=" << max_pixels << " max_tries=" << max_tries
        << " verify=" << (verify ? "true" : "false") << " watermark=" << (watermark ? "true" : "false");
    return out.str();
}

}  // namespace facegen::anonymize
