// cuda_unavailable.cpp: compiled instead of tensor/cuda/ when FSA_WITH_CUDA is off.
#include "tensor/check.h"
#include "tensor/cuda_entry.h"

namespace fsa {

const Backend& cuda_backend() {
  fail("[cuda] this build of fsa has no CUDA backend; configure with -DFSA_WITH_CUDA=ON");
}

bool cuda_device_present() { return false; }

}  // namespace fsa
