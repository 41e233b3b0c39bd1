#!/usr/bin/python3
"""`cnnserve convert --onnx` on bad files: each must end with exit status 1
and a message that says what is wrong (and, under the ASan build, without
any sanitizer report). Files are built with onnx.helper.

  test_onnx_bad_files.py PATH/TO/cnnserve
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CNNSERVE = None


def convert(path, out):
    p = subprocess.run([CNNSERVE, "convert", "--onnx", path, "--out", out, "--force"], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def small_model(w_shape=(4, 3, 3, 3), b_shape=(5, 64), extra_nodes=(), w_name="W", inits=None):
    """x [N,3,6,6] → Conv(W) → Relu → Flatten → Gemm(B) → y [N,5]."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", w_name], ["c"], name="conv1", kernel_shape=[3, 3], pads=[0, 0, 0, 0]),
             helper.make_node("Relu", ["c"], ["r"], name="relu1"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "B"], ["y"], name="fc", transB=1)] + list(extra_nodes)
    if inits is None:
        inits = [numpy_helper.from_array(rng.standard_normal(w_shape).astype(np.float32), "W"),
                 numpy_helper.from_array(rng.standard_normal(b_shape).astype(np.float32), "B")]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def external(name, shape, location, offset=0, length=None):
    """An initializer whose data lives in file `location`."""
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(shape)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location), ("offset", str(offset))]
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


class OnnxBadFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cnnserve-onnx-bad-")
        self.dir = self.tmp.name
        self.out = os.path.join(self.dir, "out")
        rng = np.random.default_rng(1)
        self.w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        self.b = rng.standard_normal((5, 64)).astype(np.float32)

    def tearDown(self):
        self.tmp.cleanup()

    def save(self, model_or_bytes, name="model.onnx", subdir=None):
        d = os.path.join(self.dir, subdir) if subdir else self.dir
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(model_or_bytes if isinstance(model_or_bytes, bytes) else model_or_bytes.SerializeToString())
        return path

    def assert_refused(self, path, *fragments):
        rc, out, err = convert(path, self.out)
        self.assertEqual(rc, 1, f"exit status {rc}; stderr: {err}")
        self.assertNotIn("Sanitizer", err)
        self.assertTrue(err.startswith(f"cnnserve convert: {path}: "), err)
        for frag in fragments:
            self.assertIn(frag, err)
        self.assertFalse(os.path.exists(os.path.join(self.out, "model.json")), "a model was written")
        return err

    def external_model(self, location, offset=0, length=None, data_file=None, data=None):
        """small_model with W as external data; writes `data` (default: W's bytes) to data_file."""
        if data_file:
            os.makedirs(os.path.dirname(os.path.join(self.dir, data_file)), exist_ok=True)
            with open(os.path.join(self.dir, data_file), "wb") as f:
                f.write(self.w.tobytes() if data is None else data)
        inits = [external("W", self.w.shape, location, offset, length), numpy_helper.from_array(self.b, "B")]
        return self.save(small_model(inits=inits))

    # --- positive controls: the same files, well formed, convert ----------------------------

    def test_valid_model_converts(self):
        rc, out, err = convert(self.save(small_model()), self.out)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(os.path.join(self.out, "model.json")))

    def test_external_data_in_subfolder_converts(self):
        path = self.external_model("data/w.bin", offset=16, length=self.w.nbytes, data_file="data/w.bin",
                                   data=b"\0" * 16 + self.w.tobytes())
        rc, out, err = convert(path, self.out)
        self.assertEqual(rc, 0, err)

    # --- malformed files -------------------------------------------------------------------

    def test_truncated(self):
        data = small_model().SerializeToString()
        self.assert_refused(self.save(data[: len(data) - 7]), "malformed or truncated")

    def test_random_bytes(self):
        data = np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes()
        self.assert_refused(self.save(data), "not an ONNX model")

    def test_empty_file(self):
        self.assert_refused(self.save(b""), "no graph")

    def test_deeply_nested_messages(self):
        # graph → node → attribute → graph ... 200000 deep: protobuf-c alone would overflow the stack.
        # Each message holds only its child, so the file is the headers, outermost first.
        headers, size = [], 0
        for field in [6, 5, 1] * 200000 + [7]:  # AttributeProto.g, NodeProto.attribute, GraphProto.node; ModelProto.graph
            h = bytes([(field << 3) | 2]) + _varint(size)
            headers.append(h)
            size += len(h)
        self.assert_refused(self.save(b"".join(reversed(headers))), "nested")

    # --- graph problems --------------------------------------------------------------------

    def test_unsupported_operators_listed_together(self):
        extra = [helper.make_node("Mul", ["x", "x"], ["m"]), helper.make_node("Sub", ["m", "x"], ["s"]),
                 helper.make_node("Sub", ["s", "x"], ["s2"]), helper.make_node("Foo", ["x"], ["z"], domain="com.example")]
        err = self.assert_refused(self.save(small_model(extra_nodes=extra)), "unsupported ONNX operators:")
        self.assertIn("Mul (1 node), Sub (2 nodes), com.example.Foo (1 node)", err)

    def test_missing_initializer(self):
        err = self.assert_refused(self.save(small_model(w_name="conv1.weight")), "node 'conv1' (Conv)",
                                  "input 'conv1.weight' is not a graph input, an initializer")

    def test_wrong_weight_shape(self):
        self.assert_refused(self.save(small_model(w_shape=(4, 2, 3, 3))), "node 'conv1' (Conv)", "weight 'W'",
                            "does not fit an input of 3 channels")

    def test_wrong_dense_shape(self):
        self.assert_refused(self.save(small_model(b_shape=(5, 63))), "node 'fc' (Gemm)", "B 'B'")

    def test_raw_data_size_mismatch(self):
        w = numpy_helper.from_array(self.w, "W")
        w.raw_data = w.raw_data[:-4]
        self.assert_refused(self.save(small_model(inits=[w, numpy_helper.from_array(self.b, "B")])),
                            "tensor 'W'", "raw_data has")

    # --- external data ---------------------------------------------------------------------

    def test_external_dotdot(self):
        os.makedirs(os.path.join(self.dir, "m"))
        with open(os.path.join(self.dir, "w.bin"), "wb") as f:
            f.write(self.w.tobytes())
        inits = [external("W", self.w.shape, "../w.bin"), numpy_helper.from_array(self.b, "B")]
        path = self.save(small_model(inits=inits), subdir="m")
        self.assert_refused(path, "tensor 'W'", "leaves the model's directory")

    def test_external_dotdot_inside_path(self):
        path = self.external_model("data/../w.bin", data_file="w.bin")
        self.assert_refused(path, "leaves the model's directory")

    def test_external_absolute_path(self):
        data = os.path.join(self.dir, "w.bin")
        path = self.external_model(data, data_file="w.bin")
        self.assert_refused(path, "absolute path")

    def test_external_symlink_file(self):
        path = self.external_model("link.bin", data_file="real.bin")
        os.symlink("real.bin", os.path.join(self.dir, "link.bin"))
        self.assert_refused(path, "'link.bin' is a symbolic link")

    def test_external_symlink_directory(self):
        outside = tempfile.mkdtemp(prefix="cnnserve-outside-")
        try:
            with open(os.path.join(outside, "w.bin"), "wb") as f:
                f.write(self.w.tobytes())
            os.symlink(outside, os.path.join(self.dir, "sub"))
            path = self.external_model("sub/w.bin")
            self.assert_refused(path, "'sub' is a symbolic link")
        finally:
            os.remove(os.path.join(outside, "w.bin"))
            os.rmdir(outside)

    def test_external_file_too_short(self):
        path = self.external_model("w.bin", data_file="w.bin", data=self.w.tobytes()[:-1])
        self.assert_refused(path, "too short")

    def test_external_offset_past_end(self):
        path = self.external_model("w.bin", offset=1 << 40, data_file="w.bin")
        self.assert_refused(path, "too short")

    def test_external_length_mismatch(self):
        path = self.external_model("w.bin", length=12, data_file="w.bin")
        self.assert_refused(path, "has length 12")

    def test_external_missing_file(self):
        self.assert_refused(self.external_model("nowhere.bin"), "cannot open external data 'nowhere.bin'")


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


if __name__ == "__main__":
    CNNSERVE = sys.argv.pop(1)
    unittest.main(verbosity=2)
