#!/bin/sh
# Installs facegen's Debian dependencies (when missing), the browser test's npm packages
# (tests/browser, from its package-lock.json) and builds facegen into build/.
# Usage: scripts/setup.sh   (as root, or as a user: it then installs missing packages
#                            through sudo itself)
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake git pkg-config libtorch-dev libopenblas0-pthread \
  nlohmann-json3-dev libcli11-dev libgtest-dev libpng-dev zlib1g-dev \
  libdlib-dev libdlib-data libjpeg-dev libwebp-dev libexif-dev libarchive-dev libgloo-dev libzip-dev \
  libcpp-httplib-dev chromium wrk"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node (for the browser test): any nodejs that provides node and npm will do, e.g.
# NodeSource's, which conflicts with Debian's separate npm package.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "setup: missing Debian packages:$missing" >&2
      echo "setup: installing them needs root, and sudo is not installed: run scripts/setup.sh as root, or install sudo" >&2
      exit 1
    fi
    SUDO="sudo"
  fi
  echo "setup: installing$missing" >&2
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi

# puppeteer-core for tests/browser (the serve page in chromium); exact versions from the lock file.
if ! (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >&2); then
  echo "setup: warning: npm ci in tests/browser failed; serve_browser_tests will fail until it succeeds" >&2
fi

JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j "$JOBS" >&2
echo "setup: built build/bin/facegen" >&2
