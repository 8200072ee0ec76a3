#!/usr/bin/env bash
# run.sh: the README's main command. Builds fsa, converts the checkpoints of the assets into
# build/weights/, and runs the feature-space attack on its default assets: CIFAR-10 test
# images, the normalised VGG-19 cut at relu2_1 with its WCT decoder, against ResNet-20.
#   FSA_ASSETS=/path/to/shared  where the data and weights are (default: ../shared)
#   FSA_LIMIT=100               how many test images to attack
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target fsa
bash scripts/convert_all.sh
out=out/attack-resnet20
./build/fsa attack fa --model build/weights/resnet20.h5 --encoder build/weights/vgg19_normalised_relu2_1.h5 \
  --decoder build/weights/wct_decoder_relu2_1.h5 --limit "${FSA_LIMIT:-100}" --out "$out"
echo "results: $out/grid.png (original / adversarial / difference), $out/metrics.json, $out/adversarial/"
