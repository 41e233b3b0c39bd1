"""The trained family's PyTorch modules: one small network per classic CNN
family, for 1×28×28 Fashion-MNIST images, narrowed like the seed (§5.14.4
`filter_control`) so that each trains on one CPU core in minutes.

  alexnet  AlexNet (§5.5): 5×5 convs with LRN and overlapping 3×3/2 max pooling,
           three 3×3 convs, two hidden dense layers followed by dropout
  vgg      VGG (§5.6): stacks of 3×3 convs, each closed by 2×2 max pooling
  resnet   ResNet (§5.9): basic blocks (two 3×3 convs with BN), identity
           shortcuts, 1×1 stride-2 projections where the shape changes
  inception, inception_bn
           GoogLeNet (§5.12) inception modules (1×1, 1×1→3×3, 1×1→5×5 and
           3×3 max pool→1×1 branches, concatenated); the _bn variant puts batch
           norm after every conv (Inception v2, §5.13)

build(arch) returns the module in train mode, its weights drawn from the
global torch seed. Every network ends in a Dense layer giving the 10 class logits. The
module paths are the engine's node names and the state_dict names are the
weight names (weights-tools/graph_export.py).
"""
import torch
from torch import nn
import torch.nn.functional as F

NUM_CLASSES = 10


class Dense(nn.Linear):
    """nn.Linear computed as a 1×1 convolution over the flattened input (same
    weights [out, in], same math). Debian's torch runs nn.Linear on the
    reference BLAS, ten times slower than oneDNN's convolution."""

    def forward(self, x):
        n = x.shape[0]
        w = self.weight.view(self.out_features, self.in_features, 1, 1)
        return F.conv2d(x.reshape(n, -1, 1, 1), w, self.bias).flatten(1)


class LRN(nn.LocalResponseNorm):
    """PyTorch's LocalResponseNorm (odd sizes). In training mode the window
    sum over channels is a banded 1×1 convolution: the same value, but half
    the training time of nn.LocalResponseNorm's avg_pool3d path on 2 cores.
    Evaluation runs PyTorch's own implementation."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        if size % 2 != 1:
            raise ValueError("LRN size must be odd")
        super().__init__(size, alpha, beta, k)

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        idx = torch.arange(x.shape[1], device=x.device)
        band = ((idx[:, None] - idx[None, :]).abs() <= self.size // 2).to(x.dtype)[:, :, None, None]
        window = F.conv2d(x * x, band)
        return x / (self.k + self.alpha / self.size * window).pow(self.beta)


def he_init(model):
    """He-normal conv weights and zero conv biases: the seed's
    kernel_initializer='he_normal' (§5.9.5, §5.12.3). Plain ReLU stacks
    without batch norm need it; from PyTorch's default init (a third of the
    variance) the signal fades with depth and training crawls."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def conv_relu(cin, cout, k, bn=False):
    """Conv (padding k//2) [+ BN] + ReLU, as a list of layers."""
    layers = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.ReLU(inplace=True))
    return layers


class AlexNet(nn.Module):
    """AlexNet's widths 96-256-384-384 / 4096-4096 divided by 8 and the last
    conv's 256 by 4 (64 × 2 × 2 features into the classifier), with
    CaffeNet's order (overlapping max pooling before LRN: a quarter of the
    LRN work, at 13×13 instead of 28×28) and the seed's dropout after each
    hidden dense layer (§5.5.8)."""

    def __init__(self, widths=(12, 32, 48, 48, 64), hidden=512):
        super().__init__()
        c1, c2, c3, c4, c5 = widths

        def lrn():
            return LRN(5, alpha=1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2), lrn(),  # 28 -> 13
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2), lrn(),  # 13 -> 6
            *conv_relu(c2, c3, 3), *conv_relu(c3, c4, 3), *conv_relu(c4, c5, 3),
            nn.MaxPool2d(3, 2))                                                                # 6 -> 2
        self.classifier = nn.Sequential(
            nn.Flatten(), Dense(c5 * 2 * 2, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            Dense(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            Dense(hidden, NUM_CLASSES))

    def forward(self, x):
        return self.classifier(self.features(x))


class VGG(nn.Module):
    """The first three stacks of VGG's configuration A (64 | 128 | 256-256
    3×3 convs, each stack closed by 2×2 max pooling) divided by 4:
    28 -> 14 -> 7 -> 3, then two dense layers with dropout; convs start
    from he_init (PyTorch's default init gave 89.6 % after 8 epochs)."""

    def __init__(self, stacks=((16,), (32,), (64, 64)), hidden=256):
        super().__init__()
        layers, cin = [], 1
        for stack in stacks:
            for c in stack:
                layers += conv_relu(cin, c, 3)
                cin = c
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), Dense(cin * 3 * 3, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            Dense(hidden, NUM_CLASSES))
        he_init(self)

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet's basic block: conv-BN-ReLU-conv-BN plus the shortcut, then ReLU.
    The shortcut is the identity, or a 1×1 conv + BN where the stride or the
    width changes (the paper's projection shortcut)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + identity)


class ResNet(nn.Module):
    """A 3×3 stem and a 2×2 max pool (28 -> 14), then stages of basic blocks
    at 14, 7 and 4 pixels, global average pooling and the class layer."""

    def __init__(self, widths=(16, 32, 64), blocks=(2, 2, 2), stem=16):
        super().__init__()
        self.stem = nn.Sequential(*conv_relu(1, stem, 3, bn=True), nn.MaxPool2d(2, 2))
        stages, cin = [], stem
        for i, (c, n) in enumerate(zip(widths, blocks)):
            stage = [BasicBlock(cin if j == 0 else c, c, 2 if (i > 0 and j == 0) else 1) for j in range(n)]
            stages.append(nn.Sequential(*stage))
            cin = c
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = Dense(cin, NUM_CLASSES)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class Inception(nn.Module):
    """GoogLeNet's module: four branches concatenated along channels."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp, bn):
        super().__init__()
        self.branch1 = nn.Sequential(*conv_relu(cin, c1, 1, bn))
        self.branch3 = nn.Sequential(*conv_relu(cin, c3r, 1, bn), *conv_relu(c3r, c3, 3, bn))
        self.branch5 = nn.Sequential(*conv_relu(cin, c5r, 1, bn), *conv_relu(c5r, c5, 5, bn))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), *conv_relu(cin, pp, 1, bn))
        self.out_channels = c1 + c3 + c5 + pp

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


class GoogLeNet(nn.Module):
    """GoogLeNet's stem (conv, max pool, 1×1 reduce, 3×3), inception 3a at
    14×14, max pool, inception 4a and 4b at 7×7, with the paper's widths
    divided by 4 to 8 (multiples of 8, which oneDNN runs fastest); global
    average pooling, dropout and the class layer. bn=True is Inception v2's
    batch norm after every conv; without it the convs start from he_init
    (PyTorch's default init gave 84 % after 5 of 8 epochs)."""

    def __init__(self, bn=False):
        super().__init__()
        self.stem = nn.Sequential(*conv_relu(1, 16, 3, bn), nn.MaxPool2d(2, 2),    # 28 -> 14
                                  *conv_relu(16, 16, 1, bn), *conv_relu(16, 32, 3, bn))
        self.inception3a = Inception(32, 16, 16, 24, 8, 8, 8, bn)
        self.pool3 = nn.MaxPool2d(3, 2, padding=1)                                 # 14 -> 7
        self.inception4a = Inception(56, 24, 24, 32, 8, 16, 16, bn)
        self.inception4b = Inception(88, 40, 24, 48, 8, 16, 16, bn)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.4)
        self.fc = Dense(self.inception4b.out_channels, NUM_CLASSES)
        if not bn:
            he_init(self)

    def forward(self, x):
        x = self.pool3(self.inception3a(self.stem(x)))
        x = torch.flatten(self.pool(self.inception4b(self.inception4a(x))), 1)
        return self.fc(self.dropout(x))


ARCHS = {
    "alexnet": AlexNet,
    "vgg": VGG,
    "resnet": ResNet,
    "inception": lambda: GoogLeNet(bn=False),
    "inception_bn": lambda: GoogLeNet(bn=True),
}


def build(arch):
    """The untrained module for `arch` (a key of ARCHS)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ARCHS)})")
    return ARCHS[arch]()
