#!/usr/bin/env bash
# gpu-bundle.sh: packs a CUDA build (fsa, tests/fsa_tests, bench/fsa_bench) with the shared
# libraries it needs beyond the C library and CUDA's own (HDF5, stb, ...) into one folder,
# for a GPU machine that has the CUDA toolkit and cuDNN but not the Debian -dev packages.
# scripts/gpu-check.sh runs such a bundle with FSA_PREBUILT=DIR.
# Usage: scripts/gpu-bundle.sh [BUILD_DIR (default build-gpu)] [BUNDLE_DIR (default .gpu/bundle)]
# BUILD_DIR must be configured with -DFSA_NATIVE=OFF (docs/RESULTS.md, "On a GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-gpu}
BUNDLE=${2:-.gpu/bundle}

# The bundle runs on another machine: its code must not assume this processor.
if ! grep -q '^FSA_NATIVE:BOOL=OFF$' "$BUILD/CMakeCache.txt"; then
  echo "gpu-bundle.sh: $BUILD must be configured with -DFSA_NATIVE=OFF (a native build may use" \
    "instructions the GPU machine's processor lacks)" >&2
  exit 1
fi

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/tests" "$BUNDLE/bench" "$BUNDLE/lib"
cp "$BUILD/fsa" "$BUNDLE/"
cp "$BUILD/tests/fsa_tests" "$BUNDLE/tests/"
cp "$BUILD/bench/fsa_bench" "$BUNDLE/bench/"
strip --strip-unneeded "$BUNDLE/fsa" "$BUNDLE/tests/fsa_tests" "$BUNDLE/bench/fsa_bench"

# Libraries every Linux has (the C library and the loader) or that come with the GPU
# machine's CUDA toolkit and cuDNN stay out. The C++ runtime goes to lib-fallback: the
# machine's own (usually newer) one is preferred, this one used only where it has none.
provided='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libutil\.|libcudart|libcublas|libcudnn|libcuda\.)'
cxx_runtime='^(libstdc\+\+|libgcc_s)'
mkdir -p "$BUNDLE/lib-fallback"
for binary in "$BUNDLE/fsa" "$BUNDLE/tests/fsa_tests" "$BUNDLE/bench/fsa_bench"; do
  ldd "$binary" | awk '/=> \// {print $1, $3}' | while read -r name path; do
    if [[ $name =~ $provided ]]; then continue; fi
    if [[ $name =~ $cxx_runtime ]]; then
      cp -L -n "$path" "$BUNDLE/lib-fallback/$name"
    else
      cp -L -n "$path" "$BUNDLE/lib/$name"
    fi
  done
done
du -sh "$BUNDLE"
ls "$BUNDLE/lib"
