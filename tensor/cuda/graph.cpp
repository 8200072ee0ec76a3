// graph.cpp: CUDA graphs behind tensor/device_graph.h. Recording captures the backend's one
// stream (relaxed mode, so the allocator may still cudaMalloc) with an allocator pool open;
// the graph holds that pool until it is destroyed. Host code only.
#include <cuda_runtime.h>

#include "tensor/check.h"
#include "tensor/cuda/check.h"
#include "tensor/cuda/cuda_backend.h"

namespace fsa {

namespace {

class CudaGraph final : public CapturedWork {
 public:
  CudaGraph(const CudaBackend& backend, cudaGraph_t graph, int pool)
      : backend_(backend), graph_(graph), pool_(pool) {
    const cudaError_t status = cudaGraphInstantiate(&exec_, graph_, 0);
    if (status != cudaSuccess) {
      release();
      CUDA_CHECK(status);
    }
  }
  ~CudaGraph() override { release(); }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void replay() const override { CUDA_CHECK(cudaGraphLaunch(exec_, backend_.stream())); }

 private:
  // Waits for replays in flight, then frees the graph and returns its memory to the cache.
  void release() noexcept {
    (void)cudaStreamSynchronize(backend_.stream());
    if (exec_ != nullptr) (void)cudaGraphExecDestroy(exec_);
    if (graph_ != nullptr) (void)cudaGraphDestroy(graph_);
    backend_.allocator().release_pool(pool_);
  }

  const CudaBackend& backend_;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  int pool_;
};

}  // namespace

bool CudaBackend::supports_capture() const { return true; }

std::shared_ptr<CapturedWork> CudaBackend::capture(const std::function<void()>& work) const {
  const int pool = allocator_.begin_pool();
  const cudaError_t began = cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed);
  if (began != cudaSuccess) {
    allocator_.end_pool();
    allocator_.release_pool(pool);
    CUDA_CHECK(began);
  }
  cudaGraph_t graph = nullptr;
  try {
    work();
  } catch (...) {
    (void)cudaStreamEndCapture(stream(), &graph);
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    allocator_.end_pool();
    allocator_.release_pool(pool);
    throw;
  }
  const cudaError_t ended = cudaStreamEndCapture(stream(), &graph);
  allocator_.end_pool();
  if (ended != cudaSuccess) {
    allocator_.release_pool(pool);
    fail("[graph] recording failed (", cudaGetErrorString(ended),
         "): the work synchronised with the host or used another stream");
  }
  return std::make_shared<CudaGraph>(*this, graph, pool);
}

}  // namespace fsa
