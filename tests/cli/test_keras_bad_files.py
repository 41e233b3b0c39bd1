#!/usr/bin/python3
"""`cnnserve convert --keras` on bad files: each gives exit status 1 and one
clear message naming what is wrong, never a crash (also run on the
ASan+UBSan build), and leaves no model directory behind.

  test_keras_bad_files.py PATH/TO/cnnserve
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
import keras_layout as kl  # noqa: E402

CNNSERVE = None


def good_model():
    layers = [
        kl.input_layer("input_1", (8, 8, 1)),
        kl.conv2d("conv2d", 4, (3, 3), activation="relu"),
        kl.simple("Flatten", "flatten"),
        kl.dense("dense", 3, activation="softmax"),
    ]
    config = kl.sequential(layers)
    return config, kl.random_weights(config, (8, 8, 1), seed=3)


class KerasBadFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-keras-bad-")
        cls.config, cls.weights = good_model()
        cls.good = cls.path("good.h5")
        kl.save(cls.good, cls.config, cls.weights)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.tmp, name)

    def convert(self, h5):
        out = self.path("out-" + os.path.basename(h5))
        p = subprocess.run([CNNSERVE, "convert", "--keras", h5, "--out", out], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, OMP_NUM_THREADS="2"))
        return p.returncode, p.stderr, out

    def assert_fails(self, h5, *needles):
        rc, err, out = self.convert(h5)
        self.assertEqual(rc, 1, f"exit {rc}; stderr: {err}")
        self.assertTrue(err.startswith(f"cnnserve convert: {h5}: "), err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        for needle in needles:
            self.assertIn(needle, err)
        self.assertFalse(os.path.exists(os.path.join(out, "model.json")))
        return err

    def write(self, name, config=None, weights=None, **opts):
        h5 = self.path(name)
        kl.save(h5, self.config if config is None else config, self.weights if weights is None else weights, **opts)
        return h5

    def test_good_file_converts(self):
        rc, err, out = self.convert(self.good)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(out, "model.json")))

    def test_missing_file(self):
        self.assert_fails(self.path("nope.h5"), "cannot open")

    def test_empty_file(self):
        h5 = self.path("empty.h5")
        open(h5, "wb").close()
        self.assert_fails(h5, "empty file")

    def test_random_bytes(self):
        h5 = self.path("random.h5")
        with open(h5, "wb") as f:
            f.write(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        self.assert_fails(h5, "not an HDF5 file")

    def test_signature_then_random_bytes(self):
        h5 = self.path("signature.h5")
        with open(h5, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        self.assert_fails(h5, "not a readable HDF5 file", "HDF5:")

    def test_truncated(self):
        with open(self.good, "rb") as f:
            data = f.read()
        for keep in (len(data) // 2, 3000, 600, 100):
            h5 = self.path(f"truncated{keep}.h5")
            with open(h5, "wb") as f:
                f.write(data[:keep])
            with self.subTest(keep=keep):
                self.assert_fails(h5, "HDF5")

    def patched_global_heap(self, name, patch):
        """The good file (its model_config is a variable-length string, kept
        in a global heap collection) with patch(data, objects) applied;
        objects: (offset, index, size) of the collection's objects."""
        with open(self.good, "rb") as f:
            data = bytearray(f.read())
        at = data.find(b"GCOL\x01\x00\x00\x00")
        self.assertGreaterEqual(at, 0, "h5py wrote no global heap")
        end = at + int.from_bytes(data[at + 8:at + 16], "little")
        p, objects = at + 16, []
        while p + 16 <= end:
            idx, size = int.from_bytes(data[p:p + 2], "little"), int.from_bytes(data[p + 8:p + 16], "little")
            objects.append((p, idx, size))
            p += size if idx == 0 else 16 + (size + 7) // 8 * 8
        patch(data, objects)
        h5 = self.path(name)
        with open(h5, "wb") as f:
            f.write(data)
        return h5

    def test_global_heap_free_space_of_size_zero(self):
        # libhdf5 1.10.8 loops forever in H5HG__cache_heap_deserialize on this.
        def patch(data, objects):
            offset = [o for o in objects if o[1] == 0][0][0]
            data[offset + 8:offset + 16] = (0).to_bytes(8, "little")
        self.assert_fails(self.patched_global_heap("heap_loop.h5", patch), "malformed HDF5 global heap")

    def test_global_heap_object_too_large(self):
        # libhdf5 1.10.8's H5HG_read copies this many bytes out of the collection.
        def patch(data, objects):
            offset = [o for o in objects if o[1] != 0][0][0]
            data[offset + 8:offset + 16] = (0x6F43000000000000).to_bytes(8, "little")
        self.assert_fails(self.patched_global_heap("heap_overrun.h5", patch), "malformed HDF5 global heap")

    def test_libhdf5_crash_is_an_error(self):
        # libhdf5 itself crashes on this file (tests/data/keras/bad/README.md); it runs in a child
        # process, so convert reports it. Under ASan the child's report precedes the message.
        h5 = os.path.join(ROOT, "tests", "data", "keras", "bad", "libhdf5_segv.h5")
        rc, err, out = self.convert(h5)
        self.assertEqual(rc, 1, err)
        last = err.strip().splitlines()[-1]
        self.assertTrue(last.startswith(f"cnnserve convert: {h5}: "), err)
        self.assertRegex(last, "libhdf5 crashed|HDF5 reader process failed")
        self.assertFalse(os.path.exists(os.path.join(out, "model.json")))

    def test_weights_only_file(self):
        h5 = self.write("weights_only.h5")
        with h5py.File(h5, "a") as f:
            del f.attrs["model_config"]
        self.assert_fails(h5, "no model_config", "save_weights")

    def test_model_config_not_json(self):
        h5 = self.write("notjson.h5")
        with h5py.File(h5, "a") as f:
            f.attrs["model_config"] = "{not json"
        self.assert_fails(h5, "model_config is not valid JSON")

    def test_unknown_layers_listed(self):
        config = copy.deepcopy(self.config)
        layers = kl.layer_list(config)
        layers.insert(2, kl.simple("Lambda", "lambda_1", function="x"))
        layers.insert(3, kl.simple("LSTM", "lstm", units=4))
        layers.insert(4, kl.simple("Lambda", "lambda_2", function="x"))
        err = self.assert_fails(self.write("unknown.h5", config), "unsupported Keras layers")
        self.assertIn("Lambda (lambda_1, lambda_2)", err)
        self.assertIn("LSTM (lstm)", err)

    def test_unsupported_activation(self):
        config = copy.deepcopy(self.config)
        kl.layer_list(config)[1]["config"]["activation"] = "selu"
        self.assert_fails(self.write("selu.h5", config), "layer 'conv2d'", "activation 'selu'")

    def test_channels_first(self):
        config = copy.deepcopy(self.config)
        kl.layer_list(config)[1]["config"]["data_format"] = "channels_first"
        self.assert_fails(self.write("channels_first.h5", config), "layer 'conv2d'", "channels_first")

    def test_missing_weight_dataset(self):
        h5 = self.write("missing_weight.h5", skip=("conv2d/conv2d/kernel:0",))
        self.assert_fails(h5, "layer 'conv2d'", "conv2d/kernel:0")

    def test_missing_weight_group(self):
        h5 = self.write("missing_group.h5")
        with h5py.File(h5, "a") as f:
            del f["model_weights/dense"]
        self.assert_fails(h5, "layer 'dense'", "no weights")

    def test_wrong_kernel_shape(self):
        weights = copy.deepcopy(self.weights)
        weights["conv2d"][0] = ("conv2d/kernel:0", np.zeros((3, 3, 1, 5), np.float32))
        self.assert_fails(self.write("wrong_shape.h5", weights=weights), "layer 'conv2d'", "[3, 3, 1, 5]",
                          "expected [3, 3, 1, 4]")

    def test_wrong_weight_count(self):
        weights = copy.deepcopy(self.weights)
        weights["dense"] = weights["dense"][:1]
        self.assert_fails(self.write("weight_count.h5", weights=weights), "layer 'dense'", "expected 2")

    def test_weight_not_numeric(self):
        h5 = self.write("string_weight.h5")
        with h5py.File(h5, "a") as f:
            del f["model_weights/dense/dense/bias:0"]
            f["model_weights/dense/dense"].create_dataset("bias:0", data=np.array([b"abc"] * 3))
        self.assert_fails(h5, "layer 'dense'", "not numeric")

    def test_external_link_refused(self):
        h5 = self.write("external.h5")
        with h5py.File(h5, "a") as f:
            del f["model_weights/dense/dense/bias:0"]
            f["model_weights/dense/dense/bias:0"] = h5py.ExternalLink(self.good, "model_weights/dense/dense/bias:0")
        self.assert_fails(h5, "layer 'dense'", "link to another file")

    def test_shared_layer(self):
        layers = [
            kl.input_layer("in", (4, 4, 1), inbound=[]),
            kl.simple("Flatten", "flat", inbound=["in"]),
            kl.dense("d", 16, inbound=["flat"]),
        ]
        layers[2]["inbound_nodes"].append([["d", 0, 0, {}]])
        config = kl.functional(layers, ["in"], ["d"])
        weights = {"d": [("d/kernel:0", np.zeros((16, 16), np.float32)), ("d/bias:0", np.zeros(16, np.float32))]}
        self.assert_fails(self.write("shared.h5", config, weights), "layer 'd' is called 2 times")

    def test_keras1_file(self):
        self.assert_fails(self.write("keras1.h5", keras_version="1.2.2"), "Keras 1.2.2")

    def test_not_a_model_class(self):
        config = {"class_name": "Lambda", "config": {}}
        h5 = self.write("not_model.h5")
        with h5py.File(h5, "a") as f:
            f.attrs["model_config"] = json.dumps(config)
        self.assert_fails(h5, "unsupported model class 'Lambda'")


if __name__ == "__main__":
    CNNSERVE = sys.argv.pop(1)
    unittest.main(verbosity=1)
