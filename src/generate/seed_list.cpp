#include "generate/seed_list.h"

#include <cctype>
#include <limits>
#include <unordered_set>

#include "core/error.h"

namespace facegen::generate {
namespace {

std::string trim(const std::string& text) {
    size_t begin = 0, end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return text.substr(begin, end - begin);
}

uint32_t parse_seed(const std::string& item, const std::string& list) {
    const std::string digits = trim(item);
    constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
    bool ok = !digits.empty() && digits.size() <= 10;
    uint64_t value = 0;
    for (char ch : digits) {
        if (!std::isdigit(static_cast<unsigned char>(ch))) { ok = false; break; }
        value = value * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (!ok || value > kMax) {
        throw make_error("bad seed '", digits, "' in seed list '", list,
                         "': seeds are integers 0..4294967295, lists look like '1-8,42'");
    }
    return static_cast<uint32_t>(value);
}

}  // namespace

std::vector<uint32_t> parse_seed_list(const std::string& text) {
    if (trim(text).empty()) throw make_error("empty seed list: give seeds like '1-8,42'");
    std::vector<uint32_t> seeds;
    std::unordered_set<uint32_t> seen;
    auto add = [&](uint32_t seed) {
        if (!seen.insert(seed).second) {
            throw make_error("seed ", seed, " appears twice in seed list '", text, "'");
        }
        if (static_cast<int64_t>(seeds.size()) >= kMaxSeedCount) {
            throw make_error("seed list '", text, "' has more than ", kMaxSeedCount, " seeds");
        }
        seeds.push_back(seed);
    };
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (item.empty()) throw make_error("empty item in seed list '", text, "'");
        // A leading '-' is a negative number, not a range.
        const size_t dash = item.find('-', 1);
        if (dash == std::string::npos) {
            add(parse_seed(item, text));
        } else {
            const uint32_t first = parse_seed(item.substr(0, dash), text);
            const uint32_t last = parse_seed(item.substr(dash + 1), text);
            if (first > last) {
                throw make_error("bad range '", item, "' in seed list '", text, "': start ", first,
                                 " is greater than end ", last);
            }
            if (static_cast<int64_t>(last) - first >= kMaxSeedCount) {
                throw make_error("seed list '", text, "' has more than ", kMaxSeedCount, " seeds");
            }
            for (uint64_t seed = first; seed <= last; ++seed) add(static_cast<uint32_t>(seed));
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return seeds;
}

std::vector<uint32_t> first_seeds(int64_t count) {
    if (count < 1 || count > kMaxSeedCount) {
        throw make_error("bad count ", count, ": expected 1..", kMaxSeedCount);
    }
    std::vector<uint32_t> seeds(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) seeds[static_cast<size_t>(i)] = static_cast<uint32_t>(i);
    return seeds;
}

}  // namespace facegen::generate
