#!/usr/bin/python3
"""Age directions compared: the shipped linear one against one made from means of the model's
own faces within strata (old minus young among faces of the same gender and ethnicity, faces
read as wearing glasses left out), judged by facegen's classifier and by an independent
judge (scripts/judge_age_gender.mjs). A study, not a shipped edit: it prints one JSON line
per variant and leaves the images in --work for a person to look at.

    FACE_API=package scripts/age_direction_study.py --facegen build/bin/facegen --work /tmp/age
    FACE_API=package scripts/age_direction_study.py --work /tmp/age-edge --edge --faces 200

Needs Debian's python3-numpy and node (for the judge). w is computed here from the model
file's mapping network (2 layers, official equalised learning rate), which matches
`facegen generate --seeds S --truncation-psi 1` to one level of rounding; images are then made
from ws latents by facegen itself.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

GROUPS = ["white", "black", "asian", "indian", "other"]


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    types = {"F32": np.float32, "F64": np.float64}
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=types[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def mapping_w(model, config, seeds):
    """w of numpy RandomState(seed) z, psi 1 (as the official mapping network computes it)."""
    z = np.stack([np.random.RandomState(s).randn(config["z_dim"]) for s in seeds]).astype(np.float32)
    x = z / np.sqrt((z * z).mean(1, keepdims=True) + 1e-8)
    lr = config["mapping_lr_multiplier"]
    for i in range(config["n_mapping_layers"]):
        weight, bias = model[f"mapping.fc{i}.weight"], model[f"mapping.fc{i}.bias"]
        x = x @ (weight * (lr / np.sqrt(weight.shape[1]))).T + bias * lr
        x = np.where(x >= 0, x, 0.2 * x) * np.sqrt(2)
    return x.astype(np.float64)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def images_of(args, ws, name):
    """Writes ws as a latents file, makes its images, returns their paths."""
    latents = os.path.join(args.work, f"{name}.npy")
    np.save(latents, ws.astype(np.float32))
    out = os.path.join(args.work, f"img_{name}")
    run([args.facegen, "generate", "--model", args.model, "--latents", latents, "--out", out,
         "--threads", str(args.threads), "--no-watermark"])
    return [os.path.join(out, f"latent{i:04d}.png") for i in range(ws.shape[0])]


def own_scores(args, paths):
    out = run([args.facegen, "attributes", "score", "--threads", str(args.threads)] + paths)
    return [json.loads(line)["attributes"] for line in out.strip().split("\n")]


def judged(args, paths, name):
    listing = os.path.join(args.work, f"{name}.txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    out = run(["node", os.path.join(os.path.dirname(__file__), "judge_age_gender.mjs"), listing])
    return [json.loads(line) for line in out.strip().split("\n")]


def stratified_age_direction(w, scores, young=(18, 32), old=(45, 1000), min_faces=8):
    """w per classifier-year: old (>= 45) minus young (18-32) means within each gender x
    ethnicity stratum with enough faces of both, faces read as wearing glasses left out,
    averaged with the smaller side's count as weight. young=(3, 14), old=(18, 32): the
    de-aging step (children to young adults)."""
    age = np.array([s["age"] for s in scores])
    female = np.array([s["gender"] > 0.5 for s in scores])
    glasses = np.array([s["eyeglasses"] > 0.5 for s in scores])
    group = np.array([np.argmax([s["ethnicity_" + g] for g in GROUPS]) for s in scores])
    directions, weights = [], []
    for is_female in (False, True):
        for g in range(len(GROUPS)):
            stratum = ~glasses & (female == is_female) & (group == g)
            older = stratum & (age >= old[0]) & (age <= old[1])
            younger = stratum & (age >= young[0]) & (age <= young[1])
            if older.sum() < min_faces or younger.sum() < min_faces:
                continue
            years = age[older].mean() - age[younger].mean()
            directions.append((w[older].mean(0) - w[younger].mean(0)) / years)
            weights.append(min(older.sum(), younger.sum()))
    weights = np.array(weights, dtype=np.float64)
    return (np.array(directions) * weights[:, None]).sum(0) / weights.sum(), len(weights)


def edge_limited_step(w, step, years, edge_w):
    """Per face, `years` along `step` (w per year) but no further than the 1%-99% range of
    the model's untruncated w along it (as facegen's LatentReach); also the years made."""
    unit = step / np.linalg.norm(step)
    lo, hi = np.quantile(edge_w @ unit, [0.01, 0.99])
    coordinate = w @ unit
    wanted = years * np.linalg.norm(step)
    amount = np.clip(wanted, np.minimum(lo - coordinate, 0), np.maximum(hi - coordinate, 0))
    return amount[:, None] * unit[None], amount / np.linalg.norm(step)


def summary(name, years, own, own_plain, judge, judge_plain):
    mean = lambda xs: float(np.mean(xs))
    row = {"variant": name, "asked_years": years,
           "own_age_change": mean([a["age"] - b["age"] for a, b in zip(own, own_plain)]),
           "own_female_change": mean([a["gender"] - b["gender"] for a, b in zip(own, own_plain)]),
           "own_glasses_share": mean([a["eyeglasses"] > 0.5 for a in own])}
    if judge is not None:
        row.update({"judged_age_change": mean([a["age"] - b["age"] for a, b in zip(judge, judge_plain)]),
                    "judged_male_share_change": mean([a["male"] for a in judge]) - mean([b["male"] for b in judge_plain]),
                    "judged_gender_flips": mean([a["male"] != b["male"] for a, b in zip(judge, judge_plain)])})
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facegen", default="build/bin/facegen")
    parser.add_argument("--model", default="models/facegen-default.safetensors")
    parser.add_argument("--directions", default="models/facegen-default.directions.safetensors")
    parser.add_argument("--work", required=True, help="folder for latents and images")
    parser.add_argument("--pool", type=int, default=3000, help="faces the stratified direction is made from")
    parser.add_argument("--pool-seed", type=int, default=2000000)
    parser.add_argument("--faces", type=int, default=60, help="held-out faces edited")
    parser.add_argument("--first-seed", type=int, default=1000000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-judge", action="store_true")
    parser.add_argument("--edge", action="store_true",
                        help="stop each step at the edge of the model's faces (4,096 untruncated w, seeds 3,000,000-)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model, meta = load_safetensors(args.model)
    directions, dmeta = load_safetensors(args.directions)
    if dmeta.get("model_id") != meta.get("model_id"):
        sys.exit(f"{args.directions}: made for model {dmeta.get('model_id')}, not {meta.get('model_id')}")
    config = json.loads(meta["generator_config"])
    num_ws = 2 * int(np.log2(config["resolution"])) - 2

    pool_seeds = list(range(args.pool_seed, args.pool_seed + args.pool))
    pool_w = mapping_w(model, config, pool_seeds)
    pool_scores = own_scores(args, images_of(args, np.repeat(pool_w[:, None], num_ws, 1), "pool"))
    per_year, strata = stratified_age_direction(pool_w, pool_scores)
    gender = directions["gradient.gender"] / np.linalg.norm(directions["gradient.gender"])
    held = per_year - per_year.dot(gender) * gender  # the same, moving no linear gender reading
    younger, _ = stratified_age_direction(pool_w, pool_scores, young=(3, 14), old=(18, 32), min_faces=5)

    # The shipped direction: age's gradient with the kept attributes' gradients projected
    # out (Euclidean, directions format 1), in classifier-years per unit by its response.
    fits = json.loads(dmeta["report"])["attributes"]
    basis = []
    for name in ["gender"] + ["ethnicity_" + g for g in GROUPS] + ["eyeglasses", "smiling", "brightness"]:
        v = directions["gradient." + name].copy()
        for b in basis:
            v -= v.dot(b) * b
        basis.append(v / np.linalg.norm(v))
    u = directions["gradient.age"].copy()
    for b in basis:
        u -= u.dot(b) * b
    unit = u / np.linalg.norm(u)
    linear_per_year = unit / (directions["gradient.age"].dot(unit) * fits["age"]["response"])

    w = mapping_w(model, config, list(range(args.first_seed, args.first_seed + args.faces)))
    plain = np.repeat(w[:, None], num_ws, 1)
    variants = [("linear (shipped)", linear_per_year, (20, 40)), ("stratified", per_year, (20, 40)),
                ("stratified, gender gradient out", held, (20, 40)),
                ("younger (children to young adults)", younger, (-20,)),
                ("younger, gender gradient out", younger - younger.dot(gender) * gender, (-20,))]
    edge_w = mapping_w(model, config, list(range(3000000, 3004096))) if args.edge else None
    plain_paths = images_of(args, plain, "plain")
    own_plain = own_scores(args, plain_paths)
    judge_plain = None if args.no_judge else judged(args, plain_paths, "plain")
    print(json.dumps({"pool": args.pool, "strata": strata, "faces": args.faces, "edge": args.edge}))
    for index, (name, step, asked) in enumerate(variants):
        for years in asked:
            tag = f"v{index}_{years:+d}"
            if args.edge:
                moved, made = edge_limited_step(w, step, years, edge_w)
                print(json.dumps({"variant": name, "asked_years": years, "made_years_mean": round(float(made.mean()), 2)}))
            else:
                moved = step[None] * years
            paths = images_of(args, plain + moved[:, None], tag)
            judge = None if args.no_judge else judged(args, paths, tag)
            print(json.dumps(summary(name, years, own_scores(args, paths), own_plain, judge, judge_plain)), flush=True)


if __name__ == "__main__":
    main()
