#include "synth/balance_chart.h"

#include <algorithm>
#include <sstream>

namespace facegen::synth {
namespace {

constexpr const char* kRequestedColour = "#bbbbbb";
constexpr const char* kAchievedColour = "#1b9e77";
constexpr const char* kShortColour = "#d95f02";

struct Bar {
    std::string label;
    int64_t requested = 0;
    int64_t achieved = 0;
};

constexpr int kGroupBar = 12;    // bar width in the panels of the groups
constexpr int kPanelGap = 40;    // between the panels of the groups
constexpr int kHeadingChar = 7;  // width of a bold 10 px character, generously

int64_t largest_count(const std::vector<Bar>& bars) {
    int64_t top = 1;
    for (const Bar& b : bars) top = std::max({top, b.requested, b.achieved});
    return top;
}

std::string panel_heading(const std::string& name, const std::vector<Bar>& bars) {
    return name + " (max " + std::to_string(largest_count(bars)) + ")";
}

/// Width a group's panel takes: its bars, or its heading where that is longer (a two-class
/// group's heading would run into the next panel's).
int group_panel_width(const std::string& name, const std::vector<Bar>& bars) {
    return std::max(static_cast<int>(bars.size()) * (2 * kGroupBar + 4), static_cast<int>(panel_heading(name, bars).size()) * kHeadingChar);
}

// One panel: a pair of bars per entry, scaled to the panel's largest count; labels at 60
// degrees below the bars.
void draw_panel(std::ostringstream& svg, const std::string& name, const std::vector<Bar>& bars, int x0, int y0, int bar,
                int height) {
    const int64_t top = largest_count(bars);
    const int base = y0 + height;
    svg << "<text x=\"" << x0 << "\" y=\"" << y0 - 8 << "\" font-weight=\"bold\">" << panel_heading(name, bars) << "</text>\n";
    svg << "<line x1=\"" << x0 << "\" y1=\"" << base << "\" x2=\"" << x0 + static_cast<int>(bars.size()) * (2 * bar + 4) << "\" y2=\""
        << base << "\" stroke=\"black\"/>\n";
    int x = x0;
    for (const Bar& b : bars) {
        const int hr = static_cast<int>(static_cast<double>(b.requested) * height / static_cast<double>(top) + 0.5);
        const int ha = static_cast<int>(static_cast<double>(b.achieved) * height / static_cast<double>(top) + 0.5);
        svg << "<rect x=\"" << x << "\" y=\"" << base - hr << "\" width=\"" << bar << "\" height=\"" << hr << "\" fill=\""
            << kRequestedColour << "\"><title>" << b.label << " requested " << b.requested << "</title></rect>\n";
        svg << "<rect x=\"" << x + bar << "\" y=\"" << base - ha << "\" width=\"" << bar << "\" height=\"" << ha << "\" fill=\""
            << (b.achieved < b.requested ? kShortColour : kAchievedColour) << "\"><title>" << b.label << " achieved "
            << b.achieved << "</title></rect>\n";
        const int lx = x + bar, ly = base + 10;
        svg << "<text x=\"" << lx << "\" y=\"" << ly << "\" transform=\"rotate(60 " << lx << " " << ly << ")\">" << b.label
            << "</text>\n";
        x += 2 * bar + 4;
    }
}

}  // namespace

std::string balance_chart_svg(const CellGrid& grid, const std::vector<int64_t>& requested, const std::vector<int64_t>& achieved,
                              const std::string& title) {
    constexpr int kLeft = 20, kPanelHeight = 140, kLabelSpace = 120, kTop = 60;
    std::vector<std::vector<Bar>> group_bars;
    for (const BalanceGroup& group : grid.groups()) {
        std::vector<Bar> bars;
        for (const std::string& c : group.classes) bars.push_back({c, 0, 0});
        group_bars.push_back(std::move(bars));
    }
    std::vector<Bar> cell_bars;
    for (int64_t cell = 0; cell < grid.n_cells(); ++cell) {
        const size_t i = static_cast<size_t>(cell);
        cell_bars.push_back({grid.name(cell), requested[i], achieved[i]});
        const std::vector<int64_t> classes = grid.classes_of(cell);
        for (size_t g = 0; g < classes.size(); ++g) {
            group_bars[g][static_cast<size_t>(classes[g])].requested += requested[i];
            group_bars[g][static_cast<size_t>(classes[g])].achieved += achieved[i];
        }
    }
    const int cell_bar = grid.n_cells() > 40 ? 5 : 9;
    int groups_width = kLeft;
    for (size_t g = 0; g < group_bars.size(); ++g) groups_width += group_panel_width(grid.groups()[g].name, group_bars[g]) + kPanelGap;
    const int cells_width = kLeft + static_cast<int>(cell_bars.size()) * (2 * cell_bar + 4) + 140;
    const int width = std::max(groups_width + 100, cells_width);
    const int height = kTop + 2 * (kPanelHeight + kLabelSpace) + 20;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"10\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << kLeft << "\" y=\"18\" font-size=\"14\">" << title << "</text>\n";
    const std::vector<std::pair<std::string, const char*>> legend = {
        {"requested", kRequestedColour}, {"achieved", kAchievedColour}, {"achieved, short of the request", kShortColour}};
    int legend_x = kLeft;
    for (const auto& [label, colour] : legend) {
        svg << "<rect x=\"" << legend_x << "\" y=\"28\" width=\"10\" height=\"10\" fill=\"" << colour << "\"/><text x=\""
            << legend_x + 14 << "\" y=\"37\">" << label << "</text>\n";
        legend_x += 190;
    }
    int x = kLeft;
    for (size_t g = 0; g < group_bars.size(); ++g) {
        draw_panel(svg, grid.groups()[g].name, group_bars[g], x, kTop + 10, kGroupBar, kPanelHeight);
        x += group_panel_width(grid.groups()[g].name, group_bars[g]) + kPanelGap;
    }
    if (grid.groups().size() > 1) {
        draw_panel(svg, "cells", cell_bars, kLeft, kTop + kPanelHeight + kLabelSpace + 10, cell_bar, kPanelHeight);
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace facegen::synth
