#!/usr/bin/env python3
"""Pixel parity of two folders of PNGs with the same file names (e.g. `facegen generate
--device cpu` against `--device cuda`, same seeds), as one JSON document.

    bench/png_parity.py [--out parity.json] NAME DIR_A DIR_B [NAME DIR_A DIR_B ...]

For each NAME: per image the largest and the mean absolute difference in 8-bit levels and
how many channel values / pixels differ; over all images the same figures and a histogram
of the differences (0, 1, 2, 3+ levels). Needs only the standard library (a small decoder
for the 8-bit, non-interlaced PNGs facegen writes); uses numpy and Pillow when both are
there. Exits 0 whenever it could compare (the figures are the result, not a verdict);
2 on bad arguments or a folder with no PNG in common.
"""
import argparse
import json
import os
import struct
import sys
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError:  # the pure-Python path below
    np = None


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(path):
    """(width, height, channels, bytes) of an 8-bit non-interlaced gray/RGB/gray+alpha/RGBA PNG."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError(f'{path}: not a PNG')
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', chunk)
        elif kind == b'IDAT':
            idat.append(chunk)
        elif kind == b'IEND':
            break
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f'{path}: only 8-bit non-interlaced gray/RGB(A) PNGs are supported')
    raw = zlib.decompress(b''.join(idat))
    stride = width * channels
    out = bytearray(stride * height)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                up_left = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, prev[i], up_left)) & 255
        elif kind != 0:
            raise ValueError(f'{path}: bad PNG filter {kind}')
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return width, height, channels, bytes(out)


def image_diffs(path_a, path_b):
    """Absolute differences (as a list of counts per level 0..255) and the pixel count."""
    if np is not None:
        a = np.asarray(Image.open(path_a), dtype=np.int16)
        b = np.asarray(Image.open(path_b), dtype=np.int16)
        if a.shape != b.shape:
            raise ValueError(f'{path_a}: shape {a.shape} vs {b.shape}')
        d = np.abs(a - b).reshape(a.shape[0] * a.shape[1], -1)
        counts = np.bincount(d.ravel(), minlength=256).tolist()
        return counts, int((d.max(axis=1) > 0).sum()), a.shape[0] * a.shape[1]
    wa, ha, ca, a = decode_png(path_a)
    wb, hb, cb, b = decode_png(path_b)
    if (wa, ha, ca) != (wb, hb, cb):
        raise ValueError(f'{path_a}: {wa}x{ha}x{ca} vs {wb}x{hb}x{cb}')
    counts = [0] * 256
    pixels_differing = 0
    for p in range(0, len(a), ca):
        differs = False
        for i in range(p, p + ca):
            d = abs(a[i] - b[i])
            counts[d] += 1
            differs = differs or d > 0
        pixels_differing += differs
    return counts, pixels_differing, wa * ha


def summarise(counts):
    n = sum(counts)
    largest = max((level for level, c in enumerate(counts) if c), default=0)
    return {
        'max_abs_diff': largest,
        'mean_abs_diff': round(sum(level * c for level, c in enumerate(counts)) / max(n, 1), 6),
        'values': n,
        'values_differing': n - counts[0],
        'fraction_values_differing': round((n - counts[0]) / max(n, 1), 6),
        'histogram': {'0': counts[0], '1': counts[1], '2': counts[2], '3+': sum(counts[3:])},
    }


def compare(dir_a, dir_b):
    names_a = {n for n in os.listdir(dir_a) if n.endswith('.png')} if os.path.isdir(dir_a) else set()
    names_b = {n for n in os.listdir(dir_b) if n.endswith('.png')} if os.path.isdir(dir_b) else set()
    common = sorted(names_a & names_b)
    result = {'a': dir_a, 'b': dir_b, 'n_images': len(common),
              'only_in_a': sorted(names_a - names_b), 'only_in_b': sorted(names_b - names_a)}
    if not common:
        result['error'] = 'no PNG in common'
        return result
    total = [0] * 256
    per_image = {}
    pixels_differing = pixels = 0
    for name in common:
        counts, differing, n_pixels = image_diffs(os.path.join(dir_a, name), os.path.join(dir_b, name))
        total = [t + c for t, c in zip(total, counts)]
        pixels_differing += differing
        pixels += n_pixels
        s = summarise(counts)
        per_image[name] = {'max': s['max_abs_diff'], 'mean': s['mean_abs_diff'],
                           'values_differing': s['values_differing'], 'pixels_differing': differing}
    result.update(summarise(total))
    result['pixels'] = pixels
    result['pixels_differing'] = pixels_differing
    result['images_identical'] = sum(1 for v in per_image.values() if v['max'] == 0)
    result['per_image'] = per_image
    return result


def dumps_readable(report):
    """JSON with one line per key and per image (json.dump's indent puts every number on its own line)."""
    lines = []
    for i, (key, value) in enumerate(report.items()):
        end = ',' if i + 1 < len(report) else ''
        if not isinstance(value, dict):
            lines.append(f' {json.dumps(key)}: {json.dumps(value)}{end}')
            continue
        lines.append(f' {json.dumps(key)}: {{')
        items = list(value.items())
        for j, (k, v) in enumerate(items):
            sep = ',' if j + 1 < len(items) else ''
            if k == 'per_image':
                inner = [f'   {json.dumps(n)}: {json.dumps(d)}' for n, d in v.items()]
                lines.append('  "per_image": {\n' + ',\n'.join(inner) + '\n  }' + sep)
            else:
                lines.append(f'  {json.dumps(k)}: {json.dumps(v)}{sep}')
        lines.append(' }' + end)
    return '{\n' + '\n'.join(lines) + '\n}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', help='write the JSON here (default: stdout only)')
    parser.add_argument('triples', nargs='+', metavar='NAME DIR_A DIR_B')
    args = parser.parse_args()
    if len(args.triples) % 3:
        parser.error('give NAME DIR_A DIR_B triples')
    report = {'decoder': 'numpy+PIL' if np is not None else 'pure-python'}
    ok = True
    for i in range(0, len(args.triples), 3):
        name, dir_a, dir_b = args.triples[i:i + 3]
        try:
            report[name] = compare(dir_a, dir_b)
        except (OSError, ValueError) as e:
            report[name] = {'a': dir_a, 'b': dir_b, 'error': str(e)}
        ok = ok and 'error' not in report[name]
        short = {k: v for k, v in report[name].items() if k not in ('a', 'b', 'per_image', 'only_in_a', 'only_in_b')}
        print(name, json.dumps(short), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(dumps_readable(report) + '\n')
    return 0 if ok else 2


if __name__ == '__main__':
    sys.exit(main())
