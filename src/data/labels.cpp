#include "data/labels.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace facegen::data {
namespace fs = std::filesystem;
namespace {

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string base_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> split_fields(const std::string& line, char separator) {
    std::vector<std::string> out;
    std::string field;
    bool quoted = false;
    for (char c : line) {
        if (c == '"') {
            quoted = !quoted;
        } else if (c == separator && !quoted) {
            out.push_back(field);
            field.clear();
        } else if (c != '\r') {
            field.push_back(c);
        }
    }
    out.push_back(field);
    for (auto& f : out) {
        const auto b = f.find_first_not_of(" \t");
        const auto e = f.find_last_not_of(" \t");
        f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
    }
    return out;
}

std::vector<std::string> split_whitespace(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    std::string token;
    while (in >> token) out.push_back(token);
    return out;
}

class UTKFaceLabels : public LabelProvider {
public:
    UTKFaceLabels() {
        columns_ = {{"age", {}}, {"gender", {"male", "female"}}, {"race", {"white", "black", "asian", "indian", "others"}}};
    }
    const std::vector<LabelColumn>& columns() const override { return columns_; }
    std::optional<std::vector<int64_t>> lookup(const std::string& base_name, const std::string&) const override {
        const auto parsed = parse_utkface_name(base_name);
        if (!parsed) return std::nullopt;
        return std::vector<int64_t>{parsed->age, parsed->gender, parsed->race};
    }
    std::string describe() const override { return "utkface (file names)"; }

private:
    std::vector<LabelColumn> columns_;
};

// Labels read from a file into a table keyed by base name.
class TableLabels : public LabelProvider {
public:
    TableLabels(std::vector<LabelColumn> columns, std::unordered_map<std::string, std::vector<int64_t>> rows,
                std::string description)
        : columns_(std::move(columns)), rows_(std::move(rows)), description_(std::move(description)) {}
    const std::vector<LabelColumn>& columns() const override { return columns_; }
    std::optional<std::vector<int64_t>> lookup(const std::string& base_name, const std::string& path) const override {
        auto it = rows_.find(base_name);
        if (it == rows_.end()) it = rows_.find(path);
        if (it == rows_.end()) return std::nullopt;
        return it->second;
    }
    std::string describe() const override { return description_; }

private:
    std::vector<LabelColumn> columns_;
    std::unordered_map<std::string, std::vector<int64_t>> rows_;
    std::string description_;
};

// Builds a table from (file, {name: text value}) records: integer columns stay integers,
// any column with a non-integer value becomes categorical with sorted class names.
std::unique_ptr<LabelProvider> table_from_records(
    const std::vector<std::pair<std::string, std::map<std::string, std::string>>>& records,
    const std::vector<std::string>& names, const std::string& where) {
    std::vector<LabelColumn> columns;
    std::vector<std::map<std::string, int64_t>> class_maps(names.size());
    for (size_t c = 0; c < names.size(); ++c) {
        std::set<std::string> values;
        bool categorical = false;
        for (const auto& [file, row] : records) {
            auto it = row.find(names[c]);
            if (it == row.end() || it->second.empty()) continue;
            values.insert(it->second);
            if (!all_digits(it->second)) categorical = true;
        }
        LabelColumn column{names[c], {}};
        if (categorical) {
            for (const auto& v : values) {
                class_maps[c][v] = static_cast<int64_t>(column.classes.size());
                column.classes.push_back(v);
            }
        }
        columns.push_back(column);
    }
    std::unordered_map<std::string, std::vector<int64_t>> rows;
    for (const auto& [file, row] : records) {
        std::vector<int64_t> values(names.size(), kUnknownLabel);
        for (size_t c = 0; c < names.size(); ++c) {
            auto it = row.find(names[c]);
            if (it == row.end() || it->second.empty()) continue;
            if (!columns[c].classes.empty()) {
                values[c] = class_maps[c].at(it->second);
            } else {
                try {
                    values[c] = std::stoll(it->second);
                } catch (const std::exception&) {
                    throw make_error("labels '", where, "': value '", it->second, "' of '", names[c], "' for '", file,
                                     "' is out of range");
                }
            }
        }
        rows[base_of(file)] = values;
        rows[file] = values;
    }
    return std::make_unique<TableLabels>(columns, std::move(rows), where);
}

}  // namespace

LabelSpec parse_label_spec(const std::string& text) {
    if (text == "none") return {LabelSourceKind::kNone, {}};
    if (text == "auto") return {LabelSourceKind::kAuto, {}};
    if (text == "utkface") return {LabelSourceKind::kUTKFace, {}};
    if (text == "celeba") return {LabelSourceKind::kCelebA, {}};
    if (text.rfind("csv:", 0) == 0 && text.size() > 4) return {LabelSourceKind::kCSV, text.substr(4)};
    if (text.rfind("json:", 0) == 0 && text.size() > 5) return {LabelSourceKind::kJSON, text.substr(5)};
    throw make_error("bad label source '", text, "' (expected none, auto, utkface, celeba, csv:FILE or json:FILE)");
}

std::string to_string(const LabelSpec& spec) {
    switch (spec.kind) {
        case LabelSourceKind::kNone: return "none";
        case LabelSourceKind::kAuto: return "auto";
        case LabelSourceKind::kUTKFace: return "utkface";
        case LabelSourceKind::kCelebA: return "celeba";
        case LabelSourceKind::kCSV: return "csv:" + spec.file.string();
        case LabelSourceKind::kJSON: return "json:" + spec.file.string();
    }
    return "?";
}

std::optional<UTKFaceName> parse_utkface_name(const std::string& base_name) {
    const std::string stem = base_name.substr(0, base_name.find('.'));
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(stem);
    while (std::getline(in, part, '_')) parts.push_back(part);
    if (parts.size() != 3 && parts.size() != 4) return std::nullopt;
    // Two files of the set have a damaged date ("...357jpg.chip.jpg", "...657 .jpg"): keep
    // the date's leading digits, the labels before it are intact.
    std::string& date = parts.back();
    date = date.substr(0, std::find_if(date.begin(), date.end(), [](unsigned char c) { return !std::isdigit(c); }) - date.begin());
    for (const auto& p : parts) {
        if (!all_digits(p) || p.size() > 20) return std::nullopt;
    }
    UTKFaceName name;
    name.age = std::stoll(parts[0]);
    name.gender = std::stoll(parts[1]);
    // The date field is 17 digits (yyyymmddHHMMSSfff); without it a 3-part name is malformed.
    if (parts.size() == 4) {
        name.race = std::stoll(parts[2]);
        if (parts[3].size() < 8) return std::nullopt;
    } else if (parts[2].size() < 8) {
        return std::nullopt;
    }
    if (name.age > 130 || name.gender > 1 || name.race > 4) return std::nullopt;
    return name;
}

std::unique_ptr<LabelProvider> make_utkface_labels() { return std::make_unique<UTKFaceLabels>(); }

std::unique_ptr<LabelProvider> make_celeba_labels(const fs::path& attr_file, const fs::path& identity_file) {
    std::vector<LabelColumn> columns;
    std::unordered_map<std::string, std::vector<int64_t>> rows;
    size_t n_attr = 0;
    std::string description = "celeba:";
    if (!attr_file.empty()) {
        description += " " + attr_file.filename().string();
        std::istringstream in(core::read_file(attr_file));
        std::string line;
        int64_t line_no = 0;
        std::getline(in, line);
        ++line_no;
        int64_t declared = 0;
        try {
            declared = std::stoll(line);
        } catch (const std::exception&) {
            throw make_error("CelebA attributes '", attr_file.string(), "' line 1: expected the image count, got '", line, "'");
        }
        std::getline(in, line);
        ++line_no;
        const auto names = split_whitespace(line);
        if (names.empty()) throw make_error("CelebA attributes '", attr_file.string(), "' line 2: no attribute names");
        n_attr = names.size();
        for (const auto& name : names) columns.push_back({name, {"no", "yes"}});
        int64_t n_rows = 0;
        while (std::getline(in, line)) {
            ++line_no;
            const auto fields = split_whitespace(line);
            if (fields.empty()) continue;
            if (fields.size() != n_attr + 1) {
                throw make_error("CelebA attributes '", attr_file.string(), "' line ", line_no, ": ", fields.size() - 1,
                                 " values for ", n_attr, " attributes");
            }
            std::vector<int64_t> values(n_attr);
            for (size_t a = 0; a < n_attr; ++a) {
                const std::string& v = fields[a + 1];
                if (v != "1" && v != "-1" && v != "0") {
                    throw make_error("CelebA attributes '", attr_file.string(), "' line ", line_no, ": value '", v,
                                     "' of ", names[a], " is not 1 or -1");
                }
                values[a] = v == "1" ? 1 : 0;
            }
            rows[fields[0]] = std::move(values);
            ++n_rows;
        }
        if (n_rows != declared) {
            throw make_error("CelebA attributes '", attr_file.string(), "': header says ", declared, " images, found ", n_rows);
        }
    }
    if (!identity_file.empty()) {
        description += " " + identity_file.filename().string();
        columns.push_back({"identity", {}});
        std::istringstream in(core::read_file(identity_file));
        std::string line;
        int64_t line_no = 0;
        while (std::getline(in, line)) {
            ++line_no;
            const auto fields = split_whitespace(line);
            if (fields.empty()) continue;
            if (fields.size() != 2 || !all_digits(fields[1])) {
                throw make_error("CelebA identities '", identity_file.string(), "' line ", line_no, ": expected 'NAME ID', got '",
                                 line, "'");
            }
            auto& row = rows[fields[0]];
            row.resize(n_attr, kUnknownLabel);
            row.push_back(std::stoll(fields[1]));
        }
    }
    for (auto& [name, row] : rows) row.resize(columns.size(), kUnknownLabel);
    return std::make_unique<TableLabels>(std::move(columns), std::move(rows), description);
}

std::unique_ptr<LabelProvider> make_csv_labels(const fs::path& file) {
    std::istringstream in(core::read_file(file));
    std::string line;
    if (!std::getline(in, line)) throw make_error("labels '", file.string(), "': empty CSV file");
    const char separator = line.find(',') != std::string::npos ? ',' : (line.find(';') != std::string::npos ? ';' : '\t');
    const auto header = split_fields(line, separator);
    if (header.size() < 2 || header[0] != "file") {
        throw make_error("labels '", file.string(), "' line 1: expected a header 'file,NAME,...', got '", line, "'");
    }
    const std::vector<std::string> names(header.begin() + 1, header.end());
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> records;
    int64_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto fields = split_fields(line, separator);
        if (fields.size() != header.size()) {
            throw make_error("labels '", file.string(), "' line ", line_no, ": ", fields.size(), " fields, header has ",
                             header.size());
        }
        std::map<std::string, std::string> row;
        for (size_t c = 0; c < names.size(); ++c) row[names[c]] = fields[c + 1];
        records.emplace_back(fields[0], std::move(row));
    }
    return table_from_records(records, names, "csv: " + file.string());
}

std::unique_ptr<LabelProvider> make_json_labels(const fs::path& file) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(core::read_file(file));
    } catch (const nlohmann::json::exception& e) {
        throw make_error("labels '", file.string(), "' does not parse as JSON: ", e.what());
    }
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> records;
    std::set<std::string> names;
    auto add = [&](const std::string& name, const nlohmann::json& object) {
        if (!object.is_object()) throw make_error("labels '", file.string(), "': entry of '", name, "' is not an object");
        std::map<std::string, std::string> row;
        for (const auto& [key, value] : object.items()) {
            if (key == "file") continue;
            if (value.is_number_integer() && value.get<int64_t>() >= 0) {
                row[key] = std::to_string(value.get<int64_t>());
            } else if (value.is_string()) {
                row[key] = value.get<std::string>();
            } else if (value.is_boolean()) {
                row[key] = value.get<bool>() ? "1" : "0";
            } else if (!value.is_null()) {
                throw make_error("labels '", file.string(), "': value ", value.dump(), " of '", key, "' for '", name,
                                 "' is not an integer >= 0, text or boolean");
            }
            names.insert(key);
        }
        records.emplace_back(name, std::move(row));
    };
    if (json.is_object()) {
        for (const auto& [name, object] : json.items()) add(name, object);
    } else if (json.is_array()) {
        for (const auto& object : json) {
            if (!object.is_object() || !object.contains("file") || !object["file"].is_string()) {
                throw make_error("labels '", file.string(), "': array entries need a \"file\" string");
            }
            add(object["file"].get<std::string>(), object);
        }
    } else {
        throw make_error("labels '", file.string(), "': expected an object or an array");
    }
    return table_from_records(records, std::vector<std::string>(names.begin(), names.end()), "json: " + file.string());
}

std::unique_ptr<LabelProvider> make_label_provider(const LabelSpec& spec, const std::vector<fs::path>& inputs,
                                                   const std::vector<std::string>& sample_names) {
    auto find_in_inputs = [&](const char* name) -> fs::path {
        for (const auto& input : inputs) {
            if (fs::is_directory(input) && fs::is_regular_file(input / name)) return input / name;
        }
        return {};
    };
    switch (spec.kind) {
        case LabelSourceKind::kNone: return nullptr;
        case LabelSourceKind::kUTKFace: return make_utkface_labels();
        case LabelSourceKind::kCSV: return make_csv_labels(spec.file);
        case LabelSourceKind::kJSON: return make_json_labels(spec.file);
        case LabelSourceKind::kCelebA: {
            const fs::path attr = find_in_inputs("list_attr_celeba.txt");
            const fs::path identity = find_in_inputs("identity_celeba.txt");
            if (attr.empty() && identity.empty()) {
                throw make_error("label source celeba: no list_attr_celeba.txt or identity_celeba.txt in the input folders");
            }
            return make_celeba_labels(attr, identity);
        }
        case LabelSourceKind::kAuto: {
            const fs::path attr = find_in_inputs("list_attr_celeba.txt");
            const fs::path identity = find_in_inputs("identity_celeba.txt");
            if (!attr.empty() || !identity.empty()) return make_celeba_labels(attr, identity);
            size_t n_utk = 0;
            for (const auto& name : sample_names) n_utk += parse_utkface_name(name).has_value() ? 1 : 0;
            if (!sample_names.empty() && n_utk * 2 > sample_names.size()) return make_utkface_labels();
            return nullptr;
        }
    }
    return nullptr;
}

}  // namespace facegen::data
