// cifar10.cpp: the CIFAR-10 binary reader. The file is read in one block per call;
// validation (size, offset, labels) comes first, so errors never leave partial results.
#include "data/cifar10.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace fsa {

int64_t cifar10_record_count(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  FSA_CHECK(!error, "[cifar10] cannot read '", path, "': ", error.message());
  FSA_CHECK(size % kCifarRecordBytes == 0, "[cifar10] '", path, "' is truncated or not a CIFAR-10 ",
            "binary file: its size ", size, " bytes is not a multiple of the record size ",
            kCifarRecordBytes);
  return static_cast<int64_t>(size / kCifarRecordBytes);
}

LabelledImages read_cifar10(const std::string& path, const CifarReadOptions& options) {
  const int64_t records = cifar10_record_count(path);
  FSA_CHECK(options.offset >= 0 && options.offset <= records, "[cifar10] offset ", options.offset,
            " is outside '", path, "', which holds ", records, " records");
  FSA_CHECK(options.limit >= -1, "[cifar10] limit must be >= 0 or -1 (all), got ", options.limit);
  const int64_t available = records - options.offset;
  const int64_t count = options.limit < 0 ? available : std::min(options.limit, available);

  std::vector<unsigned char> bytes(static_cast<size_t>(count * kCifarRecordBytes));
  std::ifstream in(path, std::ios::binary);
  in.seekg(options.offset * kCifarRecordBytes);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  FSA_CHECK(in.good() || bytes.empty(), "[cifar10] read error in '", path, "'");

  LabelledImages result{Tensor::empty({count, kCifarChannels, kCifarImageSize, kCifarImageSize}),
                        Tensor::empty({count}, DType::i32)};
  float* images = result.images.data<float>();
  int32_t* labels = result.labels.data<int32_t>();
  for (int64_t n = 0; n < count; ++n) {
    const unsigned char* record = bytes.data() + n * kCifarRecordBytes;
    FSA_CHECK(record[0] < kCifarClasses, "[cifar10] record ", options.offset + n, " of '", path,
              "' has label ", static_cast<int>(record[0]), ", expected 0-9");
    labels[n] = record[0];
    // The pixel bytes are already planar RGB, i.e. the (3,32,32) layout of one image.
    for (int64_t i = 0; i < kCifarPixelBytes; ++i) {
      images[n * kCifarPixelBytes + i] = static_cast<float>(record[1 + i]) / 255.0f;
    }
  }
  return result;
}

std::vector<std::string> read_cifar10_class_names(const std::string& path) {
  std::ifstream in(path);
  FSA_CHECK(in.is_open(), "[cifar10] cannot open class names file '", path, "'");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

}  // namespace fsa
