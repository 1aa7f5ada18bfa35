#!/usr/bin/env python3
"""Converts an official StyleGAN2-ADA network pickle (G_ema) to a facegen model file.

    /usr/bin/python3 scripts/convert_official.py --official /path/to/stylegan2-ada-pytorch \\
        --pkl ffhq.pkl --out ffhq.safetensors [--dtype float16]

The pickle is loaded with the official legacy.load_network_pkl (so TF-era pickles work too);
the generator config is derived from G_ema's init_kwargs and unsupported options are refused
with a message. The output records its provenance and the official licence (NVIDIA Source
Code License-NC): weights trained with the official code stay under that licence.

--self-test builds a small random official generator, pickles it the way official training
snapshots are saved (pickle.dump of dict(G_ema=...)), converts it and checks the result."""

import argparse
import copy
import os
import pickle
import sys
import tempfile

import numpy as np

import facegen_official as fo


def convert(pkl_path, out_path, dtype):
    import legacy  # official, from --official
    with open(pkl_path, "rb") as f:
        data = legacy.load_network_pkl(f)
    if "G_ema" not in data:
        sys.exit(f"error: '{pkl_path}' has no G_ema network (keys: {sorted(data)})")
    G = data["G_ema"]
    try:
        config = fo.generator_config_from_official(G)
    except fo.UnsupportedNetwork as e:
        sys.exit(f"error: cannot convert '{pkl_path}': {e}")
    provenance = {"converted_from": os.path.basename(pkl_path), "converter": "scripts/convert_official.py",
                  "source": "official StyleGAN2-ADA network pickle (G_ema)"}
    init_kwargs = getattr(G, "init_kwargs", None)
    if init_kwargs and (init_kwargs.get("synthesis_kwargs") or {}).get("num_fp16_res"):
        provenance["note"] = "official network ran its highest resolutions in fp16; facegen computes in fp32"
    model_id = fo.write_model_file(out_path, G, provenance=provenance,
                                   description=f"StyleGAN2-ADA generator converted from {os.path.basename(pkl_path)}",
                                   dtype=np.float16 if dtype == "float16" else np.float32)
    return config, model_id


def read_safetensors(path):
    """Minimal reader for the self-test (numpy + json)."""
    import json
    import struct
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    meta = header.pop("__metadata__", {})
    names = {"F32": np.float32, "F16": np.float16}
    tensors = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=names[v["dtype"]]).reshape(v["shape"])
               for k, v in header.items()}
    return tensors, meta


def self_test():
    import json
    import torch
    from training import networks
    torch.manual_seed(0)
    G = networks.Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=16, img_channels=3,
                           mapping_kwargs=dict(num_layers=2),
                           synthesis_kwargs=dict(channel_base=256, channel_max=16, conv_clamp=256, num_fp16_res=0))
    with tempfile.TemporaryDirectory() as tmp:
        pkl = os.path.join(tmp, "network-snapshot-000000.pkl")
        with open(pkl, "wb") as f:
            D = networks.Discriminator(c_dim=0, img_resolution=16, img_channels=3, channel_base=256, channel_max=16)
            pickle.dump(dict(G=G, D=D, G_ema=copy.deepcopy(G).eval(), augment_pipe=None, training_set_kwargs=None), f)
        out = os.path.join(tmp, "model.safetensors")
        config, model_id = convert(pkl, out, "float32")
        tensors, meta = read_safetensors(out)
        assert meta["format"] == "facegen-model" and meta["model_id"] == model_id, meta
        assert json.loads(meta["generator_config"]) == config, meta["generator_config"]
        assert config["conv_clamp"] == 256.0 and config["n_mapping_layers"] == 2 and config["resolution"] == 16, config
        assert json.loads(meta["provenance"])["converted_from"] == "network-snapshot-000000.pkl"
        assert "NVIDIA Source Code License-NC" in meta["license"]
        state = {k: v for k, v in G.state_dict().items() if not k.endswith("resample_filter")}
        assert set(state) == set(tensors), set(state) ^ set(tensors)
        for k, v in state.items():
            assert np.array_equal(v.numpy(), tensors[k]), k
        G_bad = networks.Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=16, img_channels=3,
                                   synthesis_kwargs=dict(channel_base=256, channel_max=16, architecture="resnet"))
        with open(pkl, "wb") as f:
            pickle.dump(dict(G_ema=G_bad), f)
        try:
            fo.generator_config_from_official(G_bad)
            raise AssertionError("architecture=resnet was not refused")
        except fo.UnsupportedNetwork as e:
            assert "architecture" in str(e), e
    print("convert_official self-test passed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", default=os.environ.get("FACEGEN_OFFICIAL"),
                        help="StyleGAN2-ADA checkout, for legacy.py / training/ (default $FACEGEN_OFFICIAL)")
    parser.add_argument("--pkl", help="network pickle (local path)")
    parser.add_argument("--out", help="output model file (.safetensors)")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="storage dtype (default float32)")
    parser.add_argument("--self-test", action="store_true", help="convert a random official generator and check it")
    args = parser.parse_args()
    if not args.official:
        parser.error("no official checkout: give --official DIR or set FACEGEN_OFFICIAL")
    fo.import_official(args.official)
    if args.self_test:
        self_test()
        return
    if not args.pkl or not args.out:
        parser.error("--pkl and --out are required (or --self-test)")
    if not os.path.isfile(args.pkl):
        sys.exit(f"error: network pickle '{args.pkl}' not found")
    config, model_id = convert(args.pkl, args.out, args.dtype)
    print(f"{args.out}: model_id {model_id}, config {config}")


if __name__ == "__main__":
    main()
