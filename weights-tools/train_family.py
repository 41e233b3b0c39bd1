#!/usr/bin/python3
"""Trains the bundled family of Fashion-MNIST models (weights-tools/fashion_nets.py:
AlexNet-, VGG-, ResNet-, GoogLeNet- and BN-GoogLeNet-style) and writes each
as models/<name>/{model.json (graph form), weights.safetensors, samples/*.png}.

Data, preprocessing (pixels/255), optimizer and schedule are those of
train_fashion.py (Adam, cosine decay, shuffling seeded with 1), plus random
left-right flips; every model starts from torch.manual_seed(0). The networks
train in channels-last layout, where oneDNN's convolutions are 3-10× faster.
One thread per model by default: on 2 shared cores, two models trained side
by side with one thread each (`--arch a --arch b &` twice) use the CPU best;
two threads spin-wait whenever the other core is busy. Same seeds, same
torch build and same --threads give the same weights bit for bit; another
build or thread count gives equally good but different ones.

  train_family.py [--arch alexnet ...] [--epochs N] [--threads 1] [--models DIR]
  train_family.py --export-only      # rewrite model.json from the committed weights
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fashion_nets  # noqa: E402
import graph_export  # noqa: E402
import safetensors_io  # noqa: E402
import train_fashion  # noqa: E402

# Per architecture: epochs, Adam learning rate (batch 128).
RECIPES = {
    "alexnet": (8, 2e-3),
    "vgg": (8, 1e-3),
    "resnet": (6, 2e-3),
    "inception": (8, 2e-3),
    "inception_bn": (6, 3e-3),
}
INPUT_SHAPE = (1, 28, 28)


def tools_family_dir_name(arch):
    """The model directory name of an architecture: resnet -> resnet-fashion."""
    return arch.replace("_", "-") + "-fashion"


def tools_family_forward(model, x):
    """The class logits; the batch goes in channels-last like the weights."""
    return model(x.contiguous(memory_format=torch.channels_last))


def tools_family_load(arch, model_dir):
    """The module of `arch` with the weights of model_dir/weights.safetensors
    (exactly its state_dict save num_batches_tracked), in eval mode."""
    tensors, _ = safetensors_io.load(os.path.join(model_dir, "weights.safetensors"))
    model = fashion_nets.build(arch)
    state = model.state_dict()
    expected = {k for k in state if not k.endswith("num_batches_tracked")}
    if set(tensors) != expected:
        raise ValueError(f"{model_dir}: weights do not fit {arch}: missing {sorted(expected - set(tensors))}, "
                         f"unexpected {sorted(set(tensors) - expected)}")
    state.update((k, torch.from_numpy(v.copy())) for k, v in tensors.items())
    model.load_state_dict(state, strict=True)
    return model.eval()


def model_info(name):
    info = train_fashion.model_json()
    del info["architecture"]
    del info["input"]  # a graph's input node gives the input size
    info["name"] = name
    return info


def train_one(arch, args, data):
    x_train, y_train, test_images, x_test, y_test = data
    name = tools_family_dir_name(arch)
    out_dir = os.path.join(args.models, name)
    epochs, lr = RECIPES[arch]
    epochs = args.epochs or epochs
    t0 = time.time()
    if args.export_only:
        model = tools_family_load(arch, out_dir)
        _, meta = safetensors_io.load(os.path.join(out_dir, "weights.safetensors"))
        epochs, seconds = meta.get("epochs", "?"), meta.get("train_seconds", "?")
    else:
        torch.manual_seed(0)
        model = fashion_nets.build(arch).to(memory_format=torch.channels_last)
        params = sum(p.numel() for p in model.parameters())
        print(f"== {name}: {params} parameters, {epochs} epochs, lr {lr}", flush=True)
        train_fashion.train(model, x_train, y_train, epochs, x_test, y_test, lr=lr,
                            forward=tools_family_forward, flip=True)
        seconds = f"{time.time() - t0:.0f}"
    acc, pred = train_fashion.evaluate(model, x_test, y_test, tools_family_forward)
    print(f"{name}: test accuracy {acc:.4f} ({len(y_test)} images), trained in {seconds} s", flush=True)
    metadata = {"format": "pt", "arch": arch, "dataset": "fashion-mnist", "test_accuracy": f"{acc:.4f}",
                "epochs": epochs, "learning_rate": lr, "threads": args.threads,
                "torch": torch.__version__, "train_seconds": seconds}
    graph_export.tools_graph_export_save(model, out_dir, INPUT_SHAPE, model_info(name), metadata)
    train_fashion.write_samples(out_dir, test_images, y_test, pred)
    print(f"wrote {os.path.abspath(out_dir)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", choices=list(RECIPES),
                    help="architecture to train (repeatable; default: all)")
    ap.add_argument("--epochs", type=int, default=0, help="override the recipe's epochs")
    ap.add_argument("--data", default=train_fashion.DATA_DIR)
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export-only", action="store_true",
                    help="no training: load models/<name>/weights.safetensors, rewrite model.json")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"{args.data} missing: apt-get install -y dataset-fashion-mnist")
    torch.set_num_threads(args.threads)
    _, x_train, y_train = train_fashion.load_split(args.data, "train")
    test_images, x_test, y_test = train_fashion.load_split(args.data, "t10k")
    data = (x_train, y_train, test_images, x_test, y_test)
    for arch in args.arch or list(RECIPES):
        train_one(arch, args, data)


if __name__ == "__main__":
    main()
