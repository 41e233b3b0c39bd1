"""Minimal safetensors writer/reader (https://github.com/huggingface/safetensors).

Layout: 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor data, contiguous and in header order. The
header is padded with spaces so the data section starts 8-byte aligned.
Debian has no python3-safetensors, hence this file.
"""
import json
import struct

import numpy as np

_DTYPES = {
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("float64"): "F64",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("uint8"): "U8",
    np.dtype("int8"): "I8",
    np.dtype("bool"): "BOOL",
}
_NUMPY = {v: k for k, v in _DTYPES.items()}


def _as_numpy(t):
    """A torch tensor or numpy array as a C-contiguous little-endian numpy array."""
    if hasattr(t, "detach"):
        t = t.detach().cpu().contiguous().numpy()
    a = np.ascontiguousarray(t)
    return a.astype(a.dtype.newbyteorder("<"), copy=False)


def save(tensors, path, metadata=None):
    """Writes {name: tensor} (torch or numpy, in dict order) to `path`."""
    arrays = [(name, _as_numpy(t)) for name, t in tensors.items()]
    header = {}
    offset = 0
    for name, a in arrays:
        if a.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {a.dtype} not supported")
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, a in arrays:
            f.write(a.tobytes())


def load(path):
    """Reads a safetensors file into ({name: numpy array}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dtype = _NUMPY[info["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[base + b:base + e], dtype=dtype).reshape(info["shape"])
    return out, metadata
