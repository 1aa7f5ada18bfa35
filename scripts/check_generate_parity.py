#!/usr/bin/env python3
"""End-to-end parity of `facegen generate` with the official generate.py pipeline: loads a
facegen model file's weights into the official Generator, draws z with
np.random.RandomState(seed).randn(1, z_dim), runs psi 0.7 / const noise, converts as
generate.py does, and compares with the PNGs facegen wrote. Needs an official checkout
(supplied by you) and Debian's python3-torch/numpy.

    facegen generate --model M --seeds 42,7 --out OUT
    /usr/bin/python3 scripts/check_generate_parity.py OFFICIAL_DIR M OUT 42 7
"""
import json, os, struct, sys, zlib
official, path, out_dir = sys.argv[1:4]
seeds = [int(s) for s in sys.argv[4:]] or [42]
sys.path.insert(0, official)
import numpy as np, torch
from training.networks import Generator
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8+n]); base = 8 + n
cfg = json.loads(hdr['__metadata__']['generator_config'])
G = Generator(z_dim=cfg['z_dim'], c_dim=cfg['c_dim'], w_dim=cfg['w_dim'], img_resolution=cfg['resolution'],
              img_channels=cfg['img_channels'], mapping_kwargs=dict(num_layers=cfg['n_mapping_layers']),
              synthesis_kwargs=dict(channel_base=cfg['channel_base'], channel_max=cfg['channel_max'], num_fp16_res=0,
                                    conv_clamp=cfg['conv_clamp'] or None)).eval()
sd = G.state_dict()
for k, v in hdr.items():
    if k == '__metadata__': continue
    a, b = v['data_offsets']
    assert v['dtype'] == 'F32', 'float32 model files only'
    t = torch.from_numpy(np.frombuffer(raw[base+a:base+b], dtype=np.float32).reshape(v['shape']).copy())
    assert k in sd, k
    sd[k].copy_(t)
def read_png_rgb(p):
    d = open(p,'rb').read(); pos = 8; idat = b''; w = h = 0
    while pos < len(d):
        ln = struct.unpack('>I', d[pos:pos+4])[0]; typ = d[pos+4:pos+8]; body = d[pos+8:pos+8+ln]; pos += 12 + ln
        if typ == b'IHDR': w, h = struct.unpack('>II', body[:8])
        if typ == b'IDAT': idat += body
    data = zlib.decompress(idat); stride = w*3; out = np.zeros((h, stride), np.int32); prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = data[y*(stride+1)]; line = np.frombuffer(data[y*(stride+1)+1:(y+1)*(stride+1)], np.uint8).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x-3] if x >= 3 else 0; b = prev[x]; c = prev[x-3] if x >= 3 else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = b
            elif f == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2*c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur; prev = cur
    return out.reshape(h, w, 3)
worst = 0
for seed in seeds:
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim))
    with torch.no_grad():
        img = G(z, torch.zeros(1, 0), truncation_psi=0.7, noise_mode='const')
    img = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy().astype(np.int32)
    ours = read_png_rgb(os.path.join(out_dir, f'seed{seed:04d}.png'))
    diff = np.abs(img - ours)
    worst = max(worst, int(diff.max()))
    print('seed', seed, 'max abs diff', diff.max(), 'pixels differing', (diff > 0).sum(), 'of', diff.size)
sys.exit(0 if worst == 0 else 1)
