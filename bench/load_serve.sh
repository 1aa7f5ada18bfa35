#!/bin/sh
# Load test of `facegen serve` on loopback with wrk: GET /v1/face.png (a random seed per
# request) at 1, 8 and 32 connections, with dynamic batching (--max-batch 16) and without
# (--max-batch 1). Prints one JSON object: requests/s, latency percentiles, responses by
# status (503s are the designed "queue full" answers; any other non-200 is an error),
# socket errors, and the server's resident memory (from /proc) before and after each run.
# Not part of ctest: it takes (2 settings x 3 loads) x DURATION seconds.
#
# Usage: bench/load_serve.sh [--bin build/bin/facegen] [--model M.safetensors]
#                            [--duration 30] [--connections "1 8 32"] [--batches "16 1"]
#                            [--threads 0] [--queue 64]
set -eu
cd "$(dirname "$0")/.."

BIN=build/bin/facegen
MODEL=models/facegen-default.safetensors
DURATION=30
CONNECTIONS="1 8 32"
BATCHES="16 1"
THREADS=0
QUEUE=64
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --batches) BATCHES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --queue) QUEUE=$2; shift 2 ;;
    *) echo "load_serve.sh: unknown argument '$1' (see the usage at the top of the script)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null 2>&1 || { echo "load_serve.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "load_serve.sh: no facegen binary at '$BIN' (--bin)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "load_serve.sh: no model file '$MODEL' (--model)" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

printf '{"model": "%s", "duration_s": %s, "nproc": %s, "load_average_at_start": "%s", "runs": [' \
  "$MODEL" "$DURATION" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
first=1
for batch in $BATCHES; do
  rm -f "$WORK/url"
  "$BIN" serve --model "$MODEL" --port 0 --max-batch "$batch" --queue "$QUEUE" --threads "$THREADS" \
    >"$WORK/url" 2>"$WORK/serve.log" &
  SERVER_PID=$!
  i=0
  while ! grep -q '^http' "$WORK/url" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  grep -q '^http' "$WORK/url" 2>/dev/null || { echo "load_serve.sh: the server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
  URL=$(head -n 1 "$WORK/url")
  rss_start=$(rss_kib "$SERVER_PID")
  # Warm-up: the first passes allocate the activations the heap then reuses.
  wrk -t 1 -c 4 -d 3s --timeout 10s "${URL}v1/face.png" >/dev/null
  for connections in $CONNECTIONS; do
    threads=$(( connections < 2 ? connections : 2 ))
    rss_before=$(rss_kib "$SERVER_PID")
    figures=$(wrk -t "$threads" -c "$connections" -d "${DURATION}s" --timeout 10s --latency \
                -s bench/load_serve.lua "${URL}v1/face.png" | tail -n 1)
    rss_after=$(rss_kib "$SERVER_PID")
    [ $first -eq 1 ] || printf ','
    first=0
    printf '\n  {"max_batch": %s, "connections": %s, "rss_mib": {"server_start": %s, "before": %s, "after": %s, "peak": %s}, "figures": %s}' \
      "$batch" "$connections" "$((rss_start / 1024))" "$((rss_before / 1024))" "$((rss_after / 1024))" \
      "$(( $(hwm_kib "$SERVER_PID") / 1024 ))" "$figures"
  done
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
done
printf '\n]}\n'
