#!/usr/bin/env bash
# table4.sh: the analogue of the paper's Table 4: a PGD-trained classifier is fine-tuned three
# times with the same schedule, on PGD, FA and FI examples (made online against the model being
# trained, `fsa train --adversary pgd|fa|fi`), then each of the three is attacked on the same
# first N test records by PGD (L-inf 8/255, 10 steps of 2/255), FA and FI (paper presets with
# ATTACK_ITERS iterations); prints the 3x3 accuracy table (rows: trained on; columns: attacked by).
#
# Environment (defaults: the short CPU schedule of docs/RESULTS.md "Table 4 analogue"):
#   FSA (build/fsa), WEIGHTS (build/weights: vgg19_normalised_relu2_1.h5, wct_decoder_relu2_1.h5),
#   BASE (the PGD-trained model to fine-tune; default runs/madry/classifier.h5, from the Madry fine-tune in docs/RESULTS.md),
#   OUT_DIR (out/table4), DEVICE (cpu|cuda),
#   STEPS (40) and BATCH (32): the fine-tuning schedule (STEPS x BATCH training examples seen),
#   LR (0.01, cosine to 0), SEED (0),
#   TRAIN_PGD_STEPS (10): PGD steps per training example (8/255, 2/255),
#   TRAIN_ITERS (5): FA/FI iterations per training batch,
#   PROTOTYPES (50): FI prototypes per class (training and attack),
#   N (100): test records attacked, ATTACK_ITERS (30): FA/FI attack iterations (paper: 200),
#   ATTACK_BATCH (100).
# A full-size run on a GPU, e.g.: DEVICE=cuda STEPS=3910 BATCH=128 TRAIN_ITERS=50 N=1000
#   ATTACK_ITERS=200 scripts/table4.sh   (10 epochs of the 50,000 training images).
# Re-running skips finished pieces (a trained classifier.h5, an attack's metrics.json).
set -euo pipefail
cd "$(dirname "$0")/.."
FSA=${FSA:-build/fsa}
WEIGHTS=${WEIGHTS:-build/weights}
BASE=${BASE:-runs/madry/classifier.h5}
OUT_DIR=${OUT_DIR:-out/table4}
DEVICE=${DEVICE:-cpu}
STEPS=${STEPS:-40}
BATCH=${BATCH:-32}
LR=${LR:-0.01}
SEED=${SEED:-0}
TRAIN_PGD_STEPS=${TRAIN_PGD_STEPS:-10}
TRAIN_ITERS=${TRAIN_ITERS:-5}
PROTOTYPES=${PROTOTYPES:-50}
N=${N:-100}
ATTACK_ITERS=${ATTACK_ITERS:-30}
ATTACK_BATCH=${ATTACK_BATCH:-100}
ENCODER=$WEIGHTS/vgg19_normalised_relu2_1.h5
DECODER=$WEIGHTS/wct_decoder_relu2_1.h5
ADVERSARIES="pgd fa fi"
mkdir -p "$OUT_DIR"

feature_options() {  # the feature attacks' networks
  echo --encoder "$ENCODER" --decoder "$DECODER"
}

train() {  # train ADVERSARY
  local adversary=$1 dir=$OUT_DIR/trained_$1
  [ -f "$dir/classifier.h5" ] && [ ! -f "$dir/.running" ] && return
  local extra=()
  case $adversary in
    pgd) extra=(--attack-steps "$TRAIN_PGD_STEPS") ;;  # 8/255, steps of 2/255 (the defaults)
    fa) extra=($(feature_options) --fa-preset paper --fa-iterations "$TRAIN_ITERS") ;;
    fi) extra=($(feature_options) --fi-prototypes "$PROTOTYPES" --fi-iterations "$TRAIN_ITERS") ;;
  esac
  local resume=()
  [ -f "$dir/checkpoint.h5" ] && resume=(--resume)
  mkdir -p "$dir" && touch "$dir/.running"
  /usr/bin/time -f "train $adversary: %e s" "$FSA" train --init "$BASE" --adversary "$adversary" \
    --steps "$STEPS" --batch "$BATCH" --lr "$LR" --lr-schedule cosine --seed "$SEED" \
    --log-every 1 --checkpoint-every "$STEPS" --device "$DEVICE" --out "$dir" "${extra[@]}" \
    "${resume[@]}"
  rm -f "$dir/.running"
}

attack() {  # attack TRAINED_ON ATTACK
  local model=$OUT_DIR/trained_$1/classifier.h5 out=$OUT_DIR/$1_attacked_by_$2
  [ -f "$out/metrics.json" ] && return
  local common=(--model "$model" --limit "$N" --batch "$ATTACK_BATCH" --seed "$SEED" --grid 0
    --no-images --device "$DEVICE" --out "$out")
  case $2 in
    pgd) /usr/bin/time -f "attack $1 by pgd: %e s" "$FSA" attack pgd "${common[@]}" \
      --eps 8/255 --step 2/255 --steps 10 ;;
    fa) /usr/bin/time -f "attack $1 by fa: %e s" "$FSA" attack fa "${common[@]}" \
      $(feature_options) --preset paper --iterations "$ATTACK_ITERS" ;;
    fi) /usr/bin/time -f "attack $1 by fi: %e s" "$FSA" attack fi "${common[@]}" \
      $(feature_options) --preset paper --iterations "$ATTACK_ITERS" --prototypes "$PROTOTYPES" ;;
  esac
}

for adversary in $ADVERSARIES; do train "$adversary"; done
for trained in $ADVERSARIES; do
  for attacked in $ADVERSARIES; do attack "$trained" "$attacked"; done
done

python3 - "$OUT_DIR" "$ADVERSARIES" <<'EOF'
import json, sys
out, names = sys.argv[1], sys.argv[2].split()
def summary(trained, attacked):
    with open(f"{out}/{trained}_attacked_by_{attacked}/metrics.json") as f:
        return json.load(f)["summary"]
print("Accuracy (%) under attack, adversarial top-1 on the same test records")
print("| trained on | clean | " + " | ".join(n.upper() for n in names) + " |")
print("|---|---|" + "---|" * len(names))
for t in names:
    clean = 100 * summary(t, names[0])["clean_top1"]
    cells = [f"{100 * summary(t, a)['adversarial_top1']:.1f}" for a in names]
    print(f"| {t.upper()} | {clean:.1f} | " + " | ".join(cells) + " |")
EOF
