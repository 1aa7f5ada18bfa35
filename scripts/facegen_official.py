"""Shared helpers of convert_official.py and make_golden_fixtures.py: the safetensors writer
(numpy + json only; Debian's python has no safetensors package) and the mapping from an
official StyleGAN2-ADA network to the facegen model file (docs/model_format.md)."""

import datetime
import json
import os
import struct
import subprocess
import sys

import numpy as np

MODEL_FORMAT = "facegen-model"
MODEL_FORMAT_VERSION = "1"
OFFICIAL_LICENSE = ("NVIDIA Source Code License-NC (StyleGAN2-ADA): non-commercial research and evaluation "
                    "use only; see https://nvlabs.github.io/stylegan2-ada-pytorch/license.html")

_DTYPE_NAMES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
                np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> numpy array (stored little-endian in name order); metadata: str -> str.
    Written to a temporary name and renamed into place."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        array = np.array(tensors[name], order="C", copy=True)  # ascontiguousarray would turn 0-d into 1-d
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        data = array.tobytes()
        header[name] = {"dtype": _DTYPE_NAMES[np.dtype(array.dtype.str.replace(">", "<"))],
                        "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text.encode("utf-8"))
        for blob in blobs:
            out.write(blob)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def fnv1a64_hex(tensors):
    """facegen model_id: 64-bit FNV-1a over name bytes then raw bytes, tensors in name order."""
    value = 0xcbf29ce484222325
    prime = 0x100000001b3
    for name in sorted(tensors):
        data = name.encode("utf-8") + np.array(tensors[name], order="C").tobytes()
        # Vectorised FNV-1a is impossible (sequential), so process bytes in Python; the
        # models converted here are at most a few hundred MB.
        for byte in data:
            value = ((value ^ byte) * prime) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


class UnsupportedNetwork(Exception):
    pass


def generator_config_from_official(G):
    """Derives facegen's GeneratorConfig (as a dict) from an official Generator's init_kwargs;
    raises UnsupportedNetwork naming any option facegen does not implement."""
    kwargs = dict(getattr(G, "init_kwargs", {}) or {})
    if not kwargs:
        kwargs = dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, img_resolution=G.img_resolution,
                      img_channels=G.img_channels)
    mapping = dict(kwargs.get("mapping_kwargs", {}) or {})
    synthesis = dict(kwargs.get("synthesis_kwargs", {}) or {})

    def refuse(what, value, supported):
        raise UnsupportedNetwork(f"unsupported official option {what}={value!r} (facegen supports {supported})")

    for key, value in mapping.items():
        if key in ("num_layers", "lr_multiplier", "w_avg_beta"):
            continue
        if key == "activation" and value != "lrelu":
            refuse("mapping_kwargs.activation", value, "'lrelu'")
        elif key in ("embed_features", "layer_features") and value not in (None, kwargs["w_dim"]):
            refuse(f"mapping_kwargs.{key}", value, "None / w_dim")
        elif key not in ("activation", "embed_features", "layer_features"):
            refuse(f"mapping_kwargs.{key}", value, "num_layers, lr_multiplier, w_avg_beta")
    if mapping.get("w_avg_beta", 0.995) is None:
        refuse("mapping_kwargs.w_avg_beta", None, "a float")
    for key, value in synthesis.items():
        if key in ("channel_base", "channel_max", "conv_clamp", "num_fp16_res", "fp16_channels_last"):
            continue  # fp16 is an execution choice of the official code; facegen computes in fp32
        if key == "architecture" and value != "skip":
            refuse("synthesis_kwargs.architecture", value, "'skip'")
        elif key == "resample_filter" and list(value) != [1, 3, 3, 1]:
            refuse("synthesis_kwargs.resample_filter", value, "[1, 3, 3, 1]")
        elif key == "use_noise" and not value:
            refuse("synthesis_kwargs.use_noise", value, "True")
        elif key == "kernel_size" and value != 3:
            refuse("synthesis_kwargs.kernel_size", value, "3")
        elif key == "activation" and value != "lrelu":
            refuse("synthesis_kwargs.activation", value, "'lrelu'")
        elif key not in ("architecture", "resample_filter", "use_noise", "kernel_size", "activation"):
            refuse(f"synthesis_kwargs.{key}", value, "channel_base, channel_max, conv_clamp, num_fp16_res")
    resolution = int(kwargs["img_resolution"])
    if resolution < 16 or resolution > 1024 or resolution & (resolution - 1):
        refuse("img_resolution", resolution, "powers of two 16..1024")
    conv_clamp = synthesis.get("conv_clamp", None)
    return {
        "z_dim": int(kwargs["z_dim"]), "c_dim": int(kwargs["c_dim"]), "w_dim": int(kwargs["w_dim"]),
        "resolution": resolution, "img_channels": int(kwargs["img_channels"]),
        "channel_base": int(synthesis.get("channel_base", 32768)),
        "channel_max": int(synthesis.get("channel_max", 512)),
        "n_mapping_layers": int(mapping.get("num_layers", 8)),
        "mapping_lr_multiplier": float(mapping.get("lr_multiplier", 0.01)),
        "w_avg_beta": float(mapping.get("w_avg_beta", 0.995)),
        "conv_clamp": float(conv_clamp) if conv_clamp is not None else 0.0,
    }


def official_state(module, dtype=np.float32):
    """Parameters and buffers as numpy, official names, without the derived FIR filters."""
    return {name: tensor.detach().cpu().numpy().astype(dtype)
            for name, tensor in module.state_dict().items() if not name.endswith("resample_filter")}


def facegen_version():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "describe", "--tags", "--always", "--dirty"], cwd=here, capture_output=True,
                              text=True, check=True).stdout.strip() or "unknown"
    except Exception:  # noqa: BLE001 - outside a checkout
        return "unknown"


def write_model_file(path, G, provenance, description, license_text=OFFICIAL_LICENSE, dtype=np.float32):
    """Writes an official Generator as a facegen model file; returns the model id."""
    config = generator_config_from_official(G)
    tensors = official_state(G, dtype)
    model_id = fnv1a64_hex(tensors)
    metadata = {
        "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
        "generator_config": json.dumps(config), "model_id": model_id, "license": license_text,
        "provenance": json.dumps(provenance), "description": description,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "facegen_version": f"{facegen_version()} (scripts/convert_official.py)",
    }
    write_safetensors(path, tensors, metadata)
    return model_id


def import_official(checkout):
    checkout = os.path.abspath(checkout)
    if not os.path.isfile(os.path.join(checkout, "training", "networks.py")):
        sys.exit(f"error: '{checkout}' is not a StyleGAN2-ADA checkout (no training/networks.py)")
    sys.path.insert(0, checkout)
