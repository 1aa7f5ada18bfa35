#!/bin/sh
# Training throughput, facegen vs the official StyleGAN2-ADA (PyTorch), side by side on this
# machine: the same configuration, runs alternating so both see the same machine load.
# Usage: bench/compare_train.sh [ROUNDS] [OFFICIAL_CHECKOUT]
#   OFFICIAL_CHECKOUT: a stylegan2-ada-pytorch checkout you supply (default $FACEGEN_OFFICIAL;
#   one of the two is required),
#   FACEGEN_BIN (default build/bin/facegen), FACEGEN_PEER: the peer script that times the
#   official code (not part of facegen; default ../shared/tools/peer_stylegan2_ada.py beside
#   the repository, where the development machines keep it), FACEGEN_ARGS: extra options
#   for facegen only, e.g.
#   "--precision bf16" (the official code has no CPU reduced precision)
# Prints every run's JSON line, then one summary line with the median images/s and the ratio.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-3}
OFFICIAL=${2:-${FACEGEN_OFFICIAL:-}}
if [ -z "$OFFICIAL" ]; then
  echo "compare_train: no official checkout: give it as the second argument or set FACEGEN_OFFICIAL" >&2
  exit 2
fi
if [ ! -d "$OFFICIAL" ]; then
  echo "compare_train: official checkout '$OFFICIAL' not found" >&2
  exit 2
fi
FACEGEN_BIN=${FACEGEN_BIN:-$ROOT/build/bin/facegen}
PEER=${FACEGEN_PEER:-${PEER:-$ROOT/../shared/tools/peer_stylegan2_ada.py}}
if [ ! -f "$PEER" ]; then
  echo "compare_train: peer timing script '$PEER' not found: set FACEGEN_PEER to the script that times the official code" >&2
  exit 2
fi
FACEGEN_ARGS=${FACEGEN_ARGS:-}
ARGS="--resolution 64 --channel-base 4096 --channel-max 128 --map-layers 2 --batch 16 --threads 2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$ROUNDS" ]; do
  "$FACEGEN_BIN" bench train $ARGS $FACEGEN_ARGS --steps 8 | tee -a "$tmp/facegen.jsonl"
  /usr/bin/python3 "$PEER" --official "$OFFICIAL" $ARGS --steps 8 | tee -a "$tmp/official.jsonl"
  i=$((i + 1))
done
/usr/bin/python3 - "$tmp/facegen.jsonl" "$tmp/official.jsonl" <<'PY'
import json, statistics, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
theirs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
a = statistics.median(r["train_images_per_s"] for r in ours)
b = statistics.median(r["train_images_per_s"] for r in theirs)
print(json.dumps({"facegen_precision": ours[0].get("precision", "fp32"), "facegen_train_images_per_s": round(a, 3), "official_train_images_per_s": round(b, 3),
                  "ratio": round(a / b, 3), "rounds": len(ours),
                  "facegen_roofline_fraction": round(statistics.median(r["roofline_fraction"] for r in ours), 4),
                  "matmul_roofline_gflops": round(statistics.median(r["matmul_roofline_gflops"] for r in ours), 1)}))
PY
