#!/usr/bin/env bash
# Why is `facegen bench train --device cuda` slow? One bounded run on a lent GPU machine:
# build facegen as bench/gpu_checks.sh does, then time training at 64x64 (channel base 4096,
# max 128) with batch 16, 64 and 256 in fp32 and fp16 (if img/s grows with the batch, each
# step is bound by launches/synchronisation/host work, not by GPU arithmetic), the official
# StyleGAN2-ADA at the same configurations (bench/official_train_cuda.py; fp32 and the official
# mixed precision) for the ratio, GPU utilisation (nvidia-smi every 500 ms) during one facegen
# and one official run, facegen with 1 CPU thread, the official code with facegen's backend
# settings (no cudnn.benchmark, TF32 convolutions), and, if time is left, 256x256 batch 32.
#
#   bash bench/gpu_train_diagnosis.sh
#
# Same conventions as bench/gpu_checks.sh: every step bounded by `timeout` and by the global
# budget, a failed step never stops the next, summary.json rewritten after every step. Needs
# .carry/ (as gpu_checks.sh) and the official code in .carry/official (training/, torch_utils/,
# dnnlib/ of NVlabs/stylegan2-ada-pytorch). Files in $OUT (7):
#   summary.json  results.jsonl  run.log  build.log  build_errors.txt  official.log  gpu_util.csv
# results.jsonl: one line per timed step: {"step", "system", "rc", "cpu": {real, user, sys} of
# the whole process, "result": its JSON line}.
#
# Environment:
#   OUT                      output folder (default out/gpu-train-diagnosis)
#   FACEGEN_DIAG_DEVICE      device (default cuda; cpu for a dry run, which implies QUICK=1)
#   BUILD_DIR                build folder (default build-cuda); SKIP_BUILD=1 uses BUILD_DIR/bin/facegen
#   QUICK=1                  tiny sizes, one timed step: checks the command lines
#   DIAG_BUDGET_S            seconds for the whole script, build included (default 420)
#   OFFICIAL                 official checkout (default .carry/official)
#   PYTHON                   python with torch (default python3)
#   JOBS, THREADS            build jobs (16), CPU threads given to facegen (16)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
START=$(date +%s)

OUT=${OUT:-$ROOT/out/gpu-train-diagnosis}
DEVICE=${FACEGEN_DIAG_DEVICE:-cuda}
BUILD_DIR=${BUILD_DIR:-build-cuda}
SKIP_BUILD=${SKIP_BUILD:-0}
QUICK=${QUICK:-$([ "$DEVICE" = cpu ] && echo 1 || echo 0)}
BUDGET=${DIAG_BUDGET_S:-420}
OFFICIAL=${OFFICIAL:-$ROOT/.carry/official}
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-16}
THREADS=${THREADS:-16}
CARRY=$ROOT/.carry

mkdir -p "$OUT" || exit 1
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
FACEGEN=$BUILD_DIR/bin/facegen
RUN_LOG=$OUT/run.log BUILD_LOG=$OUT/build.log SUMMARY=$OUT/summary.json RESULTS=$OUT/results.jsonl
OFF_LOG=$OUT/official.log UTIL=$OUT/gpu_util.csv
: >"$RUN_LOG"; : >"$RESULTS"; : >"$OFF_LOG"; : >"$UTIL"; : >"$OUT/build_errors.txt"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/facegen-train-diag.XXXXXX") || exit 1
SAMPLER=""
trap '[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null; rm -rf "$TMP"' EXIT

export LD_LIBRARY_PATH=$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export TORCH_EXTENSIONS_DIR=$TMP/torch_extensions   # the official plugins, built once, reused
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=$PATH:/usr/local/cuda/bin; fi

log() { printf '[%4ds] %s\n' "$(($(date +%s) - START))" "$*" | tee -a "$RUN_LOG"; }
json_str() {
  printf '%s' "$1" | awk 'BEGIN { ORS = ""; printf "\"" }
    { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, ""); if (NR > 1) printf "\\n"; print }
    END { printf "\"" }'
}
INFO="" STEPS=""
info() { INFO="$INFO${INFO:+, }$(json_str "$1"): $2"; }
write_summary() {
  { printf '{"script": "bench/gpu_train_diagnosis.sh", "device": %s, "quick": %s, "budget_s": %s, "elapsed_s": %s,\n' \
      "$(json_str "$DEVICE")" "$QUICK" "$BUDGET" "$(($(date +%s) - START))"
    printf ' %s,\n "steps": [\n%s\n ]}\n' "${INFO:-\"info\": null}" "$STEPS"; } >"$SUMMARY.tmp" && mv "$SUMMARY.tmp" "$SUMMARY"
}
record() {  # NAME RC SECONDS STATUS NOTE
  STEPS="$STEPS${STEPS:+,
}$(printf '  {"step": %s, "rc": %s, "seconds": %s, "status": %s, "note": %s}' \
    "$(json_str "$1")" "$2" "$3" "$(json_str "$4")" "$(json_str "$5")")"
  write_summary
}

# step [--log FILE] NAME LIMIT_S COMMAND...: as in gpu_checks.sh (limit cut to the budget left;
# skipped under 15 s), and the command runs under bash's `time`: a "#cpu {...}" line (wall,
# user and system CPU seconds of the whole process) ends $STEP_OUT.
STEP_OUT=$TMP/step.out STEP_RC=0
step() {
  local to="" name limit left t0 t1 rc status note=""
  if [ "$1" = --log ]; then to=$2; shift 2; fi
  name=$1 limit=$2; shift 2
  : >"$STEP_OUT"
  left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 15 ]; then
    log "== $name: SKIPPED (time budget spent)"; STEP_RC=125
    record "$name" null 0 skipped "time budget spent"; return 0
  fi
  [ "$left" -lt "$limit" ] && { limit=$left; note="limit cut to the budget left"; }
  log "== $name (limit ${limit}s): $*"
  t0=$(date +%s.%N)
  if [ -n "$to" ]; then
    echo "### $name: $*" >>"$to"
    timeout -k 5 "$limit" "$@" >>"$to" 2>&1; rc=$?
    echo "### $name: rc $rc" >>"$to"
  else
    timeout -k 5 "$limit" bash -c 'TIMEFORMAT="#cpu {\"real\": %R, \"user\": %U, \"sys\": %S}"; { time "$@" 2>&3; } 3>&2 2>&1' \
      _ "$@" >"$STEP_OUT" 2>>"${STEP_ERR:-$RUN_LOG}"; rc=$?
    cat "$STEP_OUT" >>"$RUN_LOG"
  fi
  t1=$(date +%s.%N)
  case $rc in 0) status=ok ;; 124 | 137) status=timeout ;; *) status=failed ;; esac
  log "== $name: $status (rc $rc)"
  STEP_RC=$rc
  record "$name" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$status" "$note"
}
skip() { log "== $1: SKIPPED ($2)"; record "$1" null 0 skipped "$2"; }
collect() {  # NAME SYSTEM: the step's last JSON line and its #cpu line into results.jsonl
  local line cpu
  line=$(grep '^{' "$STEP_OUT" | tail -n 1); cpu=$(grep '^#cpu ' "$STEP_OUT" | tail -n 1)
  cpu=${cpu#\#cpu }
  printf '{"step": %s, "system": %s, "rc": %s, "cpu": %s, "result": %s}\n' "$(json_str "$1")" "$(json_str "$2")" \
    "$STEP_RC" "${cpu:-null}" "${line:-null}" >>"$RESULTS"
}
# GPU utilisation sampling around one step (marker line, then nvidia-smi's CSV).
sample_start() {
  command -v nvidia-smi >/dev/null 2>&1 || { echo "# $1: no nvidia-smi" >>"$UTIL"; return 0; }
  echo "# $1" >>"$UTIL"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,power.draw,clocks.sm,memory.used \
    --format=csv,nounits -lms 500 >>"$UTIL" 2>&1 &
  SAMPLER=$!
}
sample_stop() { [ -n "$SAMPLER" ] && { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; }; SAMPLER=""; }

# ---------------------------------------------------------------------------------------------
log "facegen training diagnosis: device=$DEVICE build=$BUILD_DIR skip_build=$SKIP_BUILD quick=$QUICK budget=${BUDGET}s official=$OFFICIAL out=$OUT"
info nvidia_smi_L "$(json_str "$(nvidia-smi -L 2>&1 | head -4)")"
info nproc "$(nproc)"
info git "$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo none)")"
info official_present "$([ -f "$OFFICIAL/training/networks.py" ] && echo true || echo false)"
write_summary

# The official CUDA plugins compile in the background while facegen builds (bounded).
PLUGIN_PID=""
if [ -f "$OFFICIAL/training/networks.py" ]; then   # (on the CPU: a quick no-op that checks the path)
  log "compiling the official plugins in the background (TORCH_EXTENSIONS_DIR=$TORCH_EXTENSIONS_DIR)"
  ( t0=$(date +%s); echo "### official_plugins (background)" >>"$OFF_LOG"
    timeout -k 5 240 "$PYTHON" bench/official_train_cuda.py --official "$OFFICIAL" --device "$DEVICE" --compile-only \
      >"$TMP/plugins.out" 2>>"$OFF_LOG"
    echo "$? $(($(date +%s) - t0))" >"$TMP/plugins.rc" ) &
  PLUGIN_PID=$!
fi

# 1. Build facegen (the configure line of gpu_checks.sh; facegen only).
if [ "$SKIP_BUILD" = 1 ]; then
  skip build "SKIP_BUILD=1"; echo "SKIP_BUILD=1: using $FACEGEN" >"$BUILD_LOG"
else
  : >"$BUILD_LOG"
  TORCH_PREFIX=$("$PYTHON" -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>>"$RUN_LOG")
  ZLIB_LIB=""
  for f in /usr/lib/x86_64-linux-gnu/libz.so /lib/x86_64-linux-gnu/libz.so /usr/lib/x86_64-linux-gnu/libz.so.1 \
           /lib/x86_64-linux-gnu/libz.so.1 /usr/lib64/libz.so.1 /usr/lib/libz.so.1; do
    [ -e "$f" ] && { ZLIB_LIB=$f; break; }
  done
  [ -z "$ZLIB_LIB" ] && { ZLIB_LIB=$CARRY/zlib/libz.so.1; export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$CARRY/zlib; }
  ZLIB_INC=$CARRY/zlib/include; [ -e /usr/include/zlib.h ] && ZLIB_INC=/usr/include
  PNG_LIB=$CARRY/lib/libpng16.so.16
  step --log "$BUILD_LOG" configure 120 cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_PREFIX_PATH=$TORCH_PREFIX" "-DFACEGEN_EXTRA_INCLUDE=$CARRY/include" \
    -DFACEGEN_WITH_DATA=OFF -DFACEGEN_BUILD_BENCH=OFF -DFACEGEN_BUILD_TESTS=OFF \
    "-DPNG_LIBRARY=$PNG_LIB" "-DPNG_LIBRARY_RELEASE=$PNG_LIB" "-DPNG_PNG_INCLUDE_DIR=$CARRY/include" \
    "-DZLIB_LIBRARY=$ZLIB_LIB" "-DZLIB_LIBRARY_RELEASE=$ZLIB_LIB" "-DZLIB_INCLUDE_DIR=$ZLIB_INC" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5
  if [ "$STEP_RC" = 0 ]; then
    step --log "$BUILD_LOG" build 240 cmake --build "$BUILD_DIR" -j "$JOBS" --target facegen
  else
    skip build "configure failed"
  fi
  grep -n -E -m 40 -A 4 '(error:|CMake Error|FAILED:|undefined reference|fatal error)' "$BUILD_LOG" | head -n 120 >"$OUT/build_errors.txt"
fi
if [ -x "$FACEGEN" ] && [ "$DEVICE" != cpu ] && ! ldd "$FACEGEN" | grep -q libtorch_cuda; then
  TORCH_CUDA_SO=$("$PYTHON" -c 'import os,torch;print(os.path.join(os.path.dirname(torch.__file__),"lib","libtorch_cuda.so"))' 2>/dev/null)
  [ -f "$TORCH_CUDA_SO" ] && { export LD_PRELOAD=$TORCH_CUDA_SO; info ld_preload_torch_cuda "$(json_str "$TORCH_CUDA_SO")"; }
fi
info facegen_built "$([ -x "$FACEGEN" ] && echo true || echo false)"
write_summary

# Sizes.
if [ "$QUICK" = 1 ]; then
  CFG64=(--resolution 32 --channel-base 1024 --channel-max 32)
  CFG256=(--resolution 32 --channel-base 1024 --channel-max 64)
  B16=4 B64=8 B256=16 B256R=4 S16=1 S64=1 S256=1 SBIG=1 OFF_EXTRA=(--warmup 1) PHASE=1
else
  CFG64=(--resolution 64 --channel-base 4096 --channel-max 128)
  CFG256=(--resolution 256 --channel-base 16384 --channel-max 512)
  B16=16 B64=64 B256=256 B256R=32 S16=16 S64=8 S256=8 SBIG=4 OFF_EXTRA=() PHASE=4
fi
COMMON=(--map-layers 2 --mbstd-group 4)
# A CPU dry run has no half-precision convolutions: the official "mixed" runs become fp32, and
# facegen's fp16 runs bf16 (only there).
MIXED=mixed FP16=fp16
[ "$DEVICE" = cpu ] && MIXED=fp32 FP16=bf16
FG=("$FACEGEN" bench train --device "$DEVICE" "${COMMON[@]}")
OFF=("$PYTHON" bench/official_train_cuda.py --official "$OFFICIAL" --device "$DEVICE" "${COMMON[@]}" "${OFF_EXTRA[@]}")

fg() {  # NAME LIMIT ARGS...: a facegen run into results.jsonl (FG_THREADS: its --threads)
  local name=$1 limit=$2; shift 2
  if [ -x "$FACEGEN" ]; then step "$name" "$limit" "${FG[@]}" --threads "${FG_THREADS:-$THREADS}" "$@"; collect "$name" facegen; else skip "$name" "no facegen binary"; fi
}
PLUGINS_WAITED=0
off() {  # NAME LIMIT ARGS...: an official run (stderr, with its warnings, into official.log)
  local name=$1 limit=$2; shift 2
  [ -f "$OFFICIAL/training/networks.py" ] || { skip "$name" "no official checkout at $OFFICIAL"; return 0; }
  if [ "$PLUGINS_WAITED" = 0 ] && [ -n "$PLUGIN_PID" ]; then
    log "waiting for the background plugin build"
    wait "$PLUGIN_PID"; PLUGINS_WAITED=1
    read -r prc psec 2>/dev/null <"$TMP/plugins.rc" || { prc=null psec=0; }
    log "official plugins: rc $prc after ${psec}s"
    record official_plugins_background "${prc:-null}" "${psec:-0}" "$([ "$prc" = 0 ] && echo ok || echo failed)" "bias_act + upfirdn2d via torch.utils.cpp_extension"
    cp "$TMP/plugins.out" "$STEP_OUT" 2>/dev/null; STEP_RC=${prc:-null}; collect official_plugins official
  fi
  echo "### $name: ${OFF[*]} $*" >>"$OFF_LOG"
  STEP_ERR=$OFF_LOG step "$name" "$limit" "${OFF[@]}" "$@"
  collect "$name" official
}

# 2. The core comparison at 64x64, batch 16, fp32; GPU utilisation sampled for both.
sample_start "facegen_b16_fp32"
fg facegen_b16_fp32 45 "${CFG64[@]}" --batch "$B16" --precision fp32 --steps "$S16"
sample_stop
sample_start "official_b16_fp32"
off official_b16_fp32 120 "${CFG64[@]}" --batch "$B16" --precision fp32 --steps "$S16" --phase-steps "$PHASE"
sample_stop
# 3. Does facegen's img/s scale with the batch? (fp32, then fp16)
fg facegen_b64_fp32 45 "${CFG64[@]}" --batch "$B64" --precision fp32 --steps "$S64"
fg facegen_b256_fp32 60 "${CFG64[@]}" --batch "$B256" --precision fp32 --steps "$S64"
# 4. The official code at the other 64x64 points.
off official_b16_mixed 60 "${CFG64[@]}" --batch "$B16" --precision "$MIXED" --steps "$S16" --phase-steps "$PHASE"
off official_b64_fp32 60 "${CFG64[@]}" --batch "$B64" --precision fp32 --steps "$S64"
off official_b64_mixed 60 "${CFG64[@]}" --batch "$B64" --precision "$MIXED" --steps "$S64"
fg facegen_b16_fp16 45 "${CFG64[@]}" --batch "$B16" --precision "$FP16" --steps "$S16"
fg facegen_b64_fp16 45 "${CFG64[@]}" --batch "$B64" --precision "$FP16" --steps "$S64"
fg facegen_b256_fp16 60 "${CFG64[@]}" --batch "$B256" --precision "$FP16" --steps "$S64"
# 5. Host-side evidence: facegen with one CPU thread; the official code with facegen's backend
#    settings (no cudnn.benchmark, TF32 convolutions) to size those settings' share.
FG_THREADS=1 fg facegen_b16_fp32_threads1 45 "${CFG64[@]}" --batch "$B16" --precision fp32 --steps "$S16"
off official_b16_fp32_facegen_backend 60 "${CFG64[@]}" --batch "$B16" --precision fp32 --steps "$S16" --cudnn-benchmark 0 --allow-tf32 1
off official_b256_fp32 60 "${CFG64[@]}" --batch "$B256" --precision fp32 --steps "$S64"
# 6. If time is left: 256x256, batch 32.
off official_256_b32_mixed 90 "${CFG256[@]}" --batch "$B256R" --precision "$MIXED" --steps "$S256"
fg facegen_256_b32_fp16 60 "${CFG256[@]}" --batch "$B256R" --precision "$FP16" --steps "$SBIG"
off official_256_b32_fp32 90 "${CFG256[@]}" --batch "$B256R" --precision fp32 --steps "$S256"

# 7. Digest: throughput table, facegen/official ratios, GPU utilisation per sampled run.
"$PYTHON" - "$RESULTS" "$UTIL" >"$TMP/digest.txt" 2>&1 <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ips = {}
print("%-36s %4s %9s %9s %6s %6s %9s  %s" % ("step", "rc", "img/s", "ms/step", "cpu/wall", "wall_s", "gpuMiB", "notes"))
for r in rows:
    res, cpu = r.get("result") or {}, r.get("cpu") or {}
    v = res.get("train_images_per_s"); ips[r["step"]] = v
    ms = res.get("step_ms") or (1e3 * res["batch"] / v if v and res.get("batch") else None)
    ratio = (cpu.get("user", 0) + cpu.get("sys", 0)) / cpu["real"] if cpu.get("real") else None
    mem = res.get("peak_gpu_allocated_MiB")
    notes = []
    if r["system"] == "official":
        if "plugins_loaded" in res: notes.append("plugins=%s" % res["plugins_loaded"])
        if "conv2d_gradfix_active" in res: notes.append("gradfix=%s" % res["conv2d_gradfix_active"])
        if res.get("phase_ms_mean"): notes.append("phase_ms=%s" % json.dumps(res["phase_ms_mean"]))
        if res.get("warnings"): notes.append("warnings=%d" % len(res["warnings"]))
        if res.get("error"): notes.append("error=" + res["error"][:120])
    print("%-36s %4s %9s %9s %6s %6s %9s  %s" % (r["step"], r["rc"], "-" if v is None else "%.1f" % v,
          "-" if ms is None else "%.1f" % ms, "-" if ratio is None else "%.2f" % ratio, cpu.get("real", "-"),
          "-" if mem is None else "%.0f" % mem, " ".join(notes)))
print("--- facegen / official img/s")
for a, b in [("facegen_b16_fp32", "official_b16_fp32"), ("facegen_b16_fp16", "official_b16_mixed"),
             ("facegen_b64_fp32", "official_b64_fp32"), ("facegen_b64_fp16", "official_b64_mixed"),
             ("facegen_b256_fp32", "official_b256_fp32"), ("facegen_256_b32_fp16", "official_256_b32_mixed")]:
    if ips.get(a) and ips.get(b): print("%s / %s = %.3f" % (a, b, ips[a] / ips[b]))
print("--- GPU utilisation (nvidia-smi, 500 ms samples): mean/max util %, mean power W, max memory MiB")
cur, s = None, {}
for line in open(sys.argv[2]):
    line = line.strip()
    if line.startswith("#"): cur = line[1:].strip(); s[cur] = []; continue
    f = [x.strip() for x in line.split(",")]
    if cur is None or len(f) < 6 or not f[1].replace(".", "").isdigit(): continue
    try: s[cur].append((float(f[1]), float(f[3]), float(f[5])))
    except ValueError: pass
for k, v in s.items():
    if v: print("%s: n=%d util mean %.0f max %.0f, power mean %.0f W, memory max %.0f MiB" % (k, len(v),
          sum(x[0] for x in v) / len(v), max(x[0] for x in v), sum(x[1] for x in v) / len(v), max(x[2] for x in v)))
    else: print("%s: no samples" % k)
PY
info digest "$(json_str "$(cat "$TMP/digest.txt")")"
write_summary
log "done in $(($(date +%s) - START)) s; files in $OUT:"
ls -l "$OUT" | tee -a "$RUN_LOG"
echo "--- digest"; cat "$TMP/digest.txt"
echo "--- official warnings (unique)"; grep -h -o '"warnings": \[[^]]*\]' "$RESULTS" | sort -u | head -c 2500; echo
echo "--- steps"; grep -o '"step": "[^"]*", "rc": [^,]*, "seconds": [^,]*, "status": "[^"]*"' "$SUMMARY"
echo "--- build_errors.txt (head)"; head -c 1500 "$OUT/build_errors.txt"
exit 0
