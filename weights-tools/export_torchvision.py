#!/usr/bin/python3
"""Writes a torchvision-style model's state_dict as safetensors for cnnserve.

Random weights under a fixed seed (for conformance tests), or the weights of
a given checkpoint (a torchvision state_dict saved with torch.save):

  export_torchvision.py --arch resnet50 --seed 1 --randomize-bn --out w.safetensors
  export_torchvision.py --arch resnet50 --checkpoint resnet50-0676ba61.pth --out w.safetensors
  cnnserve convert --arch resnet50 --weights w.safetensors --out models/resnet50

Names are torchvision's, including GoogLeNet's aux1/aux2 and Inception v3's
AuxLogits heads (the zoo ignores them) and BN num_batches_tracked (int64).
"""
import argparse
import sys
import os

import torch

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
    ap.add_argument("--out", required=True, help="output .safetensors path")
    args = ap.parse_args()
    if args.num_classes < 0 or args.width_divisor < 1:
        ap.error("--num-classes must be >= 0 and --width-divisor >= 1")
    model = export(args.arch, args.out, args.num_classes, args.width_divisor, args.seed, args.randomize_bn,
                   args.checkpoint)
    print(f"{args.out}: {args.arch}, {torch_zoo.num_params(model):,} parameters, "
          f"{len(model.state_dict())} tensors")


if __name__ == "__main__":
    main()
