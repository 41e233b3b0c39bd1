#!/usr/bin/python3
"""End-to-end tests of the cnnserve program: convert a LeNet-5 with random
weights, then classify (images and .npy, text and JSON, logits checked
against PyTorch), inspect, bench, and the exit codes of failures.

  test_cli.py PATH/TO/cnnserve
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "weights-tools"))
import export_torchvision  # noqa: E402
import torch_zoo  # noqa: E402

CNNSERVE = None
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
          "Ankle boot"]


def run(*args, env=None):
    p = subprocess.run([CNNSERVE, *args], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OMP_NUM_THREADS="2", **(env or {})))
    return p.returncode, p.stdout, p.stderr


AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2"}  # oneDNN as on a CPU without AVX-512


def cpu_info(env=None):
    """`cnnserve version --json`'s "cpu" object."""
    rc, out, err = run("version", "--json", env=env)
    assert rc == 0, err
    return json.loads(out)["cpu"]


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-cli-")
        cls.weights = os.path.join(cls.tmp, "w.safetensors")
        cls.torch_model = export_torchvision.export("lenet5", cls.weights, seed=7)
        cls.labels = os.path.join(cls.tmp, "labels.txt")
        with open(cls.labels, "w") as f:
            f.write("\n".join(LABELS) + "\n")
        cls.model = os.path.join(cls.tmp, "lenet5-test")
        rc, out, err = run("convert", "--arch", "lenet5", "--weights", cls.weights, "--labels", cls.labels,
                           "--out", cls.model)
        assert rc == 0, err
        rng = np.random.default_rng(0)
        cls.pixels = [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(3)]
        cls.images = []
        for i, px in enumerate(cls.pixels):
            path = os.path.join(cls.tmp, f"img{i}.png")
            Image.fromarray(px).save(path)
            cls.images.append(path)
        cls.npy = os.path.join(cls.tmp, "batch.npy")
        cls.array = rng.standard_normal((5, 1, 28, 28)).astype(np.float32)
        np.save(cls.npy, cls.array)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def reference(self, x):
        with torch.no_grad():
            return self.torch_model(torch.from_numpy(x)).numpy()

    def test_convert_wrote_directory(self):
        with open(os.path.join(self.model, "model.json")) as f:
            cfg = json.load(f)
        self.assertEqual(cfg["architecture"]["zoo"], "lenet5")
        self.assertEqual(cfg["labels"], LABELS)
        self.assertEqual(cfg["name"], "lenet5-test")
        self.assertTrue(os.path.isfile(os.path.join(self.model, "weights.safetensors")))

    def test_torchvision_checkpoint_with_imagenet_labels(self):
        """A torch.save'd state_dict (as downloaded from torchvision) → model with ImageNet names."""
        torch.manual_seed(3)
        net = torch_zoo.build("resnet18", 1000, 16).eval()
        pth = os.path.join(self.tmp, "resnet18.pth")
        torch.save(net.state_dict(), pth)
        st, labels, out_dir = (os.path.join(self.tmp, n) for n in ("r18.safetensors", "imagenet.txt", "r18_pretrained"))
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "weights-tools", "export_torchvision.py"), "--arch", "resnet18",
                            "--width-divisor", "16", "--checkpoint", pth, "--out", st, "--labels-out", labels],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, out, err = run("convert", "--arch", "resnet18", "--width-divisor", "16", "--weights", st,
                           "--labels", labels, "--resize-shorter", "232", "--out", out_dir)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out_dir, "model.json")) as f:
            cfg = json.load(f)
        self.assertEqual(len(cfg["labels"]), 1000)
        self.assertEqual(cfg["labels"][0], "tench")
        self.assertEqual(cfg["labels"][999], "toilet tissue")
        self.assertEqual(cfg["preprocessing"]["resize_shorter"], 232)
        x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
        npy = os.path.join(self.tmp, "r18.npy")
        np.save(npy, x)
        rc, out, err = run("classify", out_dir, npy, "--json", "--top-k", "1")
        self.assertEqual(rc, 0, err)
        with torch.no_grad():
            want = int(net(torch.from_numpy(x)).argmax())
        self.assertEqual(json.loads(out)["results"][0]["top_k"][0]["label"], cfg["labels"][want])

    def test_convert_refusals(self):
        rc, _, err = run("convert", "--arch", "lenet5", "--weights", self.weights, "--out", self.model)
        self.assertEqual(rc, 1)
        self.assertIn("--force", err)
        out = os.path.join(self.tmp, "forced")
        shutil.copytree(self.model, out)
        rc, _, err = run("convert", "--arch", "lenet5", "--weights", self.weights, "--out", out, "--force")
        self.assertEqual(rc, 0, err)
        rc, _, err = run("convert", "--arch", "resnet18", "--weights", self.weights,
                         "--out", os.path.join(self.tmp, "r18"))
        self.assertEqual(rc, 1)
        self.assertIn("does not fit resnet18", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "r18", "model.json")))
        rc, _, err = run("convert", "--arch", "nosuch", "--weights", self.weights, "--out", self.tmp)
        self.assertEqual(rc, 2)
        rc, _, err = run("convert", "--arch", "lenet5", "--weights", self.weights, "--num-classes", "7",
                         "--labels", self.labels, "--out", os.path.join(self.tmp, "seven"))
        self.assertEqual(rc, 1)
        self.assertIn("labels", err)
        for flag, value in (("--mean", "1,2"), ("--std", "0"), ("--color", "cmyk"), ("--scale", "-1"),
                            ("--resize-shorter", "x")):
            rc, _, err = run("convert", "--arch", "lenet5", "--weights", self.weights, flag, value,
                             "--out", os.path.join(self.tmp, "pre"))
            self.assertEqual(rc, 2, flag)
            self.assertIn(flag, err)
        rc, _, err = run("convert", "--arch", "lenet5", "--weights", self.weights, "--color", "rgb",
                         "--out", os.path.join(self.tmp, "pre"))
        self.assertEqual(rc, 1)
        self.assertIn("needs 3 input channels", err)

    def test_classify_text(self):
        rc, out, err = run("classify", self.model, *self.images, "--top-k", "3")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count("img"), 3)
        self.assertEqual(out.count("(class "), 9)

    def test_classify_json_logits_match_torch(self):
        rc, out, err = run("classify", self.model, self.images[0], self.npy, "--json", "--logits", "--batch", "4")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["model"], "lenet5-test")
        results = doc["results"]
        self.assertEqual([(r["input"], r["index"]) for r in results],
                         [(self.images[0], 0)] + [(self.npy, i) for i in range(5)])
        image = (self.pixels[0].astype(np.float32) / 255.0)[None, None]
        want = np.concatenate([self.reference(image), self.reference(self.array)])
        got = np.array([r["logits"] for r in results], dtype=np.float32)
        np.testing.assert_allclose(got, want, atol=1e-5)
        for r, row in zip(results, want):
            self.assertEqual(len(r["top_k"]), 5)
            self.assertEqual(r["top_k"][0]["class"], int(np.argmax(row)))
            self.assertEqual(r["top_k"][0]["label"], LABELS[int(np.argmax(row))])

    def test_classify_failures(self):
        bad = os.path.join(self.tmp, "bad.npy")
        np.save(bad, np.zeros((1, 3, 28, 28), np.float32))
        f64 = os.path.join(self.tmp, "f64.npy")
        np.save(f64, np.zeros((1, 28, 28)))
        text = os.path.join(self.tmp, "notes.txt")
        with open(text, "w") as f:
            f.write("not an image\n")
        for path, needle in [(bad, "model takes 1×28×28"), (f64, "<f8"), (text, "unrecognized image format"),
                             (os.path.join(self.tmp, "missing.png"), "No such file")]:
            rc, out, err = run("classify", self.model, path, "--json")
            self.assertEqual(rc, 1, path)
            self.assertIn(needle, err)
            self.assertEqual(out, "")
        self.assertEqual(run("classify", os.path.join(self.tmp, "nomodel"), self.images[0])[0], 1)
        self.assertEqual(run("classify", self.model)[0], 2)
        self.assertEqual(run("classify", self.model, self.images[0], "--bogus")[0], 2)
        self.assertEqual(run("classify", self.model, self.images[0], "--top-k", "0")[0], 2)
        self.assertEqual(run("classify", self.model, self.images[0], "--precision", "fp8")[0], 2)

    def test_inspect(self):
        rc, out, err = run("inspect", self.model, "--batch", "4")
        self.assertEqual(rc, 0, err)
        params = sum(p.numel() for p in self.torch_model.parameters())
        self.assertIn(f"Total params: {params:,}", out)
        self.assertIn("Peak activation memory, batch 4", out)
        self.assertIn("features.0", out)

    def conv_kernels(self, *flags, env=None):
        """(the ISA inspect names, the kernel column of every conv2d row)."""
        rc, out, err = run("inspect", self.model, *flags, env=env)
        self.assertEqual(rc, 0, err)
        isa = re.search(r"^CPU: oneDNN [\d.]+, ISA (\w+), precisions ", out, re.M).group(1)
        rows = [line for line in out.splitlines() if " conv2d " in line]
        self.assertEqual(len(rows), 3, out)  # LeNet-5's three convolutions
        return isa, [re.search(r"(\S+ (?:f32|bf16))$", r).group(1) for r in rows]

    def test_inspect_shows_isa_and_kernels(self):
        """The ISA oneDNN dispatches to and each convolution's implementation,
        per precision and ISA (ONEDNN_MAX_CPU_ISA=AVX2 as on an AVX2-only CPU)."""
        cpu = cpu_info()
        isa, kernels = self.conv_kernels()
        self.assertEqual(isa, cpu["isa"])
        self.assertTrue(all(k.endswith(" f32") for k in kernels), kernels)
        if "bf16" in cpu["precisions"]:
            _, kernels = self.conv_kernels("--precision", "bf16", "--batch", "8")
            self.assertTrue(all(k.endswith(" bf16") and ("avx512_core_bf16" in k or "amx" in k) for k in kernels),
                            kernels)
        isa, kernels = self.conv_kernels(env=AVX2_ONLY)
        self.assertEqual(isa, "avx2")
        self.assertTrue(all("avx2" in k and k.endswith(" f32") for k in kernels), kernels)
        rc, out, err = run("inspect", self.model, "--precision", "bf16", env=AVX2_ONLY)
        self.assertEqual(rc, 0, err)
        self.assertIn("no AVX512_BF16/AMX", err)
        self.assertTrue(all(line.endswith("n/a") for line in out.splitlines() if " conv2d " in line), out)
        self.assertEqual(run("inspect", self.model, "--precision", "fp16")[0], 2)

    def test_version(self):
        rc, out, err = run("version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^cnnserve \d+\.\d+\.\d+\ncpu: oneDNN [\d.]+, ISA \w+, precisions fp32")
        cpu = cpu_info(AVX2_ONLY)
        self.assertEqual((cpu["isa"], cpu["precisions"]), ("avx2", ["fp32"]))
        self.assertIn("no AVX512_BF16/AMX", cpu["bf16_unavailable"])

    def test_bench_json(self):
        rc, out, err = run("bench", self.model, "--batch", "1,2", "--precision", "fp32", "--iters", "3",
                           "--warmup", "1", "--threads", "1", "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual([(r["precision"], r["batch"]) for r in doc["results"]], [("fp32", 1), ("fp32", 2)])
        self.assertEqual(doc["cpu_isa"], cpu_info()["isa"])
        for r in doc["results"]:
            self.assertLessEqual(r["p10_ms"], r["median_ms"])
            self.assertLessEqual(r["median_ms"], r["p90_ms"])
            self.assertGreater(r["images_per_s"], 0)
            self.assertEqual(sum(r["conv_kernels"].values()), 3, r)  # LeNet-5's three convolutions
            self.assertTrue(all(k.endswith(" f32") for k in r["conv_kernels"]), r)
        rc, out, err = run("bench", self.model, "--batch", "2", "--iters", "2", "--warmup", "1", "--warmup-ms", "0")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"CPU: oneDNN [\d.]+, ISA \w+")
        self.assertIn("Convolution kernels", out)
        self.assertEqual(run("bench", self.model, "--batch", "1,x")[0], 2)

    def test_help_and_usage(self):
        rc, out, _ = run("help")
        self.assertEqual(rc, 0)
        for cmd in ("classify", "inspect", "bench", "convert", "serve", "healthcheck", "version"):
            self.assertIn(cmd, out)
            rc, out2, _ = run(cmd, "--help")
            self.assertEqual(rc, 0)
            self.assertIn(f"cnnserve {cmd}", out2)
        self.assertEqual(run("serve", "--port", "x")[0], 2)
        self.assertEqual(run("serve", "extra")[0], 2)
        self.assertEqual(run("frobnicate")[0], 2)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli.py PATH/TO/cnnserve")
    CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
