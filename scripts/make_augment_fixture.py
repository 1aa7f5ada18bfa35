#!/usr/bin/env python3
"""Writes tests/golden/data/augment/: outputs of the official StyleGAN2-ADA AugmentPipe
(training/augment.py) on a small seeded batch, for tests/unit/augment_golden_test.cpp.

The C++ pipeline draws its random numbers in the official order, and LibTorch and PyTorch
of the same version share the CPU generator, so `torch.manual_seed(s)` before each call
makes both pipelines draw the same augmentations.

Usage: /usr/bin/python3 scripts/make_augment_fixture.py --official DIR   (or FACEGEN_OFFICIAL=DIR)
  DIR: a stylegan2-ada-pytorch checkout that you supply.
Format: manifest.json lists each tensor's file (raw little-endian float32, C order) and shape.
"""
import argparse
import json
import os
import sys
import types

import numpy as np
import torch


def install_scipy_signal_stub():
    """augment.py imports scipy.signal only for a 2D full convolution with a 1-row kernel."""
    try:
        import scipy.signal  # noqa: F401
        return
    except ImportError:
        pass

    def convolve(a, b):
        a = np.atleast_2d(np.asarray(a, dtype=np.float64))
        b = np.atleast_2d(np.asarray(b, dtype=np.float64))
        assert b.shape[0] == 1
        return np.stack([np.convolve(row, b[0]) for row in a])

    scipy = types.ModuleType('scipy')
    signal = types.ModuleType('scipy.signal')
    signal.convolve = convolve
    scipy.signal = signal
    sys.modules['scipy'] = scipy
    sys.modules['scipy.signal'] = signal


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--official', default=os.environ.get('FACEGEN_OFFICIAL'),
                        help='stylegan2-ada-pytorch checkout (default $FACEGEN_OFFICIAL)')
    parser.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'tests', 'golden', 'data', 'augment'))
    args = parser.parse_args()
    if not args.official:
        parser.error('no official checkout: give --official DIR or set FACEGEN_OFFICIAL')
    if not os.path.isfile(os.path.join(args.official, 'training', 'augment.py')):
        parser.error(f"'{args.official}' is not a stylegan2-ada-pytorch checkout (no training/augment.py)")
    sys.path.insert(0, args.official)
    install_scipy_signal_stub()
    from training import augment  # pylint: disable=import-outside-toplevel

    presets = {
        'blit': dict(xflip=1, rotate90=1, xint=1),
        'geom': dict(scale=1, rotate=1, aniso=1, xfrac=1),
        'color': dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1),
        'filter': dict(imgfilter=1),
        'bgcfnc': dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                       lumaflip=1, hue=1, saturation=1, imgfilter=1, noise=1, cutout=1),
    }
    cases = [  # name, preset, p, seed
        ('blit_p1', 'blit', 1.0, 11),
        ('geom_p1', 'geom', 1.0, 12),
        ('color_p1', 'color', 1.0, 13),
        ('filter_p1', 'filter', 1.0, 14),
        ('bgcfnc_p08', 'bgcfnc', 0.8, 15),
    ]
    torch.manual_seed(2024)
    # A smooth image plus detail, in the [-1, 1] range of the training images.
    ramp = torch.linspace(-1, 1, 24)
    images = (0.6 * torch.sin(3 * ramp)[None, None, :, None] * torch.cos(2 * ramp)[None, None, None, :]
              + 0.3 * torch.rand([4, 3, 24, 24]) - 0.15).float()

    os.makedirs(args.out, exist_ok=True)
    manifest = {'generator': 'scripts/make_augment_fixture.py', 'torch': torch.__version__, 'tensors': {}, 'cases': []}

    def save(name, tensor):
        array = tensor.detach().cpu().contiguous().numpy().astype('<f4')
        array.tofile(os.path.join(args.out, name + '.f32'))
        manifest['tensors'][name] = {'file': name + '.f32', 'shape': list(array.shape)}

    save('input', images)
    for name, preset, p, seed in cases:
        pipe = augment.AugmentPipe(**presets[preset])
        pipe.p.copy_(torch.as_tensor(p))
        torch.manual_seed(seed)
        out = pipe(images)
        save(name, out)
        manifest['cases'].append({'name': name, 'preset': preset, 'p': p, 'seed': seed})

    # First-order gradient through the bgc pipeline (geometric + colour), weighted sum.
    pipe = augment.AugmentPipe(**presets['bgcfnc'])
    pipe.p.copy_(torch.as_tensor(0.8))
    x = images.clone().requires_grad_(True)
    torch.manual_seed(15)
    out = pipe(x)
    weight = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
    (grad,) = torch.autograd.grad((out * weight).sum(), [x])
    save('bgcfnc_p08_grad', grad)
    manifest['gradient'] = {'case': 'bgcfnc_p08', 'weight': 'linspace(-1, 1, numel) in C order'}

    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    print(os.path.abspath(args.out))


if __name__ == '__main__':
    main()
