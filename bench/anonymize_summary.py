#!/usr/bin/env python3
"""Figures of a `facegen anonymize --input DIR --out OUT --verify` run, from its per-photo
reports (OUT/*.json): identity removed, attributes kept, faces still found, pixels outside
the masks, seconds per photo. Prints one JSON object; asserts nothing (a bench script).

    python3 bench/anonymize_summary.py OUT [--same-person 0.6] [--age-years 8]
"""
import argparse
import glob
import json
import os
import statistics


def quantile(values, q):
    if not values:
        return None
    values = sorted(values)
    position = q * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", help="output folder of the run (its *.json reports)")
    parser.add_argument("--same-person", type=float, default=0.6)
    parser.add_argument("--age-years", type=float, default=8.0)
    args = parser.parse_args()

    photos = errors = no_face = outside_changed = 0
    seconds = []
    actions = {"replaced": 0, "blurred": 0, "kept": 0}
    pasted_distance, output_distance, age_error, found = [], [], [], []
    gender_kept = []
    warnings = {}
    for path in sorted(glob.glob(os.path.join(args.reports, "*.json"))):
        report = json.load(open(path))
        photos += 1
        if "error" in report:
            errors += 1
            continue
        seconds.append(report["seconds"])
        outside_changed += report["pixels_changed_outside_masks"]
        if report["faces_found"] == 0:
            no_face += 1
        for face in report["faces"]:
            actions[face["action"]] += 1
            if "warning" in face:
                key = face["warning"].split(":")[0]
                warnings[key] = warnings.get(key, 0) + 1
            if face["action"] != "replaced":
                continue
            pasted_distance.append(face["identity_distance"])
            verify = face.get("verify")
            if verify is None:
                continue
            found.append(bool(verify["found_in_output"]))
            if not verify["found_in_output"]:
                continue
            output_distance.append(verify["identity_distance"])
            before, after = face["original"], verify["attributes"]
            age_error.append(abs(before["age"] - after["age"]))
            gender_kept.append((before["gender"] >= 0.5) == (after["gender"] >= 0.5))

    def share(flags):
        return sum(flags) / len(flags) if flags else None

    def describe(values):
        if not values:
            return None
        return {"n": len(values), "min": min(values), "p05": quantile(values, 0.05), "median": quantile(values, 0.5),
                "mean": statistics.fmean(values), "p95": quantile(values, 0.95), "max": max(values)}

    print(json.dumps({
        "photos": photos, "errors": errors, "photos_without_faces": no_face, "faces": actions,
        "fallback_reasons": warnings,
        "identity_distance_pasted": describe(pasted_distance),
        "identity_distance_output": describe(output_distance),
        "share_output_above_same_person": share([d >= args.same_person for d in output_distance]),
        "replaced_face_found_in_output": share(found),
        "age_abs_error_years": describe(age_error),
        "share_age_within": share([e <= args.age_years for e in age_error]),
        "share_gender_kept": share(gender_kept),
        "pixels_changed_outside_masks": outside_changed,
        "seconds_per_photo": describe(seconds),
    }, indent=2))


if __name__ == "__main__":
    main()
