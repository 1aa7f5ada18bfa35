#include "provenance/image_provenance.h"

#include <sstream>

namespace facegen::provenance {
namespace {

std::string xml_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                // XML 1.0 forbids most control characters.
                if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\n' || ch == '\t') out += ch;
        }
    }
    return out;
}

std::string format_double(double value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}

std::string description_of(const ImageProvenance& info) {
    if (!info.composite.empty()) {
        return "Photo edited with AI-generated content: " + info.composite + ", made by facegen (StyleGAN2) model " +
               (info.model_id.empty() ? std::string("unknown") : info.model_id) + ".";
    }
    std::string text = info.n_images ? "Grid of AI-generated images of people who do not exist"
                                     : "AI-generated image of a person who does not exist";
    text += ", made by facegen (StyleGAN2) model " + (info.model_id.empty() ? std::string("unknown") : info.model_id);
    if (info.seed) text += " from seed " + std::to_string(*info.seed);
    if (!info.edit.empty()) text += ", edited: " + info.edit;
    return text + ".";
}

std::string lang_alt(const std::string& tag, const std::string& text) {
    return "   <" + tag + ">\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">" + xml_escape(text) +
           "</rdf:li>\n    </rdf:Alt>\n   </" + tag + ">\n";
}

}  // namespace

WatermarkPayload watermark_payload_for(const ImageProvenance& info) {
    return info.model_id.empty() ? watermark_payload(0) : payload_for_model(info.model_id);
}

std::string make_xmp_packet(const ImageProvenance& info) {
    std::ostringstream xmp;
    xmp << "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        << "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        << " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
        << "  <rdf:Description rdf:about=\"\"\n"
        << "    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n"
        << "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
        << "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        << "    Iptc4xmpExt:DigitalSourceType=\""
        << (info.composite.empty() ? kDigitalSourceTypeTrainedAlgorithmic : kDigitalSourceTypeCompositeTrainedAlgorithmic)
        << "\"\n"
        << "    xmp:CreatorTool=\"facegen " << xml_escape(info.software_version) << "\">\n"
        << lang_alt("dc:description", description_of(info));
    if (!info.license.empty()) xmp << lang_alt("dc:rights", info.license);
    xmp << "  </rdf:Description>\n"
        << " </rdf:RDF>\n"
        << "</x:xmpmeta>\n"
        << "<?xpacket end=\"r\"?>";
    return xmp.str();
}

std::vector<core::PngText> png_text_for(const ImageProvenance& info) {
    std::vector<core::PngText> texts;
    texts.push_back({"Software", "facegen " + info.software_version});
    texts.push_back({"Description", description_of(info)});
    if (!info.license.empty()) texts.push_back({"Copyright", info.license});
    texts.push_back({"facegen:model_id", info.model_id});
    if (!info.license.empty()) texts.push_back({"facegen:license", info.license});
    if (info.seed) texts.push_back({"facegen:seed", std::to_string(*info.seed)});
    if (info.latent_index) texts.push_back({"facegen:latent_index", std::to_string(*info.latent_index)});
    if (!info.latent_space.empty()) texts.push_back({"facegen:latent_space", info.latent_space});
    if (info.n_images) texts.push_back({"facegen:n_images", std::to_string(*info.n_images)});
    texts.push_back({"facegen:truncation_psi", format_double(info.truncation_psi)});
    texts.push_back({"facegen:truncation_cutoff",
                     info.truncation_cutoff ? std::to_string(*info.truncation_cutoff) : std::string("none")});
    texts.push_back({"facegen:noise_mode", info.noise_mode});
    if (!info.edit.empty()) texts.push_back({"facegen:edit", info.edit});
    if (!info.composite.empty()) texts.push_back({"facegen:composite", info.composite});
    texts.push_back({"facegen:version", info.software_version});
    texts.push_back({"facegen:watermark", info.watermark ? to_string(watermark_payload_for(info)) : "none"});
    texts.push_back({"XML:com.adobe.xmp", make_xmp_packet(info), /*force_itxt=*/true});
    return texts;
}

}  // namespace facegen::provenance
