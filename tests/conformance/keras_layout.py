"""Keras model files without TensorFlow: layer configs in Keras 2's JSON
form, an HDF5 writer with h5py in the exact layout of Keras'
`model.save` (hdf5_format.save_model_to_hdf5), and an independent PyTorch
forward pass of such a model for reference outputs.

The reference works like Keras does, not like cnnserve: tensors stay in
Keras' channels_last meaning (torch NCHW only as storage), kernels are
used as HWIO → OIHW, TensorFlow "same" padding is spelled out with F.pad,
Flatten flattens in NHWC order and Dense multiplies by the stored
[in, out] kernel.
"""
import json

import h5py
import numpy as np
import torch
import torch.nn.functional as F


# ---- layer configs (as tf.keras 2.x get_config writes them) ----

def _layer(cls, name, inbound=None, **config):
    config = dict(name=name, trainable=True, dtype="float32", **config)
    layer = {"class_name": cls, "config": config}
    if inbound is not None:
        layer["name"] = name
        layer["inbound_nodes"] = [[[src, 0, 0, {}] for src in inbound]] if inbound else []
    return layer


def input_layer(name, shape, inbound=None):
    return _layer("InputLayer", name, inbound, batch_input_shape=[None, *shape], sparse=False)


def conv2d(name, filters, kernel, strides=(1, 1), padding="valid", activation="linear", use_bias=True,
           dilation=(1, 1), inbound=None, cls="Conv2D", **extra):
    return _layer(cls, name, inbound, filters=filters, kernel_size=list(kernel), strides=list(strides),
                  padding=padding, data_format="channels_last", dilation_rate=list(dilation),
                  activation=activation, use_bias=use_bias, **extra)


def dense(name, units, activation="linear", use_bias=True, inbound=None):
    return _layer("Dense", name, inbound, units=units, activation=activation, use_bias=use_bias)


def pool(cls, name, size, strides=None, padding="valid", inbound=None):
    return _layer(cls, name, inbound, pool_size=list(size), padding=padding,
                  strides=list(strides) if strides else None, data_format="channels_last")


def batch_norm(name, epsilon=1e-3, center=True, scale=True, axis=-1, inbound=None):
    return _layer("BatchNormalization", name, inbound, axis=axis, momentum=0.99, epsilon=epsilon, center=center,
                  scale=scale)


def simple(cls, name, inbound=None, **config):
    """Flatten, Dropout, Activation, ZeroPadding2D, GlobalAveragePooling2D, Concatenate, Add, ..."""
    if cls in ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D"):
        config.setdefault("data_format", "channels_last")
    return _layer(cls, name, inbound, **config)


def sequential(layers, list_form=False):
    """Keras 2.2 wrote Sequential configs as a bare list; later versions as {"name", "layers"}."""
    return {"class_name": "Sequential",
            "config": layers if list_form else {"name": "sequential", "layers": layers}}


def functional(layers, inputs, outputs, cls="Model"):
    return {"class_name": cls, "config": {"name": "model", "layers": layers,
                                          "input_layers": [[n, 0, 0] for n in inputs],
                                          "output_layers": [[n, 0, 0] for n in outputs]}}


def layer_list(model_config):
    cfg = model_config["config"]
    return cfg if isinstance(cfg, list) else cfg["layers"]


# ---- weights ----

def random_weights(model_config, input_shape, seed):
    """Random weights of the right Keras shapes for every layer that has
    weights: {layer name: [(weight name, array)]}, in Keras' order."""
    rng = np.random.default_rng(seed)
    shapes = _shapes(model_config, input_shape)
    weights = {}
    for layer in layer_list(model_config):
        cls, cfg = layer["class_name"], layer["config"]
        name = cfg["name"]
        cin = shapes[name][0][-1]
        ws = []
        if cls in ("Conv2D", "Convolution2D"):
            kh, kw = cfg["kernel_size"]
            fan_in = kh * kw * cin
            ws.append(("kernel", rng.standard_normal((kh, kw, cin, cfg["filters"])) / np.sqrt(fan_in)))
            if cfg["use_bias"]:
                ws.append(("bias", rng.standard_normal(cfg["filters"]) * 0.1))
        elif cls == "Dense":
            ws.append(("kernel", rng.standard_normal((cin, cfg["units"])) / np.sqrt(cin)))
            if cfg["use_bias"]:
                ws.append(("bias", rng.standard_normal(cfg["units"]) * 0.1))
        elif cls == "BatchNormalization":
            if cfg["scale"]:
                ws.append(("gamma", rng.uniform(0.5, 1.5, cin)))
            if cfg["center"]:
                ws.append(("beta", rng.standard_normal(cin) * 0.2))
            ws.append(("moving_mean", rng.standard_normal(cin) * 0.3))
            ws.append(("moving_variance", rng.uniform(0.2, 2.0, cin)))
        if ws:
            weights[name] = [(f"{name}/{w}:0", a.astype(np.float32)) for w, a in ws]
    return weights


def _shapes(model_config, input_shape):
    """Input shapes (without batch) of every layer, by running the reference on zeros."""
    shapes = {}
    forward(model_config, {}, np.zeros((1, *_nchw(input_shape)), np.float32), record=shapes, shapes_only=True)
    return shapes


def _nchw(shape):
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


# ---- the HDF5 file ----

def _str_attr(obj, key, text, fixed):
    if fixed:
        obj.attrs.create(key, np.bytes_(text.encode("utf8")))
    else:
        obj.attrs.create(key, text, dtype=h5py.string_dtype("utf-8"))


def _list_attr(obj, key, items, split=0):
    """Like Keras' save_attributes_to_hdf5_group: a fixed-length bytes array
    (an empty list is an empty float64 array); with split > 0, chunks
    key0, key1, ... of at most `split` items, as Keras does for big lists."""
    data = np.array([s.encode("utf8") for s in items]) if items else np.array([])
    if split and len(items) > split:
        for i in range(0, len(items), split):
            obj.attrs[f"{key}{i // split}"] = data[i:i + split]
    else:
        obj.attrs[key] = data


def save(path, model_config, weights, fixed_strings=False, split_names=0, keras_version="2.2.4-tf",
         backend="tensorflow", skip=()):
    """Writes `path` like model.save. `skip` lists "layer/weight name"
    datasets to leave out (for bad-file tests)."""
    names = [layer["config"]["name"] for layer in layer_list(model_config)]
    with h5py.File(path, "w") as f:
        _str_attr(f, "keras_version", keras_version, fixed_strings)
        _str_attr(f, "backend", backend, fixed_strings)
        if model_config is not None:
            _str_attr(f, "model_config", json.dumps(model_config), fixed_strings)
        g = f.create_group("model_weights")
        _list_attr(g, "layer_names", names, split_names)
        _str_attr(g, "backend", backend, fixed_strings)
        _str_attr(g, "keras_version", keras_version, fixed_strings)
        for name in names:
            lg = g.create_group(name)
            ws = weights.get(name, [])
            _list_attr(lg, "weight_names", [w for w, _ in ws])
            for wname, value in ws:
                if f"{name}/{wname}" not in skip:
                    d = lg.create_dataset(wname, value.shape, dtype=value.dtype)
                    d[...] = value


# ---- the PyTorch reference ----

def _same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_same(x, k, s, d, value=0.0):
    top, bottom = _same_pads(x.shape[2], k[0], s[0], d[0])
    left, right = _same_pads(x.shape[3], k[1], s[1], d[1])
    return F.pad(x, (left, right, top, bottom), value=value), (top, bottom, left, right)


def _activation(x, name):
    fns = {"linear": lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
           "softmax": lambda t: F.softmax(t, dim=1), "elu": F.elu}
    return fns[name](x)


def _inputs(layer, outputs, order, i):
    if "inbound_nodes" in layer:
        return [outputs[ref[0]] for ref in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
    return [outputs[order[i - 1]]] if i > 0 else []


def forward(model_config, weights, x, record=None, shapes_only=False, theano=False):
    """Runs the model on x (N×C×H×W, or N×F for vector inputs) and returns
    the output (N×classes) as numpy. theano: the file was saved by Keras'
    Theano backend, whose stored kernels Keras flips spatially on loading
    (conv_utils.convert_kernel)."""
    layers = layer_list(model_config)
    is_functional = model_config["class_name"] != "Sequential"
    outputs, order = {}, []
    t = torch.from_numpy(x)
    for i, layer in enumerate(layers):
        cls, cfg = layer["class_name"], layer["config"]
        name = cfg["name"]
        order.append(name)
        ins = _inputs(layer, outputs, order, i) if is_functional else ([outputs[order[i - 1]]] if i else [t])
        if record is not None:
            record[name] = [tuple(v.shape[1:]) if v.dim() == 2 else
                            (v.shape[2], v.shape[3], v.shape[1]) for v in ins] or [(0,)]
        w = [torch.from_numpy(a) for _, a in weights.get(name, [])]
        y = ins[0] if ins else t
        if cls == "InputLayer":
            y = t
        elif cls in ("Conv2D", "Convolution2D"):
            k, s, d = cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]
            if cfg["padding"] == "same":
                y, _ = _pad_same(y, k, s, d)
            if shapes_only:
                w = [torch.zeros(k[0], k[1], y.shape[1], cfg["filters"])] + [torch.zeros(cfg["filters"])]
            if theano:
                w = [torch.flip(w[0], dims=(0, 1))] + w[1:]
            y = F.conv2d(y, w[0].permute(3, 2, 0, 1), w[1] if cfg["use_bias"] else None, stride=s, dilation=d)
            y = _activation(y, cfg["activation"])
        elif cls == "Dense":
            if shapes_only:
                w = [torch.zeros(y.shape[1], cfg["units"]), torch.zeros(cfg["units"])]
            y = y @ w[0] + (w[1] if cfg["use_bias"] else 0)
            y = _activation(y, cfg["activation"])
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            k = cfg["pool_size"]
            s = cfg["strides"] or k
            is_max = cls == "MaxPooling2D"
            if cfg["padding"] == "same":
                # TensorFlow: max ignores the padding, average divides by the real pixels only.
                padded, _ = _pad_same(y, k, s, (1, 1), value=-float("inf") if is_max else 0.0)
                if is_max:
                    y = F.max_pool2d(padded, k, s)
                else:
                    ones, _ = _pad_same(torch.ones_like(y[:, :1]), k, s, (1, 1))
                    y = F.avg_pool2d(padded, k, s) / F.avg_pool2d(ones, k, s)
            else:
                y = F.max_pool2d(y, k, s) if is_max else F.avg_pool2d(y, k, s)
        elif cls == "GlobalAveragePooling2D":
            y = y.mean(dim=(2, 3))
        elif cls == "GlobalMaxPooling2D":
            y = y.amax(dim=(2, 3))
        elif cls == "ZeroPadding2D":
            (top, bottom), (left, right) = cfg["padding"]
            y = F.pad(y, (left, right, top, bottom))
        elif cls == "BatchNormalization":
            c = y.shape[1]
            it = iter(w) if not shapes_only else iter([torch.ones(c)] * 4)
            gamma = next(it) if cfg["scale"] else torch.ones(c)
            beta = next(it) if cfg["center"] else torch.zeros(c)
            mean, var = next(it), next(it)
            shape = (1, c, 1, 1) if y.dim() == 4 else (1, c)
            y = (y - mean.view(shape)) / torch.sqrt(var.view(shape) + cfg["epsilon"]) * gamma.view(shape) + \
                beta.view(shape)
        elif cls == "Flatten":
            y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1) if y.dim() == 4 else y
        elif cls == "Activation":
            y = _activation(y, cfg["activation"])
        elif cls == "ReLU":
            y = F.leaky_relu(y, cfg["negative_slope"]) if cfg["max_value"] is None else \
                torch.clamp(y, 0.0, cfg["max_value"])
        elif cls == "LeakyReLU":
            y = F.leaky_relu(y, cfg["alpha"])
        elif cls == "ELU":
            y = F.elu(y, cfg["alpha"])
        elif cls == "Softmax":
            y = F.softmax(y, dim=1)
        elif cls == "Dropout":
            pass
        elif cls == "Concatenate":
            y = torch.cat(ins, dim=1)
        elif cls == "Add":
            y = sum(ins[1:], ins[0])
        else:
            raise ValueError(f"reference has no {cls}")
        outputs[name] = y
    out_name = (model_config["config"]["output_layers"][-1][0] if is_functional else order[-1])
    return outputs[out_name].numpy()
