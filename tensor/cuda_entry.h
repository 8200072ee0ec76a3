// cuda_entry.h: the two functions through which the rest of the engine reaches CUDA.
// tensor/cuda/ defines them when the engine is built with FSA_WITH_CUDA; otherwise
// tensor/cuda_unavailable.cpp does, and cuda_backend() throws "built without CUDA".
#pragma once

namespace fsa {

class Backend;

const Backend& cuda_backend();
bool cuda_device_present();

}  // namespace fsa
