#!/usr/bin/env python3
"""Writes the golden fixtures of tests/golden/ from the official StyleGAN2-ADA code.

Run once (needs torch + numpy, e.g. Debian's /usr/bin/python3):
    /usr/bin/python3 scripts/make_golden_fixtures.py --official DIR   (or FACEGEN_OFFICIAL=DIR)
where DIR is a stylegan2-ada-pytorch checkout that you supply.

For each small official network built with a fixed seed it writes
  <name>.model.safetensors  generator weights in the facegen model format (same code path as
                            scripts/convert_official.py)  -- or <name>.weights.safetensors for D
  <name>.io.safetensors     inputs and NAMED official outputs: z, c, ws, ws_psi*, per-block
                            b<r>.x / b<r>.img, img, ...; D: img, c, b<r>.x, b4.mbstd, b4.conv,
                            b4.fc, logits
so a failing C++ golden test says which layer diverged."""

import argparse
import json
import os

import numpy as np

import facegen_official as fo

BATCH = 2
PSI = 0.7
CUTOFF = 4


def perturb_(module, torch):
    """Random init leaves biases at 0 and noise strengths at 0; perturb every parameter and
    w_avg so that every path (bias, noise, truncation) contributes to the output."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
        for name, b in module.named_buffers():
            if name.endswith("w_avg"):
                b.copy_(torch.randn_like(b))


def generator_fixture(out_dir, name, seed, torch, networks, c_dim=0, conv_clamp=None, channel_max=32,
                      per_block=True):
    torch.manual_seed(seed)
    G = networks.Generator(z_dim=64, c_dim=c_dim, w_dim=64, img_resolution=32, img_channels=3,
                           mapping_kwargs=dict(num_layers=2),
                           synthesis_kwargs=dict(channel_base=512, channel_max=channel_max, conv_clamp=conv_clamp,
                                                 num_fp16_res=0))
    perturb_(G, torch)
    G.eval()
    z = torch.randn([BATCH, 64])
    c = torch.eye(c_dim)[torch.arange(BATCH) % c_dim] if c_dim > 0 else None
    io = {"z": z}
    if c is not None:
        io["c"] = c
    with torch.no_grad():
        ws = G.mapping(z, c)
        io["ws"] = ws
        io["ws_psi"] = G.mapping(z, c, truncation_psi=PSI)
        io["ws_psi_cutoff"] = G.mapping(z, c, truncation_psi=PSI, truncation_cutoff=CUTOFF)
        x = img = None
        w_idx = 0
        for res in G.synthesis.block_resolutions:
            block = getattr(G.synthesis, f"b{res}")
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, cur, noise_mode="const", force_fp32=True)
            if per_block:
                io[f"b{res}.x"] = x
                io[f"b{res}.img"] = img
            last_img = img
        io["img"] = G.synthesis(ws, noise_mode="const", force_fp32=True)
        io["img_psi"] = G.synthesis(io["ws_psi"], noise_mode="const", force_fp32=True)
        io["img_psi_cutoff"] = G.synthesis(io["ws_psi_cutoff"], noise_mode="const", force_fp32=True)
        io["img_no_noise"] = G.synthesis(ws, noise_mode="none", force_fp32=True)
        io["img_single"] = G.synthesis(ws[:1], noise_mode="const", force_fp32=True)  # fused modconv path
    assert torch.allclose(io["img"], last_img)
    fo.write_model_file(os.path.join(out_dir, f"{name}.model.safetensors"), G,
                        provenance={"golden_fixture": name, "seed": seed},
                        description=f"golden fixture {name}", license_text="test fixture")
    fo.write_safetensors(os.path.join(out_dir, f"{name}.io.safetensors"),
                         {k: v.detach().numpy().astype(np.float32) for k, v in io.items()},
                         {"truncation_psi": str(PSI), "truncation_cutoff": str(CUTOFF)})


def discriminator_fixture(out_dir, name, seed, torch, networks, c_dim=0, channel_max=32):
    torch.manual_seed(seed)
    D = networks.Discriminator(c_dim=c_dim, img_resolution=32, img_channels=3, channel_base=512,
                               channel_max=channel_max, num_fp16_res=0, conv_clamp=None, mapping_kwargs=dict(num_layers=2),
                               epilogue_kwargs=dict(mbstd_group_size=2))
    perturb_(D, torch)
    D.eval()
    img = torch.randn([BATCH, 3, 32, 32])
    c = torch.eye(c_dim)[torch.arange(BATCH) % c_dim] if c_dim > 0 else None
    io = {"img": img}
    if c is not None:
        io["c"] = c
    with torch.no_grad():
        x = None
        y = img
        for res in D.block_resolutions:
            x, y = getattr(D, f"b{res}")(x, y, force_fp32=True)
            io[f"b{res}.x"] = x
        e = D.b4
        h = e.mbstd(x)
        io["b4.mbstd"] = h
        h = e.conv(h)
        io["b4.conv"] = h
        h = e.fc(h.flatten(1))
        io["b4.fc"] = h
        if c_dim > 0:
            io["mapping.cmap"] = D.mapping(None, c)
        io["logits"] = D(img, c, force_fp32=True)
    config = {"c_dim": c_dim, "resolution": 32, "img_channels": 3, "channel_base": 512, "channel_max": channel_max,
              "mbstd_group_size": 2, "mbstd_num_channels": 1, "conv_clamp": 0.0, "n_mapping_layers": 2,
              "cmap_dim": 0, "mapping_lr_multiplier": 0.01}
    fo.write_safetensors(os.path.join(out_dir, f"{name}.weights.safetensors"), fo.official_state(D),
                         {"discriminator_config": json.dumps(config)})
    fo.write_safetensors(os.path.join(out_dir, f"{name}.io.safetensors"),
                         {k: v.detach().numpy().astype(np.float32) for k, v in io.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", default=os.environ.get("FACEGEN_OFFICIAL"),
                        help="StyleGAN2-ADA checkout, read only (default $FACEGEN_OFFICIAL)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                                      "golden", "fixtures"))
    args = parser.parse_args()
    if not args.official:
        parser.error("no official checkout: give --official DIR or set FACEGEN_OFFICIAL")
    fo.import_official(args.official)
    import torch
    from training import networks
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    generator_fixture(args.out, "g_base", 101, torch, networks)
    generator_fixture(args.out, "g_clamp", 102, torch, networks, conv_clamp=0.5, channel_max=16, per_block=False)
    generator_fixture(args.out, "g_cond", 103, torch, networks, c_dim=4, channel_max=16, per_block=False)
    discriminator_fixture(args.out, "d_base", 201, torch, networks)
    discriminator_fixture(args.out, "d_cond", 202, torch, networks, c_dim=4, channel_max=16)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote fixtures to {os.path.abspath(args.out)} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
