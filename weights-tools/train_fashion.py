#!/usr/bin/python3
"""Trains the seed's LeNet-5 on Fashion-MNIST and writes cnnserve's bundled
default model: models/lenet5-fashion/{weights.safetensors, model.json,
samples/*.png}.

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz;
`apt-get install dataset-fashion-mnist`). Fixed seeds; a few epochs of Adam
run in about a minute on 2 cores. Inputs are pixels/255 (mean 0, std 1), the
preprocessing model.json declares.

  train_fashion.py [--epochs 6] [--out models/lenet5-fashion]
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
import torch_zoo  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """An IDX file (the MNIST format) as a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return images, x, torch.from_numpy(labels.astype(np.int64))


def logits(model, x):
    """The network up to (not including) its final softmax. The dense layers
    run as convolutions over the 120×4×4 feature map (same weights, same
    math): Debian's torch uses the reference BLAS for nn.Linear, which makes
    training 3× slower, while convolutions go through oneDNN."""
    h = model.features(x)
    fc1, act, fc2 = model.classifier[0], model.classifier[1], model.classifier[2]
    h = act(F.conv2d(h, fc1.weight.view(fc1.out_features, *h.shape[1:]), fc1.bias))
    return F.conv2d(h, fc2.weight.view(fc2.out_features, -1, 1, 1), fc2.bias).flatten(1)


def evaluate(model, x, y, forward=logits):
    """Test accuracy of `forward(model, batch)` on (x, y) and the predictions."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([forward(model, x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean()), pred


def train(model, x, y, epochs, x_test, y_test, batch_size=128, lr=2e-3, forward=logits, flip=False):
    """Adam with a cosine learning-rate schedule over `epochs` shuffled passes
    (shuffling from a generator seeded with 1); with `flip`, a random half of
    each batch is mirrored left-right. Prints loss and accuracies per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * ((len(x) + batch_size - 1) // batch_size))
    g = torch.Generator().manual_seed(1)
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(x), generator=g)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            xb = x[idx]
            if flip:
                mirror = torch.rand(len(idx), generator=g) < 0.5
                xb = torch.where(mirror[:, None, None, None], xb.flip(3), xb)
            out = forward(model, xb)
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
            total += len(idx)
        acc, _ = evaluate(model, x_test, y_test, forward)
        print(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / total:.4f}, train acc {correct / total:.4f}, "
              f"test acc {acc:.4f} ({time.time() - t0:.1f}s)", flush=True)


def model_json():
    return {
        "name": "lenet5-fashion",
        "architecture": {"zoo": "lenet5", "num_classes": len(LABELS)},
        "input": {"channels": 1, "height": 28, "width": 28},
        "preprocessing": {"color": "grayscale", "resize_shorter": 0, "scale": 1.0 / 255.0,
                          "mean": [0.0], "std": [1.0]},
        "labels": LABELS,
        "batching": {"max_batch_size": 32, "max_queue_delay_us": 2000},
    }


def write_samples(out_dir, images, labels, pred, count=3):
    """PNGs of the first `count` correctly classified test images of distinct classes."""
    from PIL import Image

    sample_dir = os.path.join(out_dir, "samples")
    os.makedirs(sample_dir, exist_ok=True)
    seen = set()
    for i in range(len(images)):
        c = int(labels[i])
        if c in seen or int(pred[i]) != c:
            continue
        seen.add(c)
        slug = LABELS[c].lower().replace("/", "_").replace("-", "_").replace(" ", "_")
        path = os.path.join(sample_dir, f"{i}_{slug}.png")
        Image.fromarray(images[i], mode="L").save(path)
        print(f"sample {path}: {LABELS[c]}")
        if len(seen) == count:
            break


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--data", default=DATA_DIR)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "lenet5-fashion"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f"{args.data} missing: apt-get install -y dataset-fashion-mnist")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    _, x_train, y_train = load_split(args.data, "train")
    test_images, x_test, y_test = load_split(args.data, "t10k")
    model = torch_zoo.build("lenet5", len(LABELS))
    train(model, x_train, y_train, args.epochs, x_test, y_test)
    acc, pred = evaluate(model, x_test, y_test)
    print(f"test accuracy: {acc:.4f} ({len(y_test)} images)")

    os.makedirs(args.out, exist_ok=True)
    safetensors_io.save(model.state_dict(), os.path.join(args.out, "weights.safetensors"),
                        {"format": "pt", "arch": "lenet5", "dataset": "fashion-mnist",
                         "test_accuracy": f"{acc:.4f}", "epochs": args.epochs})
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(model_json(), f, indent=2)
        f.write("\n")
    write_samples(args.out, test_images, y_test, pred)
    print(f"wrote {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
