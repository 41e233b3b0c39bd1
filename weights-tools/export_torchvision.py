#!/usr/bin/python3
"""Writes a torchvision-style model's state_dict as safetensors for cnnserve.

Random weights under a fixed seed (for conformance tests), or the weights of
a given checkpoint (a torchvision state_dict saved with torch.save):

  export_torchvision.py --arch resnet50 --seed 1 --randomize-bn --out w.safetensors
  export_torchvision.py --arch resnet50 --print-url
  export_torchvision.py --arch resnet50 --checkpoint resnet50-0676ba61.pth --out w.safetensors \
      --labels-out imagenet.txt
  cnnserve convert --arch resnet50 --weights w.safetensors --labels imagenet.txt --out models/resnet50

--print-url lists torchvision's checkpoints for the architecture (download
them on a connected machine); --labels-out writes the 1000 ImageNet class
names from torchvision's own weight metadata (offline).

Names are torchvision's, including GoogLeNet's aux1/aux2 and Inception v3's
AuxLogits heads (the zoo ignores them) and BN num_batches_tracked (int64).
"""
import argparse
import sys
import os

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import torch_zoo  # noqa: E402


def load_checkpoint(model, path):
    """Loads a state_dict checkpoint (optionally wrapped in {"state_dict": ...}) strictly."""
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise SystemExit(f"{path}: not a state_dict (got {type(sd).__name__}); save model.state_dict()")
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        msg = str(e)
        raise SystemExit(f"{path} does not fit this architecture/options: "
                         f"{msg[:800]}{' ...' if len(msg) > 800 else ''}")


def pretrained_weights(arch):
    """torchvision's weight enum entries for `arch` (empty for lenet5)."""
    try:
        return list(torchvision.models.get_model_weights(arch))
    except ValueError:
        return []


def write_labels(arch, path):
    """Writes the ImageNet categories torchvision ships for `arch`, one per line."""
    weights = pretrained_weights(arch)
    if not weights:
        raise SystemExit(f"torchvision has no pretrained weights (and no class names) for {arch}")
    categories = weights[0].meta["categories"]
    with open(path, "w") as f:
        f.write("\n".join(categories) + "\n")
    return len(categories)


def export(arch, out, num_classes=0, width_divisor=1, seed=0, randomize_bn=False, checkpoint=None):
    """Builds the model, fills its weights, writes `out`; returns the eval-mode model."""
    model = torch_zoo.build(arch, num_classes, width_divisor)
    if checkpoint:
        load_checkpoint(model, checkpoint)
    else:
        torch_zoo.randomize(model, seed, randomize_bn, torch_zoo.INPUT_SHAPE[arch])
    meta = {"format": "pt", "arch": arch, "num_classes": num_classes or torch_zoo.DEFAULT_CLASSES[arch],
            "width_divisor": max(1, width_divisor), "source": checkpoint or f"random seed {seed}"}
    safetensors_io.save(model.state_dict(), out, meta)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=torch_zoo.ARCHS)
    ap.add_argument("--num-classes", type=int, default=0, help="default: the architecture's (1000, lenet5: 10)")
    ap.add_argument("--width-divisor", type=int, default=1, help="divide every channel count by this")
    ap.add_argument("--seed", type=int, default=0, help="seed for random weights")
    ap.add_argument("--randomize-bn", action="store_true",
                    help="random BN affine parameters and running statistics")
    ap.add_argument("--checkpoint", help="torchvision state_dict (.pth) instead of random weights")
    ap.add_argument("--out", help="output .safetensors path")
    ap.add_argument("--labels-out", help="write torchvision's ImageNet class names here, one per line")
    ap.add_argument("--print-url", action="store_true", help="list torchvision's checkpoints for --arch and exit")
    args = ap.parse_args()
    if args.print_url:
        for w in pretrained_weights(args.arch):
            t = w.transforms()
            print(f"{w}: {w.url}\n    ImageNet top-1 {w.meta['_metrics']['ImageNet-1K']['acc@1']}; "
                  f"resize {t.resize_size[0]}, crop {t.crop_size[0]}: "
                  f"cnnserve convert ... --resize-shorter {t.resize_size[0]}")
        return
    if not args.out:
        ap.error("--out is required")
    if args.num_classes < 0 or args.width_divisor < 1:
        ap.error("--num-classes must be >= 0 and --width-divisor >= 1")
    model = export(args.arch, args.out, args.num_classes, args.width_divisor, args.seed, args.randomize_bn,
                   args.checkpoint)
    print(f"{args.out}: {args.arch}, {torch_zoo.num_params(model):,} parameters, "
          f"{len(model.state_dict())} tensors")
    if args.labels_out:
        print(f"{args.labels_out}: {write_labels(args.arch, args.labels_out)} class names")


if __name__ == "__main__":
    main()
