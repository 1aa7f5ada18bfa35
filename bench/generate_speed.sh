#!/bin/sh
# Generation speed of the engine at the project's two reference configurations, one JSON line
# each from `facegen bench generate` (median call time after a warm-up; psi 0.7, const noise,
# random weights): 64x64 (channel base 4096, max 128, 2 mapping layers) at batch 32 and 1,
# and 1024x1024 config F at batch 2 and 1 with its peak memory. Asserts nothing; the
# side-by-side figures against the official code come from bench/compare_generate.py.
# Usage: bench/generate_speed.sh [THREADS]   (default 2; FACEGEN_BIN, default build/bin/facegen)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FACEGEN_BIN=${FACEGEN_BIN:-$ROOT/build/bin/facegen}
THREADS=${1:-2}
if [ ! -x "$FACEGEN_BIN" ]; then
  echo "generate_speed: facegen binary '$FACEGEN_BIN' not found (build it, or set FACEGEN_BIN)" >&2
  exit 2
fi
"$FACEGEN_BIN" bench generate --threads "$THREADS" --resolution 64 --channel-base 4096 --channel-max 128 \
  --map-layers 2 --batch 32
"$FACEGEN_BIN" bench generate --threads "$THREADS" --resolution 1024 --channel-base 32768 --channel-max 512 \
  --map-layers 8 --batch 2 --min-seconds 0 --min-calls 2
