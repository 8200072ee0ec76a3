// data_test.cpp: the CIFAR-10 reader, image decoding/resizing/writing and batching, on
// synthetic files, plus checks on the real assets (CIFAR test batch, ImageNet sample,
// PyTorch reference tensors) that are skipped when the assets are absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/assets.h"
#include "data/batching.h"
#include "data/cifar10.h"
#include "data/image_io.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "weights/hdf5_file.h"

namespace fsa::testing {
namespace {

// A CIFAR-10 binary file of `count` records: record n has label n % 10 and pixel byte i of
// record n is (7 n + i) % 256; `extra` stray bytes are appended.
std::string write_cifar_file(const TempDir& dir, int count, int extra = 0) {
  const std::string path = dir.file("batch.bin");
  std::ofstream out(path, std::ios::binary);
  for (int n = 0; n < count; ++n) {
    out.put(static_cast<char>(n % 10));
    for (int i = 0; i < kCifarPixelBytes; ++i) out.put(static_cast<char>((7 * n + i) % 256));
  }
  for (int i = 0; i < extra; ++i) out.put('\0');
  return path;
}

// The test pattern used for the PIL goldens: byte (x*37 + y*91 + c*53 + x*y*13) % 256.
RgbImage pattern_image(int64_t height, int64_t width) {
  RgbImage image{height, width, {}};
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < 3; ++c) {
        image.pixels.push_back(static_cast<uint8_t>((x * 37 + y * 91 + c * 53 + x * y * 13) % 256));
      }
    }
  }
  return image;
}

TEST(Cifar10, ReadsRecordsWithOffsetAndLimit) {
  TempDir dir;
  const std::string path = write_cifar_file(dir, 5);
  EXPECT_EQ(cifar10_record_count(path), 5);
  const LabelledImages all = read_cifar10(path);
  EXPECT_EQ(all.images.shape(), (Shape{5, 3, 32, 32}));
  EXPECT_EQ(all.labels.dtype(), DType::i32);
  EXPECT_EQ(all.labels.to_vector(), (std::vector<double>{0, 1, 2, 3, 4}));

  const LabelledImages part = read_cifar10(path, {.offset = 2, .limit = 2});
  EXPECT_EQ(part.labels.to_vector(), (std::vector<double>{2, 3}));
  const std::vector<double> pixels = part.images.to_vector();
  // Record 2: planes R, G, B of 1024 bytes each; (c, y, x) is byte c*1024 + y*32 + x.
  EXPECT_FLOAT_EQ(pixels[0], 14.0f / 255.0f);
  EXPECT_FLOAT_EQ(pixels[1 * 1024 + 3 * 32 + 5], ((14 + 1024 + 96 + 5) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(pixels[3072 + 2 * 1024 + 31 * 32 + 31], ((21 + 3071) % 256) / 255.0f);

  EXPECT_EQ(read_cifar10(path, {.offset = 4, .limit = 10}).labels.numel(), 1);  // clipped
  EXPECT_EQ(read_cifar10(path, {.offset = 5}).labels.numel(), 0);
  EXPECT_THROW(read_cifar10(path, {.offset = 6}), Error);
}

TEST(Cifar10, TruncatedFileNamesFileAndSize) {
  TempDir dir;
  const std::string path = write_cifar_file(dir, 2, 100);
  const std::string message = error_message([&] { read_cifar10(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("6246 bytes"), std::string::npos) << message;
  EXPECT_THROW(read_cifar10(dir.file("missing.bin")), Error);
}

TEST(Cifar10, BadLabelIsAnError) {
  TempDir dir;
  const std::string path = write_cifar_file(dir, 2);
  std::fstream(path, std::ios::binary | std::ios::in | std::ios::out).put(static_cast<char>(10));
  const std::string message = error_message([&] { read_cifar10(path); });
  EXPECT_NE(message.find("record 0"), std::string::npos) << message;
}

TEST(Cifar10, RealTestBatchHasInterleavedClasses) {
  const std::string path = asset_path("data/cifar10/test_batch.bin").string();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  EXPECT_EQ(cifar10_record_count(path), 10000);
  const LabelledImages head = read_cifar10(path, {.limit = 30});
  const LabelledImages tail = read_cifar10(path, {.offset = 9995});
  const std::vector<double> head_labels = head.labels.to_vector();
  const std::vector<double> tail_labels = tail.labels.to_vector();
  for (int k = 0; k < 30; ++k) EXPECT_EQ(head_labels[k], k % 10) << k;
  EXPECT_EQ(tail_labels, (std::vector<double>{5, 6, 7, 8, 9}));
  const std::vector<double> pixels = head.images.to_vector();
  EXPECT_GE(*std::min_element(pixels.begin(), pixels.end()), 0.0);
  EXPECT_LE(*std::max_element(pixels.begin(), pixels.end()), 1.0);
  const auto names = read_cifar10_class_names(asset_path("data/cifar10/batches.meta.txt").string());
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "airplane");
  EXPECT_EQ(names[9], "truck");
}

TEST(Cifar10, MatchesThePyTorchReferencePixels) {
  const std::string batch = asset_path("data/cifar10/test_batch.bin").string();
  const std::string reference = asset_path("data/reference/pytorch_reference.h5").string();
  if (!std::filesystem::exists(batch) || !std::filesystem::exists(reference)) {
    GTEST_SKIP() << "CIFAR-10 or the PyTorch reference is absent";
  }
  const LabelledImages images = read_cifar10(batch, {.limit = 8});
  const Hdf5File file = Hdf5File::open_read(reference);
  const Tensor expected_u8 = file.read_tensor("/cifar/x_u8");  // uint8 read as float32
  std::vector<double> expected = expected_u8.to_vector();
  for (double& v : expected) v = static_cast<float>(v) / 255.0f;
  EXPECT_TRUE(tensors_near(images.images.to(DType::f64),
                           Tensor::from_vector(expected, expected_u8.shape(), DType::f64), 0, 0));
  EXPECT_EQ(images.labels.to_vector(), file.read_tensor("/cifar/y").to_vector());
}

TEST(ImageIo, PngRoundTripIsExactAndAtomic) {
  TempDir dir;
  std::vector<double> values;
  for (int i = 0; i < 3 * 5 * 7; ++i) values.push_back(((i * 11) % 256) / 255.0);
  const Tensor image = Tensor::from_vector(values, {3, 5, 7});
  write_png(dir.file("out.png"), image);
  write_png(dir.file("out.png"), image.reshape_view({1, 3, 5, 7}));  // overwrite, batched form
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.png"});
  const Tensor loaded = load_image(dir.file("out.png"));
  EXPECT_TRUE(tensors_near(loaded, image, 0, 0));
  // Out-of-range values are clamped.
  write_png(dir.file("clamped.png"), Tensor::from_vector({-0.5, 2.0, 0.5}, {3, 1, 1}));
  EXPECT_EQ(decode_image(dir.file("clamped.png")).pixels, (std::vector<uint8_t>{0, 255, 128}));
  EXPECT_THROW(write_png(dir.file("bad.png"), Tensor::zeros({2, 4, 4})), Error);
}

TEST(ImageIo, CorruptImagesNameTheFile) {
  TempDir dir;
  write_png(dir.file("good.png"), Tensor::full({3, 16, 16}, 0.25));
  const auto size = std::filesystem::file_size(dir.file("good.png"));
  std::string bytes(size, '\0');
  std::ifstream(dir.file("good.png"), std::ios::binary).read(bytes.data(), size);
  std::ofstream(dir.file("truncated.png"), std::ios::binary).write(bytes.data(), size / 2);
  std::ofstream(dir.file("garbage.jpg"), std::ios::binary) << "\xff\xd8\xff garbage, not a JPEG";
  std::ofstream(dir.file("empty.png"), std::ios::binary).flush();
  for (const char* name : {"truncated.png", "garbage.jpg", "empty.png", "missing.png"}) {
    const std::string message = error_message([&] { load_image(dir.file(name)); });
    EXPECT_NE(message.find(dir.file(name)), std::string::npos) << message;
  }
}

TEST(ImageIo, BicubicResizeMatchesPillow) {
  // Expected bytes from Pillow 9.4: Image.fromarray(pattern).resize((W, H), Image.BICUBIC).
  const std::vector<uint8_t> down = {98,  125, 146, 135, 147, 136, 137, 140, 154, 148, 138, 136,
                                     118, 134, 126, 122, 161, 125, 126, 149, 127, 159, 104, 134,
                                     128, 126, 148, 128, 99,  152, 128, 151, 160, 118, 127, 182,
                                     181, 105, 160, 157, 123, 137, 149, 104, 159};
  const std::vector<uint8_t> up = {
      0,   44,  97,  5,   58,  110, 30,  83,  136, 56,  109, 173, 69,  122, 193, 36,  86,  155,
      49,  108, 178, 80,  148, 201, 119, 178, 142, 142, 194, 101, 105, 161, 177, 126, 166, 208,
      161, 181, 234, 176, 215, 115, 181, 237, 34,  177, 249, 43,  211, 169, 67,  242, 55,  108,
      129, 87,  139, 49,  121, 154, 94,  158, 65,  128, 127, 97,  171, 88,  141, 132, 131, 112,
      101, 164, 87,  0,   52,  123, 29,  88,  165, 83,  153, 206, 148, 207, 83,  184, 236, 0};
  EXPECT_EQ(resize_bicubic(pattern_image(8, 8), 3, 5).pixels, down);
  EXPECT_EQ(resize_bicubic(pattern_image(4, 3), 6, 5).pixels, up);
  EXPECT_EQ(resize_bicubic(pattern_image(4, 3), 4, 3).pixels, pattern_image(4, 3).pixels);
}

TEST(ImageIo, ShorterSideAndCentreCropFollowTorchvision) {
  const RgbImage wide = resize_shorter_side(pattern_image(30, 47), 16);
  EXPECT_EQ(wide.height, 16);
  EXPECT_EQ(wide.width, 25);  // int(16 * 47 / 30) = int(25.07)
  const RgbImage tall = resize_shorter_side(pattern_image(47, 30), 16);
  EXPECT_EQ(tall.height, 25);
  EXPECT_EQ(tall.width, 16);

  // Offsets round((size - crop) / 2) half to even: (7 - 4) / 2 = 1.5 -> 2, (9 - 4) / 2 = 2.5 -> 2.
  const RgbImage source = pattern_image(9, 7);
  const RgbImage crop = center_crop(source, 4, 4);
  EXPECT_EQ(crop.height, 4);
  EXPECT_EQ(crop.width, 4);
  EXPECT_EQ(crop.pixels[0], source.pixels[(2 * 7 + 2) * 3]);
  EXPECT_EQ(crop.pixels.back(), source.pixels[(5 * 7 + 5) * 3 + 2]);
  EXPECT_THROW(center_crop(source, 10, 4), Error);
}

TEST(ImageIo, ImageNetSampleMatchesThePyTorchReference) {
  const std::string photo = asset_path("data/imagenet-samples/n01440764_tench.JPEG").string();
  const std::string reference = asset_path("data/reference/pytorch_reference.h5").string();
  if (!std::filesystem::exists(photo) || !std::filesystem::exists(reference)) {
    GTEST_SKIP() << "the ImageNet sample or the PyTorch reference is absent";
  }
  const Tensor image = load_image_resized(photo, 256, 224);
  ASSERT_EQ(image.shape(), (Shape{3, 224, 224}));
  const Tensor expected = Hdf5File::open_read(reference).read_tensor("/imagenet/x_u8");
  const std::vector<double> actual_values = image.to_vector();
  const std::vector<double> expected_values = expected.to_vector();
  ASSERT_EQ(actual_values.size(), expected_values.size());
  // stb_image and libjpeg (PIL) decode JPEG slightly differently; the geometry is exact.
  double total_error = 0, worst = 0;
  for (size_t i = 0; i < actual_values.size(); ++i) {
    const double error = std::abs(actual_values[i] * 255.0 - expected_values[i]);
    total_error += error;
    worst = std::max(worst, error);
  }
  // Measured: mean 0.009 levels, worst 2 levels (of 255).
  EXPECT_LT(total_error / static_cast<double>(actual_values.size()), 0.05);
  EXPECT_LE(worst, 3.0);
}

TEST(Batching, ShuffleIsASeededPermutationPerEpoch) {
  const std::vector<int64_t> indices = index_range(100);
  const std::vector<int64_t> a = shuffled(indices, 42);
  EXPECT_EQ(a, shuffled(indices, 42));
  EXPECT_NE(a, shuffled(indices, 43));
  EXPECT_NE(a, shuffled(indices, 42, /*epoch=*/1));
  EXPECT_NE(a, indices);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, indices);
  // Any index set works, not only 0..n-1.
  const std::vector<int64_t> subset = shuffled({10, 20, 30, 40}, 7);
  EXPECT_EQ(std::set<int64_t>(subset.begin(), subset.end()), (std::set<int64_t>{10, 20, 30, 40}));
  EXPECT_TRUE(shuffled({}, 1).empty());
}

TEST(Batching, BatchesAndGather) {
  const std::vector<int64_t> indices = index_range(10);
  const auto batches = make_batches(indices, 4);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2], (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(make_batches(indices, 4, /*drop_last=*/true).size(), 2u);
  EXPECT_EQ(make_batches(indices, 5, true).size(), 2u);
  EXPECT_THROW(make_batches(indices, 0), Error);

  const Tensor rows = Tensor::from_vector({0, 1, 10, 11, 20, 21}, {3, 2});
  EXPECT_EQ(gather_rows(rows, {2, 0, 2}).to_vector(), (std::vector<double>{20, 21, 0, 1, 20, 21}));
  EXPECT_EQ(gather_rows(Tensor::from_labels({5, 6, 7}), {1}).to_vector(), std::vector<double>{6});
  EXPECT_EQ(gather_rows(rows, {}).shape(), (Shape{0, 2}));
  EXPECT_THROW(gather_rows(rows, {3}), Error);
}

}  // namespace
}  // namespace fsa::testing
