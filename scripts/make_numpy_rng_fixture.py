#!/usr/bin/env python3
"""Writes tests/unit/fixtures/numpy_rng.txt: what numpy's legacy RandomState draws for a
few seeds, so tests/unit/core_numpy_rng_test.cpp can prove facegen's C++ generator
bit-exact; and a few tiny .npy/.npz files written by numpy itself for the array reader
tests (tests/unit/core_npy_test.cpp): values are arange-based, documented there.

Usage: /usr/bin/python3 scripts/make_numpy_rng_fixture.py [OUT]   (needs python3-numpy)

Format, one record per line, values as float.hex() (exact) or decimal integers:
    key <seed> <k0> <k1> <k623>             MT19937 key right after seeding (first, second, last)
    uniform <seed> <n> <v...>               RandomState(seed).random_sample(n)
    randn <seed> <n> <v...>                 RandomState(seed).randn(1, n)  (generate.py's z)
    randn_calls <seed> <n1>,<n2>,... <v...> successive randn(n_i) calls on one state
"""
import os
import sys

import numpy as np

SEEDS_FULL = [0, 1, 2**32 - 1]          # a whole z of the default z_dim
SEEDS_SHORT = [2, 42, 1234, 2**31, 2**31 - 1, 4000000000]
Z_DIM = 512


def hexes(values):
    return ' '.join(float(v).hex() for v in values)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'tests', 'unit', 'fixtures', 'numpy_rng.txt')
    lines = [f'# made by scripts/make_numpy_rng_fixture.py with numpy {np.__version__}']
    for seed in SEEDS_FULL + SEEDS_SHORT:
        key = np.random.RandomState(seed).get_state()[1]
        lines.append(f'key {seed} {key[0]} {key[1]} {key[623]}')
        n = Z_DIM if seed in SEEDS_FULL else 32
        lines.append(f'uniform {seed} 16 {hexes(np.random.RandomState(seed).random_sample(16))}')
        lines.append(f'randn {seed} {n} {hexes(np.random.RandomState(seed).randn(1, n)[0])}')
    # Odd counts: the cached second gaussian must carry over from one call to the next.
    state = np.random.RandomState(7)
    counts = [3, 1, 5, 2]
    values = np.concatenate([state.randn(c) for c in counts])
    lines.append(f'randn_calls 7 {",".join(map(str, counts))} {hexes(values)}')
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(out)
    write_array_fixtures(os.path.dirname(out))


def write_array_fixtures(folder):
    """Arrays numpy writes, for the .npy/.npz reader: value i of each is i / 8."""
    ws = (np.arange(2 * 3 * 4, dtype=np.float32) / 8).reshape(2, 3, 4)
    np.save(os.path.join(folder, 'array_f4_2x3x4.npy'), ws)
    np.save(os.path.join(folder, 'array_f8_2x3.npy'), (np.arange(6, dtype=np.float64) / 8).reshape(2, 3))
    np.save(os.path.join(folder, 'array_f4_fortran_2x3.npy'),
            np.asfortranarray((np.arange(6, dtype=np.float32) / 8).reshape(2, 3)))
    np.save(os.path.join(folder, 'array_i4_2x3.npy'), np.arange(6, dtype=np.int32).reshape(2, 3))
    # As the official projector writes it: key 'w', shape [1, num_ws, w_dim].
    np.savez(os.path.join(folder, 'latents_w_2x3x4.npz'), w=ws)
    np.savez_compressed(os.path.join(folder, 'latents_z_compressed_2x4.npz'),
                        z=(np.arange(8, dtype=np.float64) / 8).reshape(2, 4))


if __name__ == '__main__':
    main()
