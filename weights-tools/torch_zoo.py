"""PyTorch twins of cnnserve's zoo architectures (engine/src/zoo/).

build(arch, num_classes, width_divisor) returns a torch module whose
state_dict names equal torchvision 0.14's (the zoo's weight names), in eval
mode. Narrowed variants (width_divisor > 1) divide every channel count and
hidden width by the divisor (minimum 1), exactly as the C builders do; the
classifier heads keep num_classes outputs. randomize() fills the weights
from a fixed seed, optionally with random batch-norm statistics so that
folding BN into convolutions is really exercised.
"""
import math
import warnings

import torch
from torch import nn
import torchvision.models as tvm

warnings.filterwarnings("ignore", message="Lazy modules are a new feature")

ARCHS = ["lenet5", "alexnet", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50",
         "resnet101", "resnet152", "googlenet", "inception_v3"]
DEFAULT_CLASSES = {a: (10 if a == "lenet5" else 1000) for a in ARCHS}
INPUT_SHAPE = {a: (3, 224, 224) for a in ARCHS}
INPUT_SHAPE["lenet5"] = (1, 28, 28)
INPUT_SHAPE["inception_v3"] = (3, 299, 299)
# Linear layers that produce the class scores (never narrowed).
HEADS = {"classifier.6", "classifier.2", "fc", "aux1.fc2", "aux2.fc2", "AuxLogits.fc"}


class LeNet5(nn.Module):
    """The seed's Keras LeNet-5 (§5.4.9) with PyTorch-style names."""

    def __init__(self, num_classes=10, width_divisor=1):
        super().__init__()
        w = lambda c: max(1, c // width_divisor)
        self.features = nn.Sequential(
            nn.Conv2d(1, w(6), 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(w(6), w(16), 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(w(16), w(120), 1))
        self.classifier = nn.Sequential(
            nn.Linear(w(120) * 4 * 4, w(84)), nn.Sigmoid(),
            nn.Linear(w(84), num_classes), nn.Softmax(dim=1))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def _torchvision(arch, num_classes, aux):
    if arch == "googlenet":
        return tvm.googlenet(weights=None, num_classes=num_classes, aux_logits=aux,
                             transform_input=False, init_weights=False)
    if arch == "inception_v3":
        return tvm.inception_v3(weights=None, num_classes=num_classes, aux_logits=aux,
                                transform_input=False, init_weights=False)
    return getattr(tvm, arch)(weights=None, num_classes=num_classes)


def _narrow(model, width_divisor, input_shape):
    """Replaces every conv/BN/linear by a lazy twin with divided widths and
    materializes them with one training-mode forward (so auxiliary heads are
    reached too)."""
    w = lambda c: max(1, c // width_divisor)
    for name, mod in list(model.named_modules()):
        if isinstance(mod, nn.Conv2d):
            assert mod.groups == 1
            new = nn.LazyConv2d(w(mod.out_channels), mod.kernel_size, mod.stride, mod.padding,
                                mod.dilation, bias=mod.bias is not None)
        elif isinstance(mod, nn.BatchNorm2d):
            new = nn.LazyBatchNorm2d(eps=mod.eps, momentum=mod.momentum)
        elif isinstance(mod, nn.Linear):
            out = mod.out_features if name in HEADS else w(mod.out_features)
            new = nn.LazyLinear(out, bias=mod.bias is not None)
        else:
            continue
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, attr, new)
    model.train()
    with torch.no_grad():
        model(torch.zeros((2,) + tuple(input_shape)))
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.reset_running_stats()
    return model


def build(arch, num_classes=0, width_divisor=1, aux=True):
    """The architecture as a torch module in eval mode. `aux` keeps GoogLeNet's
    and Inception v3's auxiliary heads (their weights appear in the state_dict
    like in torchvision checkpoints; eval-mode forward ignores them)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} (known: {', '.join(ARCHS)})")
    num_classes = num_classes or DEFAULT_CLASSES[arch]
    width_divisor = max(1, width_divisor or 1)
    if arch == "lenet5":
        model = LeNet5(num_classes, width_divisor)
    else:
        model = _torchvision(arch, num_classes, aux)
        if width_divisor > 1:
            model = _narrow(model, width_divisor, INPUT_SHAPE[arch])
    return model.eval()


def _calibrate_bn(model, g, input_shape):
    """Sets every BN's running statistics to the batch statistics of one
    training-mode forward on random input, so that eval-mode activations stay
    near unit scale however deep the network is."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(torch.randn((2,) + tuple(input_shape), generator=g))
    model.eval()
    for m, momentum in zip(bns, saved):
        m.momentum = momentum


def _residual_branch_ends(model):
    """The last BN of every ResNet residual branch. Their gammas are drawn
    small (U(0.1, 0.4)), in the spirit of torchvision's zero_init_residual:
    with gammas near 1 a 50-block ResNet's fp32 rounding is amplified to
    ~5e-5 of the logits in torch itself, and the conformance tolerance would
    measure that chaos instead of the engine."""
    for mod in model.modules():
        if isinstance(mod, tvm.resnet.Bottleneck):
            yield mod.bn3
        elif isinstance(mod, tvm.resnet.BasicBlock):
            yield mod.bn2


def randomize(model, seed, randomize_bn=True, input_shape=None):
    """Deterministic random weights: He-normal convs/linears, small random
    biases. With randomize_bn, batch norms get random affine parameters
    (gamma U(0.5,1.5), residual branch ends U(0.1,0.4), beta U(-0.2,0.2)) and running statistics that are
    calibrated on random input of `input_shape` (C, H, W) and then perturbed
    (mean shifted by N(0, 0.2²)·std, variance scaled by U(0.5, 2)), so folding
    BN into convolutions is really exercised while activations stay bounded."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                if mod.bias is not None:
                    mod.bias.copy_(torch.rand(mod.bias.shape, generator=g) * 0.2 - 0.1)
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if not randomize_bn or not bns:
            return model.eval()
        for mod in bns:
            c = mod.num_features
            mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
            mod.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
        for bn in _residual_branch_ends(model):
            bn.weight.copy_(torch.rand(bn.num_features, generator=g) * 0.3 + 0.1)
        _calibrate_bn(model, g, input_shape)
        for mod in bns:
            c = mod.num_features
            std = mod.running_var.clamp_min(1e-6).sqrt()
            mod.running_mean.add_(torch.randn(c, generator=g) * 0.2 * std)
            mod.running_var.mul_(torch.rand(c, generator=g) * 1.5 + 0.5)
    return model.eval()


def num_params(model):
    """Trainable parameter count, the way torchvision's docs count it."""
    return sum(p.numel() for p in model.parameters())
