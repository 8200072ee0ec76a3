// cifar10.h: the CIFAR-10 binary format. A file is a run of 3073-byte records: one label
// byte (0-9), then 3072 pixel bytes, the red, green and blue 32x32 planes, row-major.
// Images come back as float32 (N,3,32,32) in [0,1] (byte / 255), labels as int32 (N).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace fsa {

inline constexpr int64_t kCifarImageSize = 32;
inline constexpr int64_t kCifarChannels = 3;
inline constexpr int64_t kCifarPixelBytes = kCifarChannels * kCifarImageSize * kCifarImageSize;
inline constexpr int64_t kCifarRecordBytes = 1 + kCifarPixelBytes;  // 3073
inline constexpr int64_t kCifarClasses = 10;

struct CifarReadOptions {
  int64_t offset = 0;  // first record to read
  int64_t limit = -1;  // at most this many records; -1: all from `offset` to the end
};

struct LabelledImages {
  Tensor images;  // (N,3,32,32) float32 in [0,1]
  Tensor labels;  // (N) int32
};

// Number of records in a CIFAR-10 binary file; a size that is not a multiple of 3073 is an
// fsa::Error naming the file and its size.
int64_t cifar10_record_count(const std::string& path);

// Reads records [offset, offset + limit) (clipped at the end of the file). An offset past
// the end, a truncated file or a label outside 0-9 is an fsa::Error naming the file.
LabelledImages read_cifar10(const std::string& path, const CifarReadOptions& options = {});

// The class names of batches.meta.txt, one per non-empty line, in label order.
std::vector<std::string> read_cifar10_class_names(const std::string& path);

}  // namespace fsa
