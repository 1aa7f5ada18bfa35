#!/usr/bin/env bash
# The first checks on a lent CUDA machine (DEVELOPERS.md, "Building against a CUDA LibTorch"),
# as one bounded run: build facegen against the LibTorch inside the machine's PyTorch, then
# time generation and training on the GPU (and on its CPU for comparison), run the GPU-labelled
# tests, and compare CUDA and CPU images of the bundled model pixel by pixel.
#
#   bash bench/gpu_checks.sh            (from anywhere; works in the repository root)
#
# Needs the carry folder .carry/ (made by bench/make_carry.sh on a Debian machine: CLI11,
# nlohmann-json, libpng + zlib headers, libpng16.so.16, a prebuilt GoogleTest), python3 with
# torch, cmake, ninja, nvcc. Every step is bounded (`timeout`) and a failed step never stops
# the next; each step's exit status goes to $OUT/summary.json, rewritten after every step, so
# a run cut short still reports what it did. Steps that would start after the time budget
# are skipped. Files in $OUT (at most 8, the device tool's limit):
#   summary.json  build.log  build_errors.txt  run.log  bench_generate.jsonl
#   bench_train.jsonl  parity.json
#
# Environment (defaults are for the lent GPU machine):
#   OUT                          output folder (default out/gpu-checks)
#   FACEGEN_GPU_CHECKS_DEVICE    device of the "GPU" steps (default cuda; cpu for a dry run)
#   BUILD_DIR                    build folder (default build-cuda)
#   SKIP_BUILD=1                 use the facegen already in BUILD_DIR/bin (e.g. BUILD_DIR=build)
#   QUICK=1                      tiny sizes and short timings: checks every command line
#   GPU_CHECKS_BUDGET_S          seconds for the whole script (default 480)
#   JOBS                         build jobs (default 16)
#   CPU_THREADS                  threads of the CPU comparison runs (default 16)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
START=$(date +%s)

OUT=${OUT:-$ROOT/out/gpu-checks}
DEVICE=${FACEGEN_GPU_CHECKS_DEVICE:-cuda}
BUILD_DIR=${BUILD_DIR:-build-cuda}
SKIP_BUILD=${SKIP_BUILD:-0}
QUICK=${QUICK:-0}
BUDGET=${GPU_CHECKS_BUDGET_S:-480}
JOBS=${JOBS:-16}
CPU_THREADS=${CPU_THREADS:-16}
CARRY=$ROOT/.carry

mkdir -p "$OUT" || exit 1
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
FACEGEN=$BUILD_DIR/bin/facegen
GPU_TESTS=$BUILD_DIR/bin/augment_gpu_tests
RUN_LOG=$OUT/run.log
BUILD_LOG=$OUT/build.log
SUMMARY=$OUT/summary.json
GEN_JSONL=$OUT/bench_generate.jsonl
TRAIN_JSONL=$OUT/bench_train.jsonl
PARITY_JSON=$OUT/parity.json
: >"$RUN_LOG"
: >"$GEN_JSONL"
: >"$TRAIN_JSONL"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/facegen-gpu-checks.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# The carried libpng (and, where the machine has none, zlib) at run time.
export LD_LIBRARY_PATH=$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export PYTHONUNBUFFERED=1
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=$PATH:/usr/local/cuda/bin
fi

log() { printf '[%4ds] %s\n' "$(($(date +%s) - START))" "$*" | tee -a "$RUN_LOG"; }

# JSON string of $1 (quotes, backslashes, tabs, newlines escaped).
json_str() {
  printf '%s' "$1" | awk 'BEGIN { ORS = ""; printf "\"" }
    { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, ""); if (NR > 1) printf "\\n"; print }
    END { printf "\"" }'
}

INFO=""    # "key": value, ... for summary.json
STEPS=""   # {step}, ... for summary.json
info() { INFO="$INFO${INFO:+, }$(json_str "$1"): $2"; }

write_summary() {
  {
    printf '{"script": "bench/gpu_checks.sh", "device": %s, "quick": %s, "budget_s": %s, "elapsed_s": %s,\n' \
      "$(json_str "$DEVICE")" "$QUICK" "$BUDGET" "$(($(date +%s) - START))"
    printf ' %s,\n "steps": [\n%s\n ]}\n' "${INFO:-\"info\": null}" "$STEPS"
  } >"$SUMMARY.tmp" && mv "$SUMMARY.tmp" "$SUMMARY"
}

record() {  # NAME RC SECONDS STATUS NOTE
  local entry
  entry=$(printf '  {"step": %s, "rc": %s, "seconds": %s, "status": %s, "note": %s}' \
    "$(json_str "$1")" "$2" "$3" "$(json_str "$4")" "$(json_str "$5")")
  STEPS="$STEPS${STEPS:+,
}$entry"
  write_summary
}

# step [--log FILE] NAME LIMIT_S COMMAND...: runs COMMAND under timeout (its limit cut to what
# is left of the budget), stdout to $STEP_OUT and run.log, stderr to run.log; with --log, stdout
# and stderr both straight to FILE instead (kept even if the whole run is killed). Records the
# exit status in summary.json and in $STEP_RC.
STEP_OUT=$TMP/step.out
STEP_RC=0
step() {
  local to="" name limit left t0 t1 rc status note=""
  if [ "$1" = --log ]; then to=$2; shift 2; fi
  name=$1 limit=$2
  shift 2
  : >"$STEP_OUT"
  left=$((BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 15 ]; then
    log "== $name: SKIPPED (time budget spent)"
    STEP_RC=125
    record "$name" null 0 skipped "time budget spent"
    return 0
  fi
  [ "$left" -lt "$limit" ] && { limit=$left; note="limit cut to the budget left"; }
  log "== $name (limit ${limit}s): $*"
  t0=$(date +%s.%N)
  if [ -n "$to" ]; then
    echo "### $name: $*" >>"$to"
    timeout -k 5 "$limit" "$@" >>"$to" 2>&1
    rc=$?
    echo "### $name: rc $rc" >>"$to"
  else
    timeout -k 5 "$limit" "$@" >"$STEP_OUT" 2>>"$RUN_LOG"
    rc=$?
    cat "$STEP_OUT" >>"$RUN_LOG"
  fi
  t1=$(date +%s.%N)
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status=failed ;;
  esac
  log "== $name: $status (rc $rc)"
  STEP_RC=$rc
  record "$name" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$status" "$note"
}

skip() {  # NAME REASON
  log "== $1: SKIPPED ($2)"
  record "$1" null 0 skipped "$2"
}

# The step's JSON output line (the last line starting with '{'), labelled, into a .jsonl.
collect_json() {  # NAME FILE
  local line
  line=$(grep '^{' "$STEP_OUT" | tail -n 1)
  printf '{"step": %s, "rc": %s, "result": %s}\n' "$(json_str "$1")" "$STEP_RC" "${line:-null}" >>"$2"
}

# ---------------------------------------------------------------------------------------------
log "facegen GPU checks: device=$DEVICE build=$BUILD_DIR skip_build=$SKIP_BUILD quick=$QUICK budget=${BUDGET}s out=$OUT"

# 0. The machine.
{
  echo "--- uname"; uname -a
  echo "--- nproc"; nproc
  echo "--- memory"; free -g 2>/dev/null | head -2
  echo "--- nvidia-smi"; nvidia-smi 2>&1 | head -20
  echo "--- tools"; for t in python3 cmake ninja nvcc g++ c++; do printf '%s: %s\n' "$t" "$(command -v $t)"; done
  g++ --version 2>&1 | head -1; cmake --version 2>&1 | head -1; nvcc --version 2>&1 | tail -2
  echo "--- libz / libpng"; ldconfig -p 2>/dev/null | grep -E 'libz\.so|libpng' ; ls /usr/include/zlib.h 2>&1
} >>"$RUN_LOG" 2>&1
info nvidia_smi_L "$(json_str "$(nvidia-smi -L 2>&1 | head -8)")"
info nproc "$(nproc)"
TORCH_INFO=$(timeout 60 python3 -c '
import json, torch
d = {"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
     "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
     "cmake_prefix_path": torch.utils.cmake_prefix_path}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    d.update(gpu=p.name, capability="%d.%d" % (p.major, p.minor), gpu_memory_GiB=round(p.total_memory / 2**30, 1))
print(json.dumps(d))' 2>>"$RUN_LOG" | tail -n 1)
case $TORCH_INFO in "{"*) ;; *) TORCH_INFO=null ;; esac
info python_torch "$TORCH_INFO"
info tools "$(json_str "$( (g++ --version | head -1; cmake --version | head -1; nvcc --version | tail -1) 2>&1)")"
info git "$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo none)")"
write_summary

# 1. Configure and build.
if [ "$SKIP_BUILD" = 1 ]; then
  skip configure "SKIP_BUILD=1"
  skip build "SKIP_BUILD=1"
  echo "SKIP_BUILD=1: using $FACEGEN" >"$BUILD_LOG"
  : >"$OUT/build_errors.txt"
else
  TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>>"$RUN_LOG")
  # zlib: the machine's library (it has libz.so.1: python3's zlib module needs it), else the
  # carried one; headers from the carry folder unless the machine has them.
  ZLIB_LIB=""
  for f in /usr/lib/x86_64-linux-gnu/libz.so /lib/x86_64-linux-gnu/libz.so /usr/lib/x86_64-linux-gnu/libz.so.1 \
           /lib/x86_64-linux-gnu/libz.so.1 /usr/lib64/libz.so.1 /usr/lib/libz.so.1; do
    [ -e "$f" ] && { ZLIB_LIB=$f; break; }
  done
  if [ -z "$ZLIB_LIB" ]; then
    ZLIB_LIB=$CARRY/zlib/libz.so.1
    export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$CARRY/zlib
  fi
  ZLIB_INC=$CARRY/zlib/include
  [ -e /usr/include/zlib.h ] && ZLIB_INC=/usr/include
  info zlib_library "$(json_str "$ZLIB_LIB")"
  PNG_LIB=$CARRY/lib/libpng16.so.16
  GTEST_DIR=$CARRY/gtest/lib/x86_64-linux-gnu/cmake/GTest
  CONFIGURE=(cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_PREFIX_PATH=$TORCH_PREFIX" "-DFACEGEN_EXTRA_INCLUDE=$CARRY/include"
    -DFACEGEN_WITH_DATA=OFF -DFACEGEN_BUILD_BENCH=OFF
    "-DPNG_LIBRARY=$PNG_LIB" "-DPNG_LIBRARY_RELEASE=$PNG_LIB" "-DPNG_PNG_INCLUDE_DIR=$CARRY/include"
    "-DZLIB_LIBRARY=$ZLIB_LIB" "-DZLIB_LIBRARY_RELEASE=$ZLIB_LIB" "-DZLIB_INCLUDE_DIR=$ZLIB_INC"
    "-DGTest_DIR=$GTEST_DIR" "-DGTEST_ROOT=$CARRY/gtest" -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
  # With the GPU tests first (GoogleTest is carried prebuilt); if that configure fails,
  # again without tests so that facegen itself still gets built.
  : >"$BUILD_LOG"
  step --log "$BUILD_LOG" configure 150 "${CONFIGURE[@]}" -DFACEGEN_BUILD_TESTS=ON
  TARGETS=(facegen augment_gpu_tests)
  if [ "$STEP_RC" != 0 ]; then
    rm -rf "$BUILD_DIR/CMakeCache.txt" "$BUILD_DIR/CMakeFiles"
    step --log "$BUILD_LOG" configure_without_tests 120 "${CONFIGURE[@]}" -DFACEGEN_BUILD_TESTS=OFF
    TARGETS=(facegen)
  fi
  grep -E 'libpng|libzip|gloo|dataset tools|Torch|CUDA|cuDNN|Could NOT|Warning' "$BUILD_LOG" | head -40 >>"$RUN_LOG"
  if [ "$STEP_RC" = 0 ]; then
    # -k 0: a failing test target does not stop facegen (and the reverse).
    step --log "$BUILD_LOG" build 330 cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}" -- -k 0
  else
    skip build "configure failed"
  fi
  # The first errors are what to read first when the build fails.
  grep -n -E -m 60 -A 4 '(error:|CMake Error|FAILED:|undefined reference|fatal error|ninja: build stopped)' "$BUILD_LOG" | head -n 150 >"$OUT/build_errors.txt"
  if [ -x "$FACEGEN" ]; then
    { echo "--- ldd facegen (png, z, torch, missing)"; ldd "$FACEGEN" | grep -E 'png|libz|torch|c10|not found'; } >>"$RUN_LOG" 2>&1
    # LibTorch registers CUDA from libtorch_cuda.so's static initialisers: a binary linked
    # --as-needed without it sees no GPU. Torch's CMake package links it --no-as-needed; if
    # that did not happen, preload it (and say so) so that the GPU steps still run.
    if [ "$DEVICE" != cpu ] && ! ldd "$FACEGEN" | grep -q libtorch_cuda; then
      TORCH_CUDA_SO=$(python3 -c 'import os,torch;print(os.path.join(os.path.dirname(torch.__file__),"lib","libtorch_cuda.so"))' 2>/dev/null)
      if [ -f "$TORCH_CUDA_SO" ]; then
        export LD_PRELOAD=$TORCH_CUDA_SO
        info ld_preload_torch_cuda "$(json_str "$TORCH_CUDA_SO")"
        log "facegen does not link libtorch_cuda.so: preloading $TORCH_CUDA_SO"
      fi
    fi
  fi
fi
info facegen_built "$([ -x "$FACEGEN" ] && echo true || echo false)"
info png_enabled "$(grep -qs FACEGEN_HAVE_PNG "$BUILD_DIR/build.ninja" "$BUILD_DIR/src/core/CMakeFiles/facegen_core.dir/flags.make" && echo true || echo false)"
info gpu_tests_built "$([ -x "$GPU_TESTS" ] && echo true || echo false)"
write_summary

if [ ! -x "$FACEGEN" ]; then
  log "no $FACEGEN: nothing to run"
  for s in version gpu_tests bench_generate parity bench_train bench_generate_cpu; do skip "$s" "no facegen binary"; done
else
  # Sizes: full on the GPU machine; QUICK=1 only checks the command lines (tiny and short).
  if [ "$QUICK" = 1 ]; then
    GEN_TIME=(--min-seconds 0 --min-calls 1)
    GEN_BATCH=(--batch 2)
    CPU_GEN_TIME=("${GEN_TIME[@]}")
    BIG=(--resolution 16 --channel-base 32768 --channel-max 512 --map-layers 8 --batch 2)
    BIG_CPU=("${BIG[@]}" "${GEN_TIME[@]}")
    TRAIN=(--resolution 32 --batch 4 --steps 1)
    TRAIN_BIG=(--resolution 32 --channel-base 1024 --channel-max 32 --batch 4 --steps 1)
    SEEDS=0-3
  else
    GEN_TIME=()                                        # the yardstick's 3 s per figure
    GEN_BATCH=()                                       # 32
    CPU_GEN_TIME=(--min-seconds 2)
    BIG=(--resolution 1024 --channel-base 32768 --channel-max 512 --map-layers 8 --batch 8)
    # config F on the CPU: ~151 GFLOP per image, so one timed call per figure
    BIG_CPU=(--resolution 1024 --channel-base 32768 --channel-max 512 --map-layers 8 --batch 2 --min-seconds 0 --min-calls 1)
    TRAIN=(--steps 24)                                 # 64x64, channel base 4096, batch 16
    TRAIN_BIG=(--resolution 256 --channel-base 16384 --channel-max 512 --batch 32 --steps 8)
    SEEDS=0-31
  fi
  MODEL=$ROOT/models/facegen-default.safetensors

  # 2a. It starts, and sees the GPU.
  step version 30 "$FACEGEN" --version
  info facegen_version "$(json_str "$(head -3 "$STEP_OUT")")"

  # 2b. The GPU-labelled tests (augment_gpu_tests, CUDA against CPU with the same draws).
  if [ -x "$GPU_TESTS" ]; then
    step gpu_tests 90 env OMP_WAIT_POLICY=PASSIVE "$GPU_TESTS" --gtest_color=no
    info gpu_tests_result "$(json_str "$(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$STEP_OUT" | head -6)")"
  else
    skip gpu_tests "no $GPU_TESTS"
  fi

  # 2c. Generation throughput on the GPU: the default (yardstick) architecture, the bundled
  # model, and a 1024x1024 config-F generator.
  step bench_generate_default 60 "$FACEGEN" bench generate --device "$DEVICE" "${GEN_BATCH[@]}" "${GEN_TIME[@]}"
  collect_json bench_generate_default "$GEN_JSONL"
  step bench_generate_model 60 "$FACEGEN" bench generate --device "$DEVICE" --model "$MODEL" "${GEN_BATCH[@]}" "${GEN_TIME[@]}"
  collect_json bench_generate_model "$GEN_JSONL"
  step bench_generate_1024_configF 90 "$FACEGEN" bench generate --device "$DEVICE" "${BIG[@]}" "${GEN_TIME[@]}"
  collect_json bench_generate_1024_configF "$GEN_JSONL"

  # 2d. CPU/CUDA parity of the bundled model, same seeds: const noise, random noise (drawn per
  # seed from a CPU generator on every device, so the same noise on both), and const noise
  # with TF32 off in cuDNN/cuBLAS (NVIDIA_TF32_OVERRIDE=0), which separates TF32 rounding
  # from anything else.
  P=$TMP/parity
  GEN=("$FACEGEN" generate --model "$MODEL" --seeds "$SEEDS" --batch 8)
  step parity_generate_cpu 90 "${GEN[@]}" --device cpu --threads "$CPU_THREADS" --out "$P/cpu"
  step parity_generate_cuda 60 "${GEN[@]}" --device "$DEVICE" --out "$P/cuda"
  step parity_generate_cuda_no_tf32 60 env NVIDIA_TF32_OVERRIDE=0 "${GEN[@]}" --device "$DEVICE" --out "$P/cuda_no_tf32"
  step parity_generate_cpu_random 90 "${GEN[@]}" --device cpu --threads "$CPU_THREADS" --noise-mode random --out "$P/cpu_random"
  step parity_generate_cuda_random 60 "${GEN[@]}" --device "$DEVICE" --noise-mode random --out "$P/cuda_random"
  step parity_compare 120 python3 "$ROOT/bench/png_parity.py" --out "$PARITY_JSON" \
    const "$P/cpu" "$P/cuda" const_no_tf32 "$P/cpu" "$P/cuda_no_tf32" random "$P/cpu_random" "$P/cuda_random"
  info parity "$(json_str "$(cat "$STEP_OUT")")"

  # 2e. Training throughput on the GPU by precision (fp16 is what auto picks on CUDA).
  for prec in fp32 fp16 bf16; do
    step "bench_train_$prec" 45 "$FACEGEN" bench train --device "$DEVICE" --precision "$prec" --threads "$CPU_THREADS" "${TRAIN[@]}"
    collect_json "bench_train_$prec" "$TRAIN_JSONL"
  done

  # 2f. The same generation figures on the machine's CPU, for comparison (config F: one call).
  step bench_generate_default_cpu 45 "$FACEGEN" bench generate --device cpu --threads "$CPU_THREADS" "${GEN_BATCH[@]}" "${CPU_GEN_TIME[@]}"
  collect_json bench_generate_default_cpu "$GEN_JSONL"
  step bench_generate_model_cpu 45 "$FACEGEN" bench generate --device cpu --threads "$CPU_THREADS" --model "$MODEL" "${GEN_BATCH[@]}" "${CPU_GEN_TIME[@]}"
  collect_json bench_generate_model_cpu "$GEN_JSONL"
  step bench_generate_1024_configF_cpu 90 "$FACEGEN" bench generate --device cpu --threads "$CPU_THREADS" "${BIG_CPU[@]}"
  collect_json bench_generate_1024_configF_cpu "$GEN_JSONL"

  # 2g. If time is left: training at 256x256 (wide layers), where precision should matter.
  for prec in fp32 fp16 bf16; do
    step "bench_train_256_$prec" 45 "$FACEGEN" bench train --device "$DEVICE" --precision "$prec" --threads "$CPU_THREADS" "${TRAIN_BIG[@]}"
    collect_json "bench_train_256_$prec" "$TRAIN_JSONL"
  done
fi

write_summary
log "done in $(($(date +%s) - START)) s; files in $OUT:"
ls -l "$OUT" | tee -a "$RUN_LOG"
# The essentials at the end of stdout (the device tool returns the last 12,000 characters).
python3 - "$GEN_JSONL" "$TRAIN_JSONL" <<'PY' 2>/dev/null || { cat "$GEN_JSONL" "$TRAIN_JSONL"; }
import json, sys
keys = ["device", "precision", "resolution", "channel_base", "batch", "generate_images_per_s_batched",
        "generate_ms_per_image_batch1", "train_images_per_s", "achieved_gflops", "peak_rss_MiB"]
for path in sys.argv[1:]:
    print("---", path.rsplit("/", 1)[-1])
    for line in open(path):
        r = json.loads(line)
        res = r.get("result") or {}
        short = {k: (round(res[k], 3) if isinstance(res[k], float) else res[k]) for k in keys if k in res}
        print(r["step"], "rc", r["rc"], json.dumps(short))
PY
echo "--- build_errors.txt (head)"; head -c 3000 "$OUT/build_errors.txt" 2>/dev/null
echo "--- summary.json"; cat "$SUMMARY"
exit 0
