#!/usr/bin/env python3
"""The figures of a model card, measured with facegen itself (standard library only).

    scripts/measure_model.py --model M.safetensors --data DATASET [--run RUN_DIR ...]
                             [--psi 0.5,0.6,0.7,0.8,0.9,1.0] [--grid docs/samples.png]
                             [--facegen build/bin/facegen] [--threads 2] [--out figures.json]

Measures
  * SWD (x10^3, built in) of the model against the held-out (val) split of DATASET at each
    truncation psi, as many fakes as there are val images;
  * the real-vs-real floor: SWD of the train split against the val split, same set size;
  * the default psi: the smallest psi whose SWD is within --tolerance (10%) of the best
    psi's, i.e. as typical (clean) faces as possible while the set of faces still matches
    the real distribution about as well as it can (quality vs diversity);
  * the learning curve: SWD over kimg from RUN_DIR/log.jsonl (evaluated during training
    against a random subset of the dataset, see docs/training.md); --run again for each
    later run folder of the same model (continued with `facegen train --init-from` the
    previous folder's model.safetensors), in order; --curve-from OLD.json
    keeps the points of an earlier figures file from before the run's first point (a model
    continued with `facegen train --init-from` after its first run folder was lost);
  * the memorisation check: each generated face's distance to its nearest training face
    (RMS over pixels, mirrored training faces included), at the chosen psi, next to the same
    for the held-out real faces (people the model never saw); --pairs writes the closest
    generated faces beside their nearest training faces for a person to judge (it holds
    training images: keep it out of the repository);
  * a grid of 64 faces at seeds 0-63 at the chosen psi.
Prints and writes one JSON document; never fails on the figures themselves.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(command):
    print('measure_model:', ' '.join(command), file=sys.stderr)
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def learning_curve(run_dir):
    curve = []
    path = os.path.join(run_dir, 'log.jsonl')
    if not os.path.exists(path):
        return curve
    with open(path) as log:
        for line in log:
            record = json.loads(line)
            if 'metrics' in record and 'swd_avg' in record['metrics']:
                curve.append({'kimg': round(record['kimg'], 3), 'swd_avg': round(record['metrics']['swd_avg'], 3),
                              'time_s': round(record.get('time_s', 0.0), 1)})
    return curve


def join_curves(earlier, later):
    """A continued run's points replace the earlier curve's from its first point on."""
    first = later[0]['kimg'] if later else float('inf')
    return [point for point in earlier if point['kimg'] < first] + later


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True)
    parser.add_argument('--data', required=True)
    parser.add_argument('--run', action='append', default=[],
                        help='training run folder (for the learning curve); repeat for continued runs, in order')
    parser.add_argument('--psi', default='0.5,0.6,0.7,0.8,0.9,1.0')
    parser.add_argument('--tolerance', type=float, default=0.10)
    parser.add_argument('--grid', help='write a grid of seeds 0-63 at the chosen psi here')
    parser.add_argument('--pairs', help='write the 16 generated faces closest to training faces, each beside it, here')
    parser.add_argument('--facegen', default=os.path.join(ROOT, 'build', 'bin', 'facegen'))
    parser.add_argument('--threads', default='2')
    parser.add_argument('--num', default='100000', help='images per SWD set (capped by the val split)')
    parser.add_argument('--out', help='also write the JSON here')
    parser.add_argument('--curve-from', help='earlier figures JSON whose learning-curve points precede the run')
    args = parser.parse_args()

    curve = []
    for run in args.run:
        curve = join_curves(curve, learning_curve(run))
    if args.curve_from:
        with open(args.curve_from) as f:
            curve = join_curves(json.load(f).get('learning_curve', []), curve)

    common = ['--threads', args.threads, '--metric', 'swd', '--num', args.num]
    floor = run_json([args.facegen, 'metrics', '--data', args.data, '--real-vs-real', '--split-a', 'train',
                      '--split-b', 'val'] + common)
    sweep = []
    for psi in [float(p) for p in args.psi.split(',')]:
        result = run_json([args.facegen, 'metrics', '--model', args.model, '--data', args.data, '--split', 'val',
                           '--truncation-psi', str(psi)] + common)
        sweep.append({'psi': psi, 'swd_avg': round(result['value'], 3),
                      'figures': {k: round(v, 3) for k, v in result['figures'].items()},
                      'num_images': result['num_images_a']})
    best = min(entry['swd_avg'] for entry in sweep)
    chosen = min(entry['psi'] for entry in sweep if entry['swd_avg'] <= best * (1 + args.tolerance))
    nearest_common = ['--threads', args.threads, '--metric', 'nearest', '--num', str(floor['num_images_b'])]
    nearest_real = run_json([args.facegen, 'metrics', '--data', args.data, '--real-vs-real', '--split-a', 'train',
                             '--split-b', 'val'] + nearest_common)
    nearest_model = run_json([args.facegen, 'metrics', '--model', args.model, '--data', args.data, '--split', 'train',
                              '--truncation-psi', str(chosen)] + nearest_common +
                             (['--pairs', args.pairs] if args.pairs else []))
    report = {
        'model': args.model,
        'data': args.data,
        'swd_real_vs_real': {'swd_avg': round(floor['value'], 3),
                             'figures': {k: round(v, 3) for k, v in floor['figures'].items()},
                             'num_images': floor['num_images_a']},
        'swd_vs_val_by_psi': sweep,
        'chosen_psi': chosen,
        'rule': 'smallest psi with SWD within %d%% of the best psi' % round(args.tolerance * 100),
        'learning_curve': curve,
        'nearest_training_face': {
            'distance': 'RMS over pixels in uint8 units, mirrored training faces included',
            'held_out_real': {k: round(v, 3) for k, v in nearest_real['figures'].items()},
            'model': {k: round(v, 3) for k, v in nearest_model['figures'].items()},
            'model_psi': chosen,
            'num_images': nearest_model['num_images_b'],
            'num_training_images': nearest_model['num_images_a'],
        },
    }
    if args.grid:
        subprocess.run([args.facegen, 'generate', '--model', args.model, '--seeds', '0-63', '--truncation-psi',
                        str(chosen), '--grid', args.grid, '--grid-columns', '8', '--threads', args.threads],
                       check=True, stdout=subprocess.DEVNULL)
        report['grid'] = args.grid
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
