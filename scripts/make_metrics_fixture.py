#!/usr/bin/env python3
"""Writes tests/golden/metrics_tiny_detector.pt: a tiny TorchScript stand-in for the
official FID/KID feature network (inception-2015-12-05.pt) with the same call signature,
`detector(images_uint8_NCHW, return_features=True) -> float32 [N, D]`, so the FID/KID path
from images is tested end to end without the 90 MB Inception file.

Features: images / 255, area-averaged to 8x8, times a fixed random projection (seed 0)
to D = 64, followed by a mild nonlinearity. Any image size is accepted (the real network
resizes to 299 itself; this one pools to 8x8). Saved with Debian's python3-torch (1.13),
whose TorchScript files also load in LibTorch 2.x.

Usage: /usr/bin/python3 scripts/make_metrics_fixture.py [output.pt]
"""
import math
import sys

import torch
import torch.nn.functional as F

FEATURE_DIM = 64
POOLED = 8


class TinyDetector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        fan_in = 3 * POOLED * POOLED
        self.register_buffer("projection", torch.randn(fan_in, FEATURE_DIM, generator=generator) / math.sqrt(fan_in))
        self.register_buffer("classifier", torch.randn(FEATURE_DIM, 10, generator=generator))

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        if img.dtype != torch.uint8:
            raise RuntimeError("expected uint8 images")
        if img.dim() != 4 or img.shape[1] != 3:
            raise RuntimeError("expected images [N, 3, H, W]")
        x = F.adaptive_avg_pool2d(img.to(torch.float32) / 255.0, [8, 8])  # POOLED
        features = x.flatten(1) @ self.projection
        features = features + 0.1 * features * features
        if return_features:
            return features
        return torch.softmax(features @ self.classifier, dim=1)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/metrics_tiny_detector.pt"
    module = torch.jit.script(TinyDetector().eval())
    module.save(out)
    check = torch.jit.load(out)
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    features = check(images, return_features=True)
    assert features.shape == (2, FEATURE_DIM) and features.dtype == torch.float32
    print(f"wrote {out}: features {tuple(features.shape)}")


if __name__ == "__main__":
    main()
