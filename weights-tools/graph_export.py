"""Writes a PyTorch module as a cnnserve model directory in the "graph" form
of model.json (engine/src/graph_json.h) plus weights.safetensors.

The module is traced with torch.fx; each traced call becomes one node:

  nn.Conv2d -> conv2d     nn.BatchNorm2d -> batch_norm    nn.Linear -> dense
  nn.MaxPool2d / nn.AvgPool2d -> max_pool / avg_pool      nn.LocalResponseNorm -> lrn
  nn.AdaptiveAvgPool2d(1) -> global_avg_pool              nn.Dropout -> dropout
  nn.ReLU / nn.Sigmoid / nn.Tanh (or F.relu, torch.relu ...) -> relu / sigmoid / tanh
  nn.Flatten, torch.flatten(x, 1) -> flatten    torch.cat(..., 1) -> concat    x + y -> add

A node made from a module is named by the module's path ("features.0",
"layers.1.0.conv1"), so its weights "<node>.weight", "<node>.bias",
"<node>.running_mean" ... are exactly the module's state_dict names. Anything
else (another op, a module used twice, an unsupported setting) is an error
naming the traced node.
"""
import json
import operator
import os

import torch
from torch import fx, nn
import torch.nn.functional as F

import safetensors_io

_ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", torch.sigmoid: "sigmoid", torch.tanh: "tanh",
              F.dropout: "dropout"}


class _Tracer(fx.Tracer):
    """Keeps every nn.Linear and nn.LocalResponseNorm subclass a leaf, and
    records in node.meta["scope"] the path of the module whose forward made
    the node (to name function calls: "layers.0.1.add")."""

    def __init__(self):
        super().__init__()
        self.scope = [""]

    def is_leaf_module(self, m, qualname):
        return isinstance(m, (nn.Linear, nn.LocalResponseNorm)) or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        self.scope.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scope.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["scope"] = self.scope[-1]
        return node


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def _pads(padding, where):
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding {padding!r} not supported, give numbers")
    ph, pw = _pair(padding)
    return [ph, pw, ph, pw]


def _module_node(m, where):
    """The op and keys for a leaf module; weight names are the module's parameters."""
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros":
            raise ValueError(f"{where}: padding_mode {m.padding_mode!r} not supported")
        return {"op": "conv2d", "out_channels": m.out_channels, "kernel": _pair(m.kernel_size),
                "stride": _pair(m.stride), "dilation": _pair(m.dilation), "groups": m.groups,
                "pads": _pads(m.padding, where), "bias": m.bias is not None}
    if isinstance(m, nn.Linear):
        return {"op": "dense", "out_features": m.out_features, "bias": m.bias is not None}
    if isinstance(m, nn.BatchNorm2d):
        if not m.affine or not m.track_running_stats:
            raise ValueError(f"{where}: batch norm needs affine=True and running statistics")
        return {"op": "batch_norm", "eps": m.eps}
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        node = {"op": "max_pool" if isinstance(m, nn.MaxPool2d) else "avg_pool",
                "kernel": _pair(m.kernel_size), "stride": _pair(m.stride or m.kernel_size),
                "pads": _pads(m.padding, where), "ceil_mode": bool(m.ceil_mode)}
        if isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != [1, 1]:
            raise ValueError(f"{where}: dilated max pooling not supported")
        if isinstance(m, nn.AvgPool2d):
            if m.divisor_override is not None:
                raise ValueError(f"{where}: divisor_override not supported")
            node["count_include_pad"] = bool(m.count_include_pad)
        return node
    if isinstance(m, nn.AdaptiveAvgPool2d):
        if _pair(m.output_size) != [1, 1]:
            raise ValueError(f"{where}: only AdaptiveAvgPool2d(1) (global pooling) is supported")
        return {"op": "global_avg_pool"}
    if isinstance(m, nn.LocalResponseNorm):
        return {"op": "lrn", "size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}
    if isinstance(m, nn.Dropout):
        return {"op": "dropout"}
    if isinstance(m, nn.Flatten):
        if m.start_dim != 1 or m.end_dim != -1:
            raise ValueError(f"{where}: only Flatten(1, -1) is supported")
        return {"op": "flatten"}
    for cls, op in _ACTIVATIONS.items():
        if isinstance(m, cls):
            return {"op": op}
    raise ValueError(f"{where}: module {type(m).__name__} not supported")


def _function_node(n):
    """The op for a traced function call, and its input nodes."""
    args = list(n.args)
    if n.target in (torch.cat, torch.concat):
        tensors, dim = args[0], args[1] if len(args) > 1 else n.kwargs.get("dim", 0)
        if dim != 1:
            raise ValueError(f"{n.name}: concat along dim {dim} (only channels, dim 1)")
        return {"op": "concat"}, list(tensors)
    if n.target in (operator.add, torch.add):
        if len(args) != 2 or n.kwargs or not all(isinstance(a, fx.Node) for a in args):
            raise ValueError(f"{n.name}: only the sum of two tensors is supported")
        return {"op": "add"}, args
    if n.target is torch.flatten:
        start = args[1] if len(args) > 1 else n.kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else n.kwargs.get("end_dim", -1)
        if start != 1 or end != -1:
            raise ValueError(f"{n.name}: only torch.flatten(x, 1) is supported")
        return {"op": "flatten"}, args[:1]
    if n.target in _FUNCTIONS:
        return {"op": _FUNCTIONS[n.target]}, args[:1]
    raise ValueError(f"{n.name}: function {getattr(n.target, '__name__', n.target)} not supported")


def _unique(name, used):
    """name, or name_1, name_2 ... whichever is not in `used` yet."""
    candidate, i = name, 0
    while candidate in used:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


def tools_graph_export_nodes(model, input_shape):
    """The graph-form node list for `model` on one [C, H, W] image, the output
    node's name, and the weights {name: tensor} the nodes refer to."""
    graph = _Tracer().trace(model)
    modules = dict(model.named_modules())
    names, used, nodes, weights = {}, set(), [], {}
    output = None
    for n in graph.nodes:
        if n.op == "placeholder":
            if nodes:
                raise ValueError(f"{n.name}: the model must take exactly one input")
            names[n] = "input"
            nodes.append({"name": "input", "op": "input", "shape": list(input_shape)})
            continue
        if n.op == "output":
            output = names[n.args[0]]
            continue
        if n.op == "call_module":
            m = modules[n.target]
            node = _module_node(m, n.target)
            params = dict(m.named_parameters(recurse=False))
            params.update((k, v) for k, v in m.named_buffers(recurse=False) if k != "num_batches_tracked")
            if params and n.target in used:
                raise ValueError(f"{n.target}: a module with weights is called twice")
            name = n.target if n.target not in used else n.name
            weights.update((f"{name}.{k}", v) for k, v in params.items())
            inputs = list(n.args[:1])
            if len(n.args) != 1 or n.kwargs:
                raise ValueError(f"{n.target}: called with more than one argument")
        elif n.op == "call_function":
            node, inputs = _function_node(n)
            name = _unique(".".join(filter(None, [n.meta["scope"], node["op"]])), used)
        else:
            raise ValueError(f"{n.name}: {n.op} {n.target} not supported")
        if name in used:
            raise ValueError(f"{name}: node name used twice")
        used.add(name)
        names[n] = name
        nodes.append({"name": name, "op": node.pop("op"), "inputs": [names[i] for i in inputs], **node})
    return nodes, output, weights


def tools_graph_export_save(model, out_dir, input_shape, model_info, metadata):
    """Writes out_dir/model.json (model_info plus the traced graph under
    "architecture") and out_dir/weights.safetensors (the module's weights,
    node by node; they must be all of its state_dict save num_batches_tracked)."""
    nodes, output, weights = tools_graph_export_nodes(model, input_shape)
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    if set(weights) != expected:
        raise ValueError(f"weights not used by any node: {sorted(expected - set(weights))}")
    info = dict(model_info)
    info["architecture"] = {"graph": {"nodes": nodes, "output": output}}
    order = ["name", "architecture", "input", "preprocessing", "labels", "batching"]
    info = {k: info[k] for k in order + sorted(set(info) - set(order)) if k in info}
    os.makedirs(out_dir, exist_ok=True)
    safetensors_io.save({k: v.detach().float().contiguous() for k, v in weights.items()},
                        os.path.join(out_dir, "weights.safetensors"), metadata)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        f.write(_format(info))
    return nodes


def _format(info):
    """model.json with two-space indentation and one graph node per line."""
    marker = "\u0000nodes\u0000"
    graph = info["architecture"]["graph"]
    text = json.dumps({**info, "architecture": {"graph": {**graph, "nodes": marker}}}, indent=2)
    lines = ",\n".join("        " + json.dumps(n) for n in graph["nodes"])
    return text.replace(json.dumps(marker), "[\n" + lines + "\n      ]") + "\n"
