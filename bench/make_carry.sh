#!/bin/sh
# Fills .carry/ (git-ignored) on a Debian machine with what bench/gpu_checks.sh needs on a
# lent GPU machine that has PyTorch's LibTorch but no Debian dev packages (about 3.5 MiB):
#   include/       CLI11, nlohmann-json, png.h + pngconf.h + pnglibconf.h
#   lib/           libpng16.so.16 (Debian's, linked by full path, found through LD_LIBRARY_PATH)
#   zlib/          zlib.h, zconf.h, libz.so.1 (used only where the machine has none)
#   gtest/         GoogleTest, Debian's prebuilt static libraries + CMake package (no gmock)
# Usage: bench/make_carry.sh   (installs libcli11-dev nlohmann-json3-dev libpng-dev zlib1g-dev
#        libgtest-dev with apt when missing; run as root or with sudo)
set -eu
cd "$(dirname "$0")/.."
MULTIARCH=x86_64-linux-gnu
LIB=/usr/lib/$MULTIARCH

missing=""
for p in libcli11-dev nlohmann-json3-dev libpng-dev zlib1g-dev libgtest-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

rm -rf .carry/include .carry/lib .carry/zlib .carry/gtest  # other carried folders stay
mkdir -p .carry/include .carry/lib .carry/zlib/include .carry/gtest/include ".carry/gtest/lib/$MULTIARCH/cmake/GTest"
cp -r /usr/include/CLI /usr/include/nlohmann .carry/include/
cp /usr/include/png.h /usr/include/pngconf.h /usr/include/pnglibconf.h .carry/include/
# Real files, no symbolic links (a link travels to the device machine only as a link).
cp -L "$LIB/libpng16.so.16" .carry/lib/libpng16.so.16
cp /usr/include/zlib.h /usr/include/zconf.h .carry/zlib/include/
cp -L "$LIB/libz.so.1" .carry/zlib/libz.so.1
cp -r /usr/include/gtest .carry/gtest/include/
cp "$LIB/libgtest.a" "$LIB/libgtest_main.a" ".carry/gtest/lib/$MULTIARCH/"
# GTestConfig.cmake includes GMockTargets.cmake OPTIONAL: leaving gmock out is fine.
cp "$LIB/cmake/GTest/GTestConfig.cmake" "$LIB/cmake/GTest/GTestConfigVersion.cmake" \
   "$LIB/cmake/GTest/GTestTargets.cmake" "$LIB/cmake/GTest/GTestTargets-none.cmake" \
   ".carry/gtest/lib/$MULTIARCH/cmake/GTest/"
du -sh .carry
