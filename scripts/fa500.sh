#!/usr/bin/env bash
# fa500.sh: issue 4's acceptance runs: the feature augmentation attack (paper preset,
# untargeted, ln 1.5, relu2_1 at 32x32) on the first 500 CIFAR-10 test records against
# ResNet-20 and the adversarially trained ResNet-2B; one folder per model with metrics.json.
# Environment: FSA (default build/fsa), WEIGHTS (default build/weights, from
# scripts/convert_all.sh), DECODER (default $WEIGHTS/wct_decoder_relu2_1.h5), OUT_DIR
# (default out), DEVICE (cpu or cuda; default cpu), MODELS (default "resnet20 resnet2b").
set -euo pipefail
cd "$(dirname "$0")/.."
FSA=${FSA:-build/fsa}
WEIGHTS=${WEIGHTS:-build/weights}
DECODER=${DECODER:-$WEIGHTS/wct_decoder_relu2_1.h5}
OUT_DIR=${OUT_DIR:-out}
DEVICE=${DEVICE:-cpu}
for model in ${MODELS:-resnet20 resnet2b}; do
  "$FSA" attack fa --model "$WEIGHTS/$model.h5" --encoder "$WEIGHTS/vgg19_normalised_relu2_1.h5" \
    --decoder "$DECODER" --preset paper --limit 500 --batch 100 --iterations 200 \
    --device "$DEVICE" --out "$OUT_DIR/fa500_$model"
done
