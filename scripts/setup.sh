#!/bin/sh
# Installs facegen's Debian dependencies (when missing) and builds it into build/.
# Usage: scripts/setup.sh            (run as root, or with sudo available)
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake git pkg-config libtorch-dev libopenblas0-pthread \
  nlohmann-json3-dev libcli11-dev libgtest-dev libpng-dev zlib1g-dev \
  libdlib-dev libdlib-data libjpeg-dev libwebp-dev libexif-dev libarchive-dev libgloo-dev libzip-dev"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing$missing" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi

JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j "$JOBS" >&2
echo "setup: built build/bin/facegen" >&2
