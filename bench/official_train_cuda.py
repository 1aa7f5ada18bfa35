#!/usr/bin/env python3
"""Times training minibatches of the official StyleGAN2-ADA (PyTorch) on a GPU (or the CPU).

The yardstick for `facegen bench train --device cuda`: the official networks and loss are
imported from a checkout you supply (--official; it is not part of this project), built at
the configuration given, and trained on uniform-noise reals with the phase schedule that
facegen's benchmark uses (src/train/bench.cpp): Gmain and Dmain every minibatch, Greg (path
length, gain 4) every 4th, Dreg (R1, gain 16) every 16th, counted from minibatch 0; style
mixing 0.9; no augmentation; Adam lr 0.0025, betas (0, 0.99) with the official lazy
regularisation correction; G_ema updated after every minibatch. Warm-up minibatches first,
then the timed ones between two torch.cuda.synchronize() calls. Prints one JSON line.

    python3 bench/official_train_cuda.py --official .carry/official --device cuda \
        --resolution 64 --channel-base 4096 --channel-max 128 --batch 16 --precision fp32

--precision fp32: num_fp16_res 0, no conv clamp. --precision mixed (alias fp16): the official
mixed precision, num_fp16_res 4 and conv_clamp 256 in G and D. By default the official
training loop's backend settings: cudnn.benchmark on, TF32 off (--allow-tf32 1 turns it on in
cuDNN and cuBLAS), conv2d_gradfix enabled (it disables itself, with a warning, on PyTorch
versions it does not know). The official CUDA plugins (bias_act, upfirdn2d) are compiled with
torch.utils.cpp_extension at start-up (set TORCH_EXTENSIONS_DIR to reuse a build); whether
they loaded, and every warning raised (e.g. the fall-back to the slow reference ops), goes
into the JSON. --compile-only builds the plugins and stops. --phase-steps N: after the timed
run, N more minibatches with a synchronize after each phase, for milliseconds per phase.
"""
import argparse
import contextlib
import copy
import json
import os
import resource
import sys
import time
import types
import warnings

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
p.add_argument('--official', required=True, help='stylegan2-ada-pytorch checkout (training/, torch_utils/, dnnlib/)')
p.add_argument('--device', default='cuda')
p.add_argument('--resolution', type=int, default=64)
p.add_argument('--channel-base', type=int, default=4096)
p.add_argument('--channel-max', type=int, default=128)
p.add_argument('--map-layers', type=int, default=2)
p.add_argument('--z-dim', type=int, default=512)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--mbstd-group', type=int, default=4)
p.add_argument('--precision', default='fp32', choices=['fp32', 'mixed', 'fp16'])
p.add_argument('--steps', type=int, default=16, help='timed minibatches')
p.add_argument('--warmup', type=int, default=2, help='untimed minibatches first')
p.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: leave the default)')
p.add_argument('--allow-tf32', type=int, default=0, choices=[0, 1])
p.add_argument('--cudnn-benchmark', type=int, default=1, choices=[0, 1])
p.add_argument('--gradfix', type=int, default=1, choices=[0, 1], help='conv2d_gradfix.enabled as the official loop')
p.add_argument('--phase-steps', type=int, default=0, help='extra minibatches timed phase by phase')
p.add_argument('--compile-only', action='store_true', help='build/load the CUDA plugins and stop')
p.add_argument('--seed', type=int, default=0)
args = p.parse_args()

T_START = time.perf_counter()
result = {'system': 'stylegan2-ada-pytorch', 'script': 'bench/official_train_cuda.py'}
caught = []  # every warning, in order


def on_warning(message, category, filename, lineno, file=None, line=None):
    caught.append('%s: %s' % (category.__name__, str(message)))
    print('warning: %s: %s' % (category.__name__, str(message).strip().splitlines()[0] if str(message).strip() else ''),
          file=sys.stderr)


warnings.showwarning = on_warning
warnings.simplefilter('always')

# The official dnnlib imports `requests` (downloads) and `distutils.util` (gone from Python
# 3.12 unless setuptools' shim is there); neither is used here, so stand-ins if missing.
shims = []
try:
    import requests  # noqa: F401
except ImportError:
    sys.modules['requests'] = types.ModuleType('requests')
    shims.append('requests')
try:
    import distutils.util  # noqa: F401
except ImportError:
    dist = types.ModuleType('distutils')
    dist_util = types.ModuleType('distutils.util')

    def strtobool(value):
        return 1 if str(value).lower() in ('y', 'yes', 't', 'true', 'on', '1') else 0

    dist_util.strtobool = strtobool
    dist.util = dist_util
    sys.modules['distutils'] = dist
    sys.modules['distutils.util'] = dist_util
    shims.append('distutils.util')
result['import_shims'] = shims

sys.path.insert(0, os.path.abspath(args.official))
import torch  # noqa: E402

from torch_utils import custom_ops  # noqa: E402
from torch_utils.ops import bias_act, conv2d_gradfix, upfirdn2d  # noqa: E402
from training.loss import StyleGAN2Loss  # noqa: E402
from training.networks import Discriminator, Generator  # noqa: E402

dev = torch.device(args.device)
cuda = dev.type == 'cuda'
if cuda and dev.index is None:
    dev = torch.device('cuda', torch.cuda.current_device())  # set_device() wants an index
if args.threads > 0:
    torch.set_num_threads(args.threads)
result.update(torch=torch.__version__, cuda=torch.version.cuda, device=str(dev), threads=torch.get_num_threads())
if cuda:
    torch.cuda.set_device(dev)
    props = torch.cuda.get_device_properties(dev)
    result.update(gpu=props.name, capability='%d.%d' % (props.major, props.minor))


def emit():
    result['warnings'] = list(dict.fromkeys(w[:400] for w in caught))  # unique, in order
    result['total_s'] = round(time.perf_counter() - T_START, 2)
    print(json.dumps(result), flush=True)


# The official training loop's backend settings.
torch.backends.cudnn.benchmark = bool(args.cudnn_benchmark)
torch.backends.cuda.matmul.allow_tf32 = bool(args.allow_tf32)
torch.backends.cudnn.allow_tf32 = bool(args.allow_tf32)
conv2d_gradfix.enabled = bool(args.gradfix)
result.update(cudnn_benchmark=bool(args.cudnn_benchmark), allow_tf32=bool(args.allow_tf32), gradfix_enabled=bool(args.gradfix))

# The plugins: built (or loaded from TORCH_EXTENSIONS_DIR) now, so that the timing excludes it.
plugins = {'torch_extensions_dir': os.environ.get('TORCH_EXTENSIONS_DIR')}
if cuda:
    custom_ops.verbosity = 'brief'
    for name, mod in (('bias_act', bias_act), ('upfirdn2d', upfirdn2d)):
        t = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # "Setting up PyTorch plugin ..." off stdout
            plugins[name] = bool(mod._init())
        plugins[name + '_s'] = round(time.perf_counter() - t, 1)
    # conv2d_gradfix decides per call; ask it once for a CUDA tensor (it warns if it gives up).
    result['conv2d_gradfix_active'] = bool(conv2d_gradfix._should_use_custom_op(torch.empty([1], device=dev)))
else:
    plugins.update(bias_act='not used (cpu)', upfirdn2d='not used (cpu)')
    result['conv2d_gradfix_active'] = False
result['plugins'] = plugins
result['plugins_loaded'] = bool(cuda and plugins['bias_act'] is True and plugins['upfirdn2d'] is True)
if args.compile_only:
    emit()
    sys.exit(0 if (not cuda or result['plugins_loaded']) else 3)

# Networks, loss, optimizers: as the official training loop sets them up for one GPU.
torch.manual_seed(args.seed)
res, batch = args.resolution, args.batch
mixed = args.precision in ('mixed', 'fp16')
num_fp16_res = 4 if mixed else 0
conv_clamp = 256 if mixed else None
result.update(precision='mixed' if mixed else 'fp32', num_fp16_res=num_fp16_res, conv_clamp=conv_clamp, resolution=res,
              channel_base=args.channel_base, channel_max=args.channel_max, map_layers=args.map_layers,
              z_dim=args.z_dim, batch=batch, mbstd_group=args.mbstd_group)
G = Generator(z_dim=args.z_dim, c_dim=0, w_dim=args.z_dim, img_resolution=res, img_channels=3,
              mapping_kwargs=dict(num_layers=args.map_layers),
              synthesis_kwargs=dict(channel_base=args.channel_base, channel_max=args.channel_max,
                                    num_fp16_res=num_fp16_res, conv_clamp=conv_clamp))
D = Discriminator(c_dim=0, img_resolution=res, img_channels=3, channel_base=args.channel_base,
                  channel_max=args.channel_max, num_fp16_res=num_fp16_res, conv_clamp=conv_clamp,
                  epilogue_kwargs=dict(mbstd_group_size=args.mbstd_group))
G = G.train().requires_grad_(False).to(dev)
D = D.train().requires_grad_(False).to(dev)
G_ema = copy.deepcopy(G).eval()
result['G_params_M'] = round(sum(t.numel() for t in G.parameters()) / 1e6, 3)
result['D_params_M'] = round(sum(t.numel() for t in D.parameters()) / 1e6, 3)

r1_gamma = 0.0002 * res * res / batch  # the official 'auto' configuration's heuristic
loss = StyleGAN2Loss(device=dev, G_mapping=G.mapping, G_synthesis=G.synthesis, D=D, augment_pipe=None,
                     style_mixing_prob=0.9, r1_gamma=r1_gamma, pl_batch_shrink=2, pl_decay=0.01, pl_weight=2)
G_REG, D_REG = 4, 16
phases = []  # (name, module, optimizer, interval) in the official order
for name, module, interval in (('G', G, G_REG), ('D', D, D_REG)):
    ratio = interval / (interval + 1)  # lazy regularisation: lr and betas corrected as the official loop does
    opt = torch.optim.Adam(module.parameters(), lr=0.0025 * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)
    phases.append((name + 'main', module, opt, 1))
    phases.append((name + 'reg', module, opt, interval))

ema_beta = 0.5 ** (batch / 10000.0)  # ema_kimg 10, no ramp-up (facegen's benchmark sets ema_rampup 0)
reals_cpu = (torch.rand([batch, 3, res, res], generator=torch.Generator().manual_seed(args.seed)) * 255).to(torch.uint8)
if cuda:
    reals_cpu = reals_cpu.pin_memory()
no_c = torch.zeros([batch, 0], device=dev)


def sync():
    if cuda:
        torch.cuda.synchronize(dev)


def train_step(batch_idx, phase_ms=None):
    reals = reals_cpu.to(dev, non_blocking=True).to(torch.float32) / 127.5 - 1
    for name, module, opt, interval in phases:
        if batch_idx % interval != 0:
            continue
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        z = torch.randn([batch, args.z_dim], device=dev)
        loss.accumulate_gradients(phase=name, real_img=reals, real_c=no_c, gen_z=z, gen_c=no_c, sync=True,
                                  gain=interval)
        module.requires_grad_(False)
        for param in module.parameters():
            if param.grad is not None:
                torch.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
        opt.step()
        if phase_ms is not None:
            sync()
            phase_ms.setdefault(name, []).append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    with torch.no_grad():
        for p_ema, p_cur in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p_cur.lerp(p_ema, ema_beta))
        for b_ema, b_cur in zip(G_ema.buffers(), G.buffers()):
            b_ema.copy_(b_cur)
    if phase_ms is not None:
        sync()
        phase_ms.setdefault('Gema', []).append((time.perf_counter() - t) * 1e3)


stage = 'warm-up'
try:
    t = time.perf_counter()
    for i in range(args.warmup):
        train_step(i)
    sync()
    result['warmup_s'] = round(time.perf_counter() - t, 2)
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    stage = 'timed'
    n_greg = sum(1 for i in range(args.steps) if i % G_REG == 0)
    n_dreg = sum(1 for i in range(args.steps) if i % D_REG == 0)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    sync()
    t0 = time.perf_counter()
    for i in range(args.steps):
        train_step(i)
    sync()
    seconds = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    result.update(timed_steps=args.steps, warmup_steps=args.warmup, greg_phases=n_greg, dreg_phases=n_dreg,
                  timed_s=round(seconds, 3), step_ms=round(seconds / args.steps * 1e3, 2),
                  train_images_per_s=round(args.steps * batch / seconds, 3),
                  cpu_user_s=round(ru1.ru_utime - ru0.ru_utime, 2), cpu_sys_s=round(ru1.ru_stime - ru0.ru_stime, 2))
    if cuda:
        result['peak_gpu_allocated_MiB'] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
        result['peak_gpu_reserved_MiB'] = round(torch.cuda.max_memory_reserved(dev) / 2**20, 1)
    if args.phase_steps > 0:
        stage = 'phase timing'
        phase_ms = {}
        for i in range(args.phase_steps):
            train_step(i, phase_ms)
        result['phase_ms_mean'] = {k: round(sum(v) / len(v), 2) for k, v in phase_ms.items()}
        result['phase_counts'] = {k: len(v) for k, v in phase_ms.items()}
except Exception as e:  # report what was measured so far, then fail
    result['error'] = '%s during %s: %s' % (type(e).__name__, stage, str(e)[:1000])
    result['peak_rss_MiB'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    emit()
    raise
result['peak_rss_MiB'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
emit()
