#!/usr/bin/env bash
# gpu-decoder.sh: issue 4's decoder work in one GPU command. Trains the relu2_1 decoder at
# native 32x32 for a fixed time (fsa train-decoder --max-seconds; the objective of
# artefacts/README.md), scores it and the decoder it started from on the first test records
# (PSNR, ResNet-20 on the decoded images), then runs the FA attack with it on the first 500
# test records against ResNet-20 and ResNet-2B (scripts/fa500.sh).
#
# Environment:
#   FSA_PREBUILT=DIR   run the bundle of scripts/gpu-bundle.sh in DIR (else FSA, default build/fsa)
#   WEIGHTS (default build/weights), OUT_DIR (default out/gpu-decoder), DEVICE (default cuda)
#   INIT (default artefacts/decoder_relu2_1_wide4.h5), TRAIN_SECONDS (default 400)
#   BATCH (128), LR (1e-4), LR_DECAY (2e-5), LIMIT (training records, 10000),
#   SCORE_LIMIT (test records scored, 1000), TRAIN_OPTIONS (more train-decoder options, e.g.
#   "--flip")
#   TF32 (default 1): FSA_CUDA_TF32 for the training; scoring and attacks run full float32
#   (the training prints the algorithms and math types cuDNN chose: FSA_CUDNN_LOG=1)
#   ATTACK (default 1): 0 skips the attacks
# A lent GPU machine has no ../shared and takes at most 64 MiB along: scripts/gpu-carry.sh
# packs the data and weights into .gpu/ (and says how to run this there). Training files
# that it compressed (data_batch_K.bin.xz under FSA_ASSETS) are unpacked first.
set -euo pipefail
cd "$(dirname "$0")/.."

for packed in "${FSA_ASSETS:-../shared}"/data/cifar10/data_batch_*.bin.xz; do
  [ -f "$packed" ] && [ ! -f "${packed%.xz}" ] && xz -dk "$packed"
done

if [ -n "${FSA_PREBUILT:-}" ]; then
  source scripts/gpu-env.sh
  FSA=$FSA_PREBUILT/fsa
fi
FSA=${FSA:-build/fsa}
WEIGHTS=${WEIGHTS:-build/weights}
OUT_DIR=${OUT_DIR:-out/gpu-decoder}
DEVICE=${DEVICE:-cuda}
INIT=${INIT:-artefacts/decoder_relu2_1_wide4.h5}
ENCODER=$WEIGHTS/vgg19_normalised_relu2_1.h5
mkdir -p "$OUT_DIR"

echo "== train-decoder from $INIT for ${TRAIN_SECONDS:-400} s"
FSA_CUDA_TF32=${TF32:-1} FSA_CUDNN_LOG=1 "$FSA" train-decoder --encoder "$ENCODER" --init "$INIT" \
  --limit "${LIMIT:-10000}" --steps 1000000 --batch "${BATCH:-128}" --lr "${LR:-1e-4}" \
  --lr-decay "${LR_DECAY:-2e-5}" --pairing self --pixel-weight 1e4 --checkpoint-every 1000 \
  --log-every 100 --max-seconds "${TRAIN_SECONDS:-400}" --device "$DEVICE" --out "$OUT_DIR/train" \
  ${TRAIN_OPTIONS:-}

for decoder in "$INIT" "$OUT_DIR/train/decoder.h5"; do
  echo "== reconstruct, first ${SCORE_LIMIT:-1000} test records: $decoder"
  "$FSA" reconstruct --encoder "$ENCODER" --decoder "$decoder" \
    --classifier "$WEIGHTS/resnet20.h5" --limit "${SCORE_LIMIT:-1000}" --device "$DEVICE"
done

[ "${ATTACK:-1}" = 0 ] && exit 0
echo "== FA, first 500 test records, with the trained decoder"
FSA=$FSA WEIGHTS=$WEIGHTS DEVICE=$DEVICE DECODER=$OUT_DIR/train/decoder.h5 OUT_DIR=$OUT_DIR \
  bash scripts/fa500.sh
