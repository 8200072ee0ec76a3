// gemm_micro_kernel_generic.cpp: processors without x86 extension kernels; the GEMM runs the
// portable micro-kernel. CMake compiles this file instead of gemm_micro_kernel_x86.cpp.
#include "tensor/cpu/gemm_micro_kernel.h"

namespace fsa {

std::vector<MicroKernel> extension_micro_kernels() { return {}; }

}  // namespace fsa
