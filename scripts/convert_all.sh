#!/usr/bin/env bash
# convert_all.sh: converts every checkpoint of the assets (weights/cifar10 and
# weights/vgg19-normalised) into build/weights/ with scripts/convert_checkpoint.py (Python 3,
# numpy, h5py; no PyTorch). The outputs are build products: never commit them.
#   scripts/convert_all.sh [OUT_DIR]      default OUT_DIR: build/weights
# Assets: $FSA_ASSETS, else the shared folder beside the repository (../shared).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
assets="${FSA_ASSETS:-$repo/../shared}"
out="${1:-$repo/build/weights}"
python="${FSA_PYTHON:-/usr/bin/python3}"
converter="$repo/scripts/convert_checkpoint.py"

[ -d "$assets/weights" ] || { echo "convert_all.sh: no weights in '$assets' (set FSA_ASSETS)" >&2; exit 1; }
mkdir -p "$out"

# checkpoint (relative to the assets' weights/) -> output name
conversions=(
  "cifar10/resnet20-12fca82f.th resnet20.h5"
  "cifar10/resnet32-d509ac18.th resnet32.h5"
  "cifar10/resnet2b_adv2px.pth resnet2b.h5"
  "cifar10/resnet4b_adv2px.pth resnet4b.h5"
)
for k in 1 2 3; do
  conversions+=("vgg19-normalised/vgg_normalised_conv${k}_1.pth vgg19_normalised_relu${k}_1.h5")
  conversions+=("vgg19-normalised/feature_invertor_conv${k}_1.pth wct_decoder_relu${k}_1.h5")
done

for entry in "${conversions[@]}"; do
  read -r checkpoint name <<< "$entry"
  "$python" "$converter" "$assets/weights/$checkpoint" "$out/$name"
done
echo "convert_all.sh: ${#conversions[@]} weight files in $out"
