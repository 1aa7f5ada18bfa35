#!/usr/bin/env python3
"""Convert face-api's face recognition weights into facegen's identity network file.

The weights come from the npm package @vladmandic/face-api (MIT licence): a TensorFlow.js
weights manifest plus one binary of uint8-quantized tensors (value = min + q * scale, one
scale and min per tensor), laid out back to back in manifest order. The network is dlib's
face recognition ResNet (Davis King), which outputs a 128-D descriptor.

The output is a safetensors file that keeps the uint8 values (so it stays the size of the
package's binary; the few tensors the package leaves as float32 stay float32) under torch-style names, with convolution filters transposed from
TensorFlow's [kh, kw, in, out] to torch's [out, in, kh, kw] and the final dense layer from
[in, out] to [out, in]. Transposing the uint8 codes is exact because the quantization is per
tensor. Each tensor's scale and min go to the metadata as "<name>.quant_scale" and
"<name>.quant_min"; src/identity/face_recognition.cpp dequantizes on load.

Usage:
  npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
  python3 scripts/convert_face_recognition.py package \
      --out models/facegen-face-recognition.safetensors

Python standard library only.
"""

import argparse
import json
import os
import struct
import sys

FORMAT = "facegen-face-recognition"
FORMAT_VERSION = 1
MANIFEST = "model/face_recognition_model-weights_manifest.json"
WEIGHTS = "model/face_recognition_model.bin"


def fail(message):
    print(f"convert_face_recognition: {message}", file=sys.stderr)
    sys.exit(1)


def torch_name(tf_name):
    """'conv32_1/conv1/conv/filters' -> 'conv32_1.conv1.conv.weight'."""
    parts = tf_name.split("/")
    leaf = {"filters": "weight", "bias": "bias", "weights": "weight", "biases": "bias"}
    if parts == ["fc"]:
        return "fc.weight"
    if parts[-1] not in leaf:
        fail(f"unexpected tensor name '{tf_name}'")
    return ".".join(parts[:-1] + [leaf[parts[-1]]])


def transpose(codes, shape, order, item_size):
    """Row-major elements of `item_size` bytes in `codes`, of `shape`, permuted by `order`
    (numpy.transpose semantics)."""
    n_dims = len(shape)
    strides = [1] * n_dims
    for d in range(n_dims - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    out_shape = [shape[d] for d in order]
    out_strides = [strides[d] for d in order]
    out = bytearray(len(codes))
    index = [0] * n_dims
    for i in range(len(codes) // item_size):
        j = sum(index[d] * out_strides[d] for d in range(n_dims))
        out[i * item_size:(i + 1) * item_size] = codes[j * item_size:(j + 1) * item_size]
        for d in range(n_dims - 1, -1, -1):
            index[d] += 1
            if index[d] < out_shape[d]:
                break
            index[d] = 0
    return bytes(out), out_shape


def read_package(folder):
    package_json = os.path.join(folder, "package.json")
    try:
        with open(package_json, encoding="utf-8") as f:
            package = json.load(f)
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
        with open(os.path.join(folder, WEIGHTS), "rb") as f:
            blob = f.read()
    except (OSError, ValueError) as error:
        fail(f"cannot read the package in '{folder}': {error}")
    entries = [w for group in manifest for w in group["weights"]]
    return package, entries, blob


def convert(folder, out_path):
    package, entries, blob = read_package(folder)
    tensors = {}
    metadata = {}
    offset = 0
    for entry in entries:
        # Most tensors are uint8 codes; the package leaves a few (the conv64 filters) as
        # plain float32, which stay float32 here.
        quant = entry.get("quantization")
        if entry.get("dtype") != "float32" or (quant is not None and quant.get("dtype") != "uint8"):
            fail(f"tensor '{entry['name']}' is neither float32 nor float32 stored as uint8: {entry}")
        item_size = 1 if quant is not None else 4
        shape = list(entry["shape"])
        count = item_size
        for s in shape:
            count *= s
        if offset + count > len(blob):
            fail(f"'{WEIGHTS}' has {len(blob)} bytes; tensor '{entry['name']}' needs bytes {offset}..{offset + count}")
        codes = blob[offset:offset + count]
        offset += count
        if len(shape) == 4:
            codes, shape = transpose(codes, shape, [3, 2, 0, 1], item_size)
        elif len(shape) == 2:
            codes, shape = transpose(codes, shape, [1, 0], item_size)
        name = torch_name(entry["name"])
        if name in tensors:
            fail(f"tensor '{name}' appears twice")
        tensors[name] = ("U8" if quant is not None else "F32", shape, codes)
        if quant is not None:
            metadata[f"{name}.quant_scale"] = repr(float(quant["scale"]))
            metadata[f"{name}.quant_min"] = repr(float(quant["min"]))
    if offset != len(blob):
        fail(f"'{WEIGHTS}' has {len(blob)} bytes but the manifest describes {offset}")

    metadata.update({
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "source": f"npm {package['name']}@{package['version']} ({MANIFEST}, {WEIGHTS})",
        "license": (f"weights from the npm package {package['name']} ({package.get('license', '?')} licence); "
                    "the network is dlib's face recognition ResNet by Davis King"),
        "input": "RGB 150x150, (x - [122.782, 117.001, 104.298]) / 255",
        "output": "128-D face descriptor; same person when the Euclidean distance is < 0.6",
        "quantization": "U8 tensors: value = <name>.quant_min + code * <name>.quant_scale; F32 tensors as they are",
    })

    header = {"__metadata__": metadata}
    position = 0
    for name in sorted(tensors):
        dtype, shape, codes = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [position, position + len(codes)]}
        position += len(codes)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)

    tmp_path = out_path + ".tmp"
    with open(tmp_path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for name in sorted(tensors):
            f.write(tensors[name][2])
    os.replace(tmp_path, out_path)
    print(f"wrote {out_path}: {len(tensors)} tensors, {position} weight bytes, "
          f"{os.path.getsize(out_path)} bytes in all", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", help="the unpacked npm package folder (holding model/ and package.json)")
    parser.add_argument("--out", default="models/facegen-face-recognition.safetensors",
                        help="output file (default: %(default)s)")
    args = parser.parse_args()
    convert(args.package, args.out)


if __name__ == "__main__":
    main()
