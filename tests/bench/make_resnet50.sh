#!/usr/bin/env bash
# Makes what the server benchmarks run on: DIR/repo/resnet50, a ResNet-50
# model directory with random weights (weights-tools/export_torchvision.py,
# then `cnnserve convert`), and DIR/image.jpg, a SIZE×SIZE RGB gradient.
# Progress on stderr.
#
#   tests/bench/make_resnet50.sh CNNSERVE DIR SIZE
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cnnserve="$1" dir="$2" size="$3"
python=/usr/bin/python3 # Debian's, which has torch

echo "make_resnet50: ResNet-50 with random weights in $dir" >&2
"$python" "$root/weights-tools/export_torchvision.py" --arch resnet50 --seed 1 --out "$dir/w.safetensors" >&2
mkdir -p "$dir/repo"
"$cnnserve" convert --arch resnet50 --weights "$dir/w.safetensors" --out "$dir/repo/resnet50" >&2
rm -f "$dir/w.safetensors"
"$python" - "$dir/image.jpg" "$size" <<'PY'
import sys
import numpy as np
from PIL import Image
n = int(sys.argv[2])
y, x = np.mgrid[0:n, 0:n]
rgb = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.uint8)
Image.fromarray(rgb).save(sys.argv[1], quality=90)
PY
