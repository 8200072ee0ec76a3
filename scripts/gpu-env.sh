# gpu-env.sh: sourced by scripts/gpu-check.sh (and by hand) to run a prebuilt bundle from
# scripts/gpu-bundle.sh: FSA_PREBUILT=DIR; source scripts/gpu-env.sh. Puts the bundle's
# libraries and the machine's cuDNN, cuBLAS and CUDA runtime on LD_LIBRARY_PATH, falls back
# to the bundled C++ runtime where the machine's is too old, and returns 1 when a library
# is still missing.

# The directory holding a library whose file name starts with $1, searched where CUDA
# toolkits and Python wheels (nvidia-cudnn, nvidia-cublas) put them.
fsa_library_dir_of() {
  local found
  found=$(find -H /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/lib/x86_64-linux-gnu \
    /opt /usr/local/lib -name "$1*" 2>/dev/null | head -n 1)
  [ -n "$found" ] && dirname "$found"
}

fsa_use_bundle() {
  local bundle search dir library
  bundle=$(cd "$1" && pwd) || return 1
  search=$bundle/lib
  for library in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
    dir=$(fsa_library_dir_of "$library") && search=$search:$dir
  done
  export LD_LIBRARY_PATH=$search${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  if ldd "$bundle/tests/fsa_tests" 2>&1 | grep -q 'not found'; then
    echo "the machine's C++ runtime does not serve the bundle: using the bundled one"
    export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$bundle/lib-fallback
  fi
  if ldd "$bundle/tests/fsa_tests" 2>&1 | grep 'not found'; then
    echo "libraries missing for the bundle in $bundle"
    return 1
  fi
}

fsa_use_bundle "$FSA_PREBUILT"
