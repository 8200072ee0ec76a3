#!/usr/bin/env bash
# o2_resnet20.sh: the "Odds are Odd" detector against ResNet-20 (docs/DETECTION.md): PGD
# 8/255 and FA (paper preset) on the first TEST clean test records, calibration on the
# first CALIBRATION training records with thresholds on the last HOLDOUT test records, then
# the evaluation of the clean and both adversarial sets. One folder, OUT_DIR/o2_$MODEL.
# Environment: FSA (default build/fsa), WEIGHTS (default build/weights), OUT_DIR (default
# out), DEVICE (cpu or cuda; default cpu), MODEL (default resnet20), TEST (default 1000),
# CALIBRATION (default 10000), HOLDOUT (default 1000), SAMPLES (default 256), BATCH
# (default 100), ROWS (noisy images per forward; default 4096), STEPS (which steps; default
# "attacks calibrate eval"), NOISE (detection specs; default the PyTorch example's) and TAG
# (suffix of detector$TAG.json, eval$TAG.json, for runs with another NOISE).
set -euo pipefail
cd "$(dirname "$0")/.."
FSA=${FSA:-build/fsa}
WEIGHTS=${WEIGHTS:-build/weights}
OUT_DIR=${OUT_DIR:-out}
DEVICE=${DEVICE:-cpu}
MODEL=${MODEL:-resnet20}
TEST=${TEST:-1000}
CALIBRATION=${CALIBRATION:-10000}
HOLDOUT=${HOLDOUT:-1000}
SAMPLES=${SAMPLES:-256}
BATCH=${BATCH:-100}
ROWS=${ROWS:-4096}
STEPS=${STEPS:-attacks calibrate eval}
NOISE=${NOISE:-n0.003,s0.003,u0.003,n0.005,s0.005,u0.005,n0.008,s0.008,u0.008}
TAG=${TAG:-}
DIR="$OUT_DIR/o2_$MODEL"
mkdir -p "$DIR"

if [[ " $STEPS " == *" attacks "* ]]; then
  "$FSA" attack pgd --model "$WEIGHTS/$MODEL.h5" --limit "$TEST" --batch "$BATCH" \
    --norm linf --eps 8/255 --step 2/255 --steps 10 --loss ce --grid 0 \
    --device "$DEVICE" --out "$DIR/pgd8"
  "$FSA" attack fa --model "$WEIGHTS/$MODEL.h5" \
    --encoder "$WEIGHTS/vgg19_normalised_relu2_1.h5" --decoder "$WEIGHTS/wct_decoder_relu2_1.h5" \
    --preset paper --limit "$TEST" --batch 100 --iterations 200 --grid 0 \
    --device "$DEVICE" --out "$DIR/fa"
fi
if [[ " $STEPS " == *" calibrate "* ]]; then
  "$FSA" detect calibrate --model "$WEIGHTS/$MODEL.h5" --limit "$CALIBRATION" \
    --holdout "$HOLDOUT" --holdout-split test --fpr 0.01,0.05 --samples "$SAMPLES" \
    --noise "$NOISE" --correct-noise none --batch "$BATCH" --rows "$ROWS" --device "$DEVICE" \
    --out "$DIR/detector$TAG.json" | tee "$DIR/calibrate$TAG.txt"
fi
if [[ " $STEPS " == *" eval "* ]]; then
  "$FSA" detect eval --detector "$DIR/detector$TAG.json" --model "$WEIGHTS/$MODEL.h5" \
    --limit "$TEST" --adversarial "$DIR/pgd8" --adversarial "$DIR/fa" \
    --batch "$BATCH" --rows "$ROWS" --device "$DEVICE" --json "$DIR/eval$TAG.json" |
    tee "$DIR/eval$TAG.txt"
fi
