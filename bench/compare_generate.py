#!/usr/bin/env python3
"""Side-by-side generation throughput: the official StyleGAN2-ADA and `facegen bench
generate`, run alternately in one go so both see the same machine load. Fetches nothing;
needs Debian's python3 (and python3-torch for the official side), an official checkout and
the peer script that times it (not part of facegen), both supplied by you.

    bench/compare_generate.py --official DIR [--peer FILE] [--facegen BIN] [--rounds 2] [--threads 2]

DIR is a stylegan2-ada-pytorch checkout (or set FACEGEN_OFFICIAL=DIR); FILE the peer
timing script (or FACEGEN_PEER=FILE; default ../shared/tools/peer_stylegan2_ada.py beside
the repository, where the development machines keep it).

Prints one JSON line: each system's median figures over the rounds, every round's raw
figures, and the ratios facegen/official (batched images/s) and official/facegen
(batch-1 ms per image), both > 1 when facegen is faster. Never fails on the figures.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            return json.loads(line)
    raise ValueError('no JSON line in output:\n' + text)


def run(cmd):
    print('compare_generate: ' + ' '.join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f'compare_generate: command failed ({done.returncode}):\n{done.stderr[-2000:]}')
    return last_json_line(done.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--official', default=os.environ.get('FACEGEN_OFFICIAL'),
                   help='stylegan2-ada-pytorch checkout (default $FACEGEN_OFFICIAL)')
    p.add_argument('--peer', '--yardstick', dest='peer', default=os.environ.get(
        'FACEGEN_PEER', os.path.join(ROOT, '..', 'shared', 'tools', 'peer_stylegan2_ada.py')),
        help='the peer script that times the official code (default $FACEGEN_PEER, '
             'else ../shared/tools/peer_stylegan2_ada.py)')
    p.add_argument('--facegen', default=os.path.join(ROOT, 'build', 'bin', 'facegen'), help='facegen binary')
    p.add_argument('--python', default='/usr/bin/python3', help='python with torch for the official side')
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--resolution', type=int, default=64)
    p.add_argument('--channel-base', type=int, default=4096)
    p.add_argument('--channel-max', type=int, default=128)
    p.add_argument('--map-layers', type=int, default=2)
    p.add_argument('--z-dim', type=int, default=512)
    args = p.parse_args()
    if not args.official:
        p.error('no official checkout: give --official DIR or set FACEGEN_OFFICIAL')
    for path, what in ((args.official, 'official checkout'), (args.peer, 'peer timing script (--peer)'),
                       (args.facegen, 'facegen binary')):
        if not os.path.exists(path):
            sys.exit(f"compare_generate: {what} '{path}' not found")

    arch = ['--resolution', str(args.resolution), '--channel-base', str(args.channel_base),
            '--channel-max', str(args.channel_max), '--map-layers', str(args.map_layers), '--z-dim', str(args.z_dim)]
    official_cmd = [args.python, args.peer, '--official', args.official, '--steps', '0',
                    '--threads', str(args.threads), '--gen-batch', str(args.batch)] + arch
    facegen_cmd = [args.facegen, 'bench', 'generate', '--threads', str(args.threads), '--batch', str(args.batch),
                   '--min-seconds', '3'] + arch
    rounds = {'official': [], 'facegen': []}
    for _ in range(args.rounds):
        rounds['official'].append(run(official_cmd))
        rounds['facegen'].append(run(facegen_cmd))

    keys = ('generate_images_per_s_batched', 'generate_ms_per_image_batch1', 'peak_rss_MiB')
    median = {name: {k: statistics.median(r[k] for r in runs) for k in keys} for name, runs in rounds.items()}
    result = {
        'config': {'resolution': args.resolution, 'channel_base': args.channel_base, 'channel_max': args.channel_max,
                   'map_layers': args.map_layers, 'z_dim': args.z_dim, 'batch': args.batch, 'threads': args.threads},
        'rounds': args.rounds,
        'official': median['official'],
        'facegen': median['facegen'],
        'ratio_batched_images_per_s_facegen_over_official': round(
            median['facegen']['generate_images_per_s_batched'] / median['official']['generate_images_per_s_batched'], 3),
        'ratio_batch1_ms_official_over_facegen': round(
            median['official']['generate_ms_per_image_batch1'] / median['facegen']['generate_ms_per_image_batch1'], 3),
        'raw': rounds,
    }
    print(json.dumps(result))


if __name__ == '__main__':
    main()
