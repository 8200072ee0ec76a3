#!/usr/bin/env bash
# gpu-carry.sh: packs what a lent GPU machine needs for scripts/gpu-decoder.sh into .gpu/
# (ignored by git), within the device tool's 64 MiB for the working tree and carried paths:
#   .gpu/bundle.tar.xz   the CUDA bundle of scripts/gpu-bundle.sh (BUNDLE, default .gpu/bundle)
#   .gpu/assets/         FSA_ASSETS there: data/cifar10 with the first TRAIN_FILES (default 2)
#                        training files xz-compressed (gpu-decoder.sh unpacks them), the first
#                        TEST_RECORDS (default 1000) test records and the class names; and
#                        weights/ with the converted encoder, ResNet-20 and ResNet-2B.
# Then, on the device: carry .gpu/bundle.tar.xz and .gpu/assets, and run
#   mkdir -p /tmp/fsa && tar xJf .gpu/bundle.tar.xz -C /tmp/fsa && FSA_PREBUILT=/tmp/fsa/bundle \
#   FSA_ASSETS=$PWD/.gpu/assets WEIGHTS=.gpu/assets/weights LIMIT=20000 bash scripts/gpu-decoder.sh
# Environment: FSA_ASSETS (default ../shared), WEIGHTS (default build/weights), BUNDLE,
# TRAIN_FILES, TEST_RECORDS.
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=${FSA_ASSETS:-../shared}
WEIGHTS=${WEIGHTS:-build/weights}
BUNDLE=${BUNDLE:-.gpu/bundle}
TRAIN_FILES=${TRAIN_FILES:-2}
TEST_RECORDS=${TEST_RECORDS:-1000}
CIFAR=.gpu/assets/data/cifar10
readonly record_bytes=3073 limit_bytes=$((64 << 20))

[ -x "$BUNDLE/fsa" ] || { echo "gpu-carry.sh: no bundle in $BUNDLE (scripts/gpu-bundle.sh)" >&2; exit 1; }
for model in vgg19_normalised_relu2_1 resnet20 resnet2b; do
  [ -f "$WEIGHTS/$model.h5" ] ||
    { echo "gpu-carry.sh: no $WEIGHTS/$model.h5 (scripts/convert_all.sh)" >&2; exit 1; }
done

rm -rf .gpu/assets .gpu/bundle.tar.xz
mkdir -p "$CIFAR" .gpu/assets/weights
tar -cJf .gpu/bundle.tar.xz -C "$(dirname "$BUNDLE")" "$(basename "$BUNDLE")"
cp "$ASSETS/data/cifar10/batches.meta.txt" "$CIFAR/"
head -c $((TEST_RECORDS * record_bytes)) "$ASSETS/data/cifar10/test_batch.bin" > "$CIFAR/test_batch.bin"
for k in $(seq 1 "$TRAIN_FILES"); do
  # Each pixel minus its neighbour 32 bytes back (the pixel above) compresses to 69 %.
  xz --delta=dist=32 --lzma2=preset=9e -T0 -c "$ASSETS/data/cifar10/data_batch_$k.bin" \
    > "$CIFAR/data_batch_$k.bin.xz"
done
cp "$WEIGHTS"/{vgg19_normalised_relu2_1,resnet20,resnet2b}.h5 .gpu/assets/weights/

tree_bytes=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -1 | cut -f1)
carried=$(du -cb .gpu/bundle.tar.xz .gpu/assets | tail -1 | cut -f1)
total=$((tree_bytes + carried))
echo "working tree $((tree_bytes >> 20)) MiB + carried $((carried >> 20)) MiB = $((total >> 20)) MiB (limit 64)"
[ "$total" -le "$limit_bytes" ] || { echo "gpu-carry.sh: over the limit: fewer TRAIN_FILES" >&2; exit 1; }
