#!/usr/bin/env python3
"""Figures of character sheets: makes one sheet per seed with `facegen generate --variations`
and summarises their JSON reports per variation: identity distance to the original (max,
mean, share of cells below the same-person threshold), how many row ends were shrunk to
keep the person, the classifier's reading of the change at each column, and the time per
sheet. Prints one JSON document; asserts nothing.

    bench/character_sheets.py --facegen build/bin/facegen --seeds 1000000-1000019 \
        --variations pose,expression,lighting,age --out /tmp/sheets
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facegen", default="build/bin/facegen")
    parser.add_argument("--seeds", default="1000000-1000019")
    parser.add_argument("--variations", default="pose,expression,lighting,age")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True, help="folder for the sheets and their reports")
    parser.add_argument("--reuse", action="store_true", help="summarise the reports already in --out")
    args = parser.parse_args()

    if not args.reuse:
        os.makedirs(args.out, exist_ok=True)
        subprocess.run([args.facegen, "generate", "--seeds", args.seeds, "--variations", args.variations,
                        "--variation-steps", str(args.steps), "--threads", str(args.threads),
                        "--grid", os.path.join(args.out, "sheet.png")], check=True, stdout=subprocess.DEVNULL)
    reports = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(args.out, "sheet*.json")))]
    if not reports:
        sys.exit("no sheet reports in " + args.out)
    limit = reports[0]["identity_limit"]
    columns = reports[0]["columns"]
    middle = columns // 2
    summary = {"sheets": len(reports), "columns": columns, "identity_limit": limit,
               "seconds_per_sheet_mean": statistics.mean(r["seconds"] for r in reports),
               "seconds_per_sheet_max": max(r["seconds"] for r in reports),
               "same_person_everywhere": sum(bool(r["same_person_everywhere"]) for r in reports),
               "variations": {}}
    for row_index, row in enumerate(reports[0]["variations"]):
        name = row["variation"]
        distances, shrunk_ends, fallback_ends = [], 0, 0
        readings = {}  # attribute -> column -> [change]
        made = {}      # attribute -> column -> [change made, edit units]
        for report in reports:
            r = report["variations"][row_index]
            shrunk_ends += (r["kept_negative"] < 1) + (r["kept_positive"] < 1)
            fallback_ends += (r["kept_negative"] == 0) + (r["kept_positive"] == 0)
            for cell in report["cells"]:
                if cell["row"] != row_index or cell["column"] == middle:
                    continue
                distances.append(cell["identity_distance"])
                for change in cell["changes"]:
                    attribute = change["asked"].split("=")[0]
                    made.setdefault(attribute, {}).setdefault(cell["column"], []).append(change["made"])
                for attribute, value in cell.get("attribute_change", {}).items():
                    readings.setdefault(attribute, {}).setdefault(cell["column"], []).append(value)
        summary["variations"][name] = {
            "asked": row["asked"],
            "identity_distance_max": max(distances),
            "identity_distance_mean": statistics.mean(distances),
            "identity_distance_p95": sorted(distances)[int(0.95 * (len(distances) - 1))],
            "cells_below_limit": sum(d < limit for d in distances) / len(distances),
            "ends_shrunk": shrunk_ends,
            "ends_showing_the_original": fallback_ends,
            "ends": 2 * len(reports),
            "change_made_mean_by_column": {a: {str(c): statistics.mean(v) for c, v in sorted(cols.items())}
                                           for a, cols in made.items()},
            "classifier_change_mean_by_column": {a: {str(c): statistics.mean(v) for c, v in sorted(cols.items())}
                                                 for a, cols in readings.items()},
        }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
