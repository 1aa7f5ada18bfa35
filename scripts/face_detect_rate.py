#!/usr/bin/python3
"""How often an independent face detector finds a face: OpenCV's Haar cascade (Debian's
python3-opencv and opencv-data; neither trained nor tuned by facegen) on generated faces and
on real photos at the same size, so a model's faces can be read against real ones.

    scripts/face_detect_rate.py --dataset data/faces128 --split v --num 1000
    scripts/face_detect_rate.py out/faces/*.png
    scripts/face_detect_rate.py --grid sheet.png --tile 128

Every image is enlarged to --size pixels and given a border of --pad of its size (edge
pixels repeated: a tightly cropped face fills the whole image, and the cascade needs to see
the face's outline inside a window), the same for both kinds of image, and counts as found
when the cascade reports at least one face (OpenCV's default of 3 neighbours).
Prints one JSON object: images, found, rate, and the settings.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"


def dataset_images(folder, split, num):
    """Images of a packed facegen dataset (docs/dataset.md, "Format"): uint8 CHW rows."""
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    if index.get("format") != "facegen-dataset":
        sys.exit(f"{folder}: not a facegen dataset (format {index.get('format')!r})")
    res, channels, n = index["resolution"], index["channels"], index["n_images"]
    rows = np.memmap(os.path.join(folder, "images.u8"), dtype=np.uint8, mode="r",
                     shape=(n, channels, res, res))
    chosen = [i for i, s in enumerate(index["splits"]) if split == "all" or s == split][:num]
    for i in chosen:
        image = np.ascontiguousarray(rows[i].transpose(1, 2, 0))
        yield f"{folder}#{i}", cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def file_images(paths):
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            sys.exit(f"{path}: not an image OpenCV can read")
        yield path, image


def grid_tiles(path, tile):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"{path}: not an image OpenCV can read")
    for y in range(0, image.shape[0] - tile + 1, tile):
        for x in range(0, image.shape[1] - tile + 1, tile):
            yield f"{path}@{x},{y}", image[y:y + tile, x:x + tile]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="image files")
    parser.add_argument("--dataset", help="packed facegen dataset folder")
    parser.add_argument("--split", default="v", help="t, v or all (with --dataset)")
    parser.add_argument("--num", type=int, default=1000, help="images from --dataset")
    parser.add_argument("--grid", help="a grid PNG of square tiles")
    parser.add_argument("--tile", type=int, default=64, help="tile size of --grid")
    parser.add_argument("--size", type=int, default=256, help="size each image is enlarged to")
    parser.add_argument("--pad", type=float, default=0.25, help="border added on each side, as a share of --size")
    parser.add_argument("--misses", help="write the names of images without a face here")
    args = parser.parse_args()
    if not os.path.exists(CASCADE):
        sys.exit(f"{CASCADE} is missing: apt install opencv-data")
    cascade = cv2.CascadeClassifier(CASCADE)
    if args.dataset:
        images = dataset_images(args.dataset, args.split, args.num)
    elif args.grid:
        images = grid_tiles(args.grid, args.tile)
    else:
        images = file_images(args.images)
    total, found, misses = 0, 0, []
    for name, image in images:
        big = cv2.resize(image, (args.size, args.size), interpolation=cv2.INTER_CUBIC)
        border = int(args.size * args.pad)
        big = cv2.copyMakeBorder(big, border, border, border, border, cv2.BORDER_REPLICATE)
        gray = cv2.equalizeHist(cv2.cvtColor(big, cv2.COLOR_BGR2GRAY))
        faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=3,
                                         minSize=(args.size // 4, args.size // 4))
        total += 1
        if len(faces) > 0:
            found += 1
        else:
            misses.append(name)
    if total == 0:
        sys.exit("no images")
    if args.misses:
        with open(args.misses, "w") as f:
            f.write("\n".join(misses) + "\n")
    print(json.dumps({"detector": "opencv haarcascade_frontalface_default", "opencv": cv2.__version__,
                      "size": args.size, "pad": args.pad, "images": total, "found": found,
                      "rate": round(found / total, 4)}))


if __name__ == "__main__":
    main()
