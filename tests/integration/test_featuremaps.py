"""`cnnserve serve`'s feature-map API end to end: the real server on a
loopback port, http.client, and PyTorch as the reference.

- GET /v1/models/{m}/layers lists the layers with the shapes PyTorch's
  modules produce.
- POST /v1/models/{m}/featuremaps: a conv, a pooling and a concat/add layer
  (and the fused cases) of LeNet-5, the ResNet and the Inception model equal
  the forward-hook activations of the corresponding PyTorch module on the
  same pixels and weights (max |diff| <= 1e-4 × max |ref| per layer), as
  JSON numbers and as base64; the predictions are the run's; channel
  selections and per-channel stats; the hypercolumn equals F.interpolate
  (bilinear, align_corners=False) averaged over channels; the PNG grid's
  layout and tiles.
- Feature-map requests batched together with plain /classify requests
  (several images each, concurrent clients) answer each image exactly as a
  lone request does.
- Every error case of the contract (unknown layer listing the valid names,
  a fused-away name, bad channel lists, format=png with several layers or
  images, --max-response-bytes → 413 with the size, before and after the
  run) is answered as specified and the server goes on serving.

Usage: test_featuremaps.py CNNSERVE
"""
import base64
import concurrent.futures
import io
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
import test_server  # noqa: E402
from test_server import Server  # noqa: E402
from test_trained_models import reference_model  # noqa: E402

MODELS = ["lenet5-fashion", "resnet-fashion", "inception-fashion"]
REL_TOL = 1e-4

# (cnnserve layer, PyTorch module whose forward output it is). A layer's
# tensor is the one after what the rewrites fused into it: conv+relu → the
# ReLU module after the conv, conv+bn → the BatchNorm, conv+bn+add+relu →
# the block's final ReLU.
CASES = {
    "lenet5-fashion": [
        ("features.0", "features.0"),        # conv
        ("features.1", "features.1"),        # max pool
        ("features.2", "features.2"),        # relu
        ("features.6", "features.6"),        # 1x1 conv
        ("classifier.0", "classifier.1"),    # dense + sigmoid
        ("classifier.3", "classifier.3"),    # softmax (the output)
    ],
    "resnet-fashion": [
        ("stem.0", "stem.2"),                         # conv + bn + relu
        ("stem.3", "stem.3"),                         # max pool
        ("layers.0.0.conv2", "layers.0.0.relu2"),     # conv + bn + add (identity) + relu
        ("layers.1.0.conv2", "layers.1.0.bn2"),       # conv + bn (its add is in the shortcut conv)
        ("layers.1.0.downsample.0", "layers.1.0.relu2"),  # 1x1 conv + bn + add + relu
        ("pool", "pool"),                             # global average pool
        ("fc", "fc"),
    ],
    "inception-fashion": [
        ("stem.0", "stem.1"),                          # conv + relu
        ("stem.2", "stem.2"),                          # max pool
        ("inception3a.branch_pool.0", "inception3a.branch_pool.0"),  # 3x3/1 max pool
        ("inception3a.concat", "inception3a"),         # concat of the four branches
        ("pool3", "pool3"),
        ("inception4b.concat", "inception4b"),
        ("pool", "pool"),
    ],
}


def pixels(png):
    """The image as the models see it: grayscale pixels / 255, [1, 1, H, W]."""
    a = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32) / 255.0
    return torch.from_numpy(a)[None, None]


def torch_activations(model, x, modules):
    """{module name: its forward output (cloned: later in-place ReLUs would change it)}."""
    out, hooks = {}, []
    named = dict(model.named_modules())
    for name in modules:
        hooks.append(named[name].register_forward_hook(
            lambda mod, inp, res, name=name: out.__setitem__(name, res.detach().clone())))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return out


def layer_array(layer):
    """A result layer's data as [channels, H, W] float32, from numbers or base64."""
    c, h, w = layer["shape"]
    n = len(layer["channels"])
    if "data_base64" in layer:
        a = np.frombuffer(base64.b64decode(layer["data_base64"]), dtype="<f4")
    else:
        a = np.asarray(layer["data"], dtype=np.float32)
    return a.reshape(n, h, w)


def hypercolumn_ref(acts, size):
    """Every channel of every activation resized to `size` (bilinear,
    align_corners=False) and averaged over all channels."""
    maps = []
    for a in acts:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        t = t.reshape(1, t.shape[0], *(t.shape[1:] if t.dim() == 3 else (1, 1)))
        maps.append(F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0])
    return torch.cat(maps).mean(0).numpy()


class FeatureMapsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cnnserve-fm-")
        cls.repo = os.path.join(cls.tmp, "repo")
        os.makedirs(cls.repo)
        for m in MODELS:
            os.symlink(os.path.join(ROOT, "models", m), os.path.join(cls.repo, m))
        cls.pngs = test_server.fashion_pngs(cls.tmp)
        cls.images = [test_server.read(p) for p in cls.pngs]
        cls.refs = {m: reference_model(os.path.join(ROOT, "models", m)) for m in MODELS}
        cls.server = Server(cls.repo, "--max-queue-delay-us", "30000", "--http-threads", "4")
        cls.small = None

    @classmethod
    def tearDownClass(cls):
        rcs = [s.stop() for s in (cls.server, cls.small) if s]
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if any(rc != 0 for rc in rcs):
            raise AssertionError(f"server exit status {rcs}:\n" + "".join(cls.server.log))

    # -- helpers --------------------------------------------------------------

    def fmaps(self, model, query, body=None, headers=None, expect=200, server=None):
        body = self.images[0] if body is None else body
        status, hdrs, data = (server or self.server).request(
            "POST", f"/v1/models/{model}/featuremaps?{query}", body, headers or {"Content-Type": "image/png"})
        self.assertEqual(status, expect, data[:500])
        if expect != 200:
            self.assertEqual(hdrs.get("content-type"), "application/json")
            return json.loads(data)["error"]
        return hdrs, data

    def fmaps_json(self, model, query, **kw):
        hdrs, data = self.fmaps(model, query, **kw)
        self.assertEqual(hdrs.get("content-type"), "application/json")
        return json.loads(data)

    def assert_close(self, got, want, what):
        want = np.asarray(want, dtype=np.float32).reshape(got.shape)
        err = float(np.max(np.abs(got - want)))
        scale = max(float(np.max(np.abs(want))), 1e-6)
        self.assertLessEqual(err, REL_TOL * scale, f"{what}: max |diff| {err} vs max |ref| {scale}")

    def assert_still_serving(self):
        status, _, data = self.server.request("POST", "/classify", self.images[0], {"Content-Type": "image/png"})
        self.assertEqual(status, 200, data)
        self.assertEqual(len(json.loads(data)["results"][0]["predictions"]), 5)

    # -- tests ----------------------------------------------------------------

    def test_layers_listing_matches_torch_shapes(self):
        for m in MODELS:
            status, hdrs, data = self.server.request("GET", f"/v1/models/{m}/layers")
            self.assertEqual(status, 200, data)
            doc = json.loads(data)
            self.assertEqual(doc["model"], m)
            self.assertEqual(doc["input"]["shape"], [1, 28, 28])
            layers = {l["name"]: l for l in doc["layers"]}
            self.assertEqual(len(layers), len(doc["layers"]))
            _, _, meta = self.server.request("GET", f"/v1/models/{m}")
            self.assertEqual([l["name"] for l in json.loads(meta)["layers"]], [l["name"] for l in doc["layers"]])
            acts = torch_activations(self.refs[m], pixels(self.images[0]), [t for _, t in CASES[m]])
            for ours, theirs in CASES[m]:
                shape = list(acts[theirs].shape[1:])
                shape += [1] * (3 - len(shape))
                self.assertEqual(layers[ours]["shape"], shape, ours)
        self.assertEqual(layers["stem.0"]["fused"], "relu")
        self.assertEqual(self.server.request("GET", "/v1/models/nope/layers")[0], 404)

    def test_matches_pytorch_hooks(self):
        for m in MODELS:
            names = ",".join(ours for ours, _ in CASES[m])
            for img in (self.images[0], self.images[3]):
                acts = torch_activations(self.refs[m], pixels(img), [t for _, t in CASES[m]])
                with torch.no_grad():
                    out = self.refs[m](pixels(img))[0]
                for enc in ("array", "base64"):
                    doc = self.fmaps_json(m, f"layers={names}&encoding={enc}&top_k=3", body=img)
                    self.assertEqual(doc["model"], m)
                    (res,) = doc["results"]
                    self.assertEqual([l["name"] for l in res["layers"]], [o for o, _ in CASES[m]])
                    for layer, (ours, theirs) in zip(res["layers"], CASES[m]):
                        ref = acts[theirs][0].numpy()
                        self.assertEqual(layer["channels"], list(range(ref.shape[0])))
                        self.assert_close(layer_array(layer), ref, f"{m} {ours} ({enc})")
                    # The predictions are this run's: its top class, its order.
                    self.assertEqual(res["predictions"][0]["class"], int(out.argmax()))
                    self.assertEqual(len(res["predictions"]), 3)

    def test_channels_and_stats(self):
        doc = self.fmaps_json("resnet-fashion", "layers=stem.0,layers.2.1.conv2&channels=5,0-2,5")
        acts = torch_activations(self.refs["resnet-fashion"], pixels(self.images[0]), ["stem.2", "layers.2.1.relu2"])
        for layer, mod in zip(doc["results"][0]["layers"], ["stem.2", "layers.2.1.relu2"]):
            self.assertEqual(layer["channels"], [5, 0, 1, 2, 5])
            ref = acts[mod][0].numpy()[[5, 0, 1, 2, 5]]
            got = layer_array(layer)
            self.assert_close(got, ref, layer["name"])
            self.assertEqual(len(layer["stats"]), 5)
            for s, ch in zip(layer["stats"], got):
                self.assertEqual(np.float32(s["min"]), ch.min())  # 9 digits: the exact float32
                self.assertEqual(np.float32(s["max"]), ch.max())
                self.assertAlmostEqual(s["mean"], float(ch.astype(np.float64).mean()), places=5)
        # base64 of a selection is the same numbers
        doc64 = self.fmaps_json("resnet-fashion", "layers=stem.0&channels=5,0-2,5&encoding=base64")
        np.testing.assert_array_equal(layer_array(doc64["results"][0]["layers"][0]),
                                      layer_array(doc["results"][0]["layers"][0]))

    def test_all_layers(self):
        doc = self.fmaps_json("inception-fashion", "layers=all&encoding=base64")
        _, _, data = self.server.request("GET", "/v1/models/inception-fashion/layers")
        listed = json.loads(data)["layers"]
        got = doc["results"][0]["layers"]
        self.assertEqual([l["name"] for l in got], [l["name"] for l in listed])
        for layer, meta in zip(got, listed):
            self.assertEqual(layer["shape"], meta["shape"])
            self.assertEqual(layer_array(layer).shape[0], meta["shape"][0])

    def test_hypercolumn(self):
        for m, layers, mods in [("lenet5-fashion", ["features.0", "features.3", "features.6"],
                                 ["features.0", "features.3", "features.6"]),
                                ("inception-fashion", ["stem.0", "inception3a.concat", "inception4b.concat"],
                                 ["stem.1", "inception3a", "inception4b"])]:
            acts = torch_activations(self.refs[m], pixels(self.images[1]), mods)
            ref = hypercolumn_ref([acts[t][0].numpy() for t in mods], (28, 28))
            for enc in ("array", "base64"):
                doc = self.fmaps_json(m, f"layers={','.join(layers)}&hypercolumn=1&encoding={enc}",
                                      body=self.images[1])
                hc = doc["results"][0]["hypercolumn"]
                self.assertEqual(hc["layers"], layers)
                self.assertEqual(hc["shape"], [28, 28])
                a = (np.frombuffer(base64.b64decode(hc["data_base64"]), "<f4") if enc == "base64"
                     else np.asarray(hc["data"], np.float32)).reshape(28, 28)
                self.assert_close(a, ref, f"{m} hypercolumn ({enc})")
                self.assertEqual(np.float32(hc["min"]), a.min())
                self.assertEqual(np.float32(hc["max"]), a.max())
        # With a channel selection: only those channels are averaged.
        acts = torch_activations(self.refs["lenet5-fashion"], pixels(self.images[1]), ["features.0", "features.3"])
        ref = hypercolumn_ref([acts["features.0"][0].numpy()[[1, 2]], acts["features.3"][0].numpy()[[1, 2]]],
                              (28, 28))
        doc = self.fmaps_json("lenet5-fashion", "layers=features.0,features.3&channels=1-2&hypercolumn=1",
                              body=self.images[1])
        self.assert_close(np.asarray(doc["results"][0]["hypercolumn"]["data"], np.float32).reshape(28, 28), ref,
                          "hypercolumn of channels 1-2")

    def test_png_grid(self):
        hdrs, data = self.fmaps("resnet-fashion", "layers=layers.1.0.conv1&format=png&channels=0-4")
        self.assertEqual(hdrs["content-type"], "image/png")
        self.assertEqual(hdrs["x-channels"], "0,1,2,3,4")
        self.assertEqual(hdrs["x-grid"], "3x2")
        self.assertEqual(hdrs["x-tile-size"], "35x35")  # 7x7 upscaled 5 times (ceil(32/7))
        preds = json.loads(hdrs["x-predictions"])
        self.assertEqual(len(preds), 5)
        img = np.asarray(Image.open(io.BytesIO(data)))
        self.assertEqual(img.shape, (2 * 35 + 1, 3 * 35 + 2))
        self.assertTrue((img[35, :] == 255).all() and (img[:, 35] == 255).all())
        self.assertTrue((img[36:, 2 * 36:] == 255).all())  # the unused sixth cell
        acts = torch_activations(self.refs["resnet-fashion"], pixels(self.images[0]), ["layers.1.0.relu1"])
        for k in range(5):
            ch = acts["layers.1.0.relu1"][0, k].numpy()
            lo, hi = ch.min(), ch.max()
            want = np.zeros_like(ch) if hi == lo else (ch - lo) * (255.0 / (hi - lo))
            r, c = divmod(k, 3)
            tile = img[r * 36:r * 36 + 35, c * 36:c * 36 + 35].astype(np.float32)
            np.testing.assert_array_equal(tile, np.kron(tile[::5, ::5], np.ones((5, 5))))
            self.assertLessEqual(float(np.max(np.abs(tile[::5, ::5] - want))), 1.0, f"tile {k}")
        # The hypercolumn as a PNG of the input size.
        hdrs, data = self.fmaps("lenet5-fashion", "layers=features.0,features.3&format=png&hypercolumn=1")
        self.assertEqual(Image.open(io.BytesIO(data)).size, (28, 28))
        self.assertNotIn("x-grid", hdrs)
        self.assertIn("x-predictions", hdrs)

    def test_batched_with_classify(self):
        """Concurrent featuremaps requests (different layers, three different
        images each) and classify requests share batches; every image's maps
        are its own (PyTorch on that image)."""
        model = "resnet-fashion"
        queries = {"layers=stem.0,fc&encoding=base64": [("stem.0", "stem.2", None), ("fc", "fc", None)],
                   "layers=layers.1.0.conv2&channels=3,1&encoding=base64": [("layers.1.0.conv2", "layers.1.0.bn2",
                                                                             [3, 1])],
                   "layers=pool&encoding=base64&hypercolumn=1": [("pool", "pool", None)]}
        n = len(self.images)
        refs = [torch_activations(self.refs[model], pixels(img), ["stem.2", "fc", "layers.1.0.bn2", "pool"])
                for img in self.images]

        def run(job):
            kind, q, first = job
            if kind == "classify":
                return job, self.server.request("POST", f"/v1/models/{model}/classify",
                                                self.images[first], {"Content-Type": "image/png"})
            body, hdr = test_server.multipart([(f"{i}.png", self.images[(first + i) % n]) for i in range(3)])
            return job, self.server.request("POST", f"/v1/models/{model}/featuremaps?{q}", body, hdr)

        jobs = [("classify", None, i % n) for i in range(6)]
        jobs += [("fmaps", q, (3 * j + k) % n) for j, q in enumerate(queries) for k in range(3)]
        batched = False
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
            for (kind, q, first), (status, _, data) in pool.map(run, jobs):
                self.assertEqual(status, 200, data[:300])
                doc = json.loads(data)
                batched = batched or doc["batch_size"] > 3
                if kind == "classify":
                    continue
                for i, res in enumerate(doc["results"]):
                    ref = refs[(first + i) % n]
                    for l, (ours, theirs, chans) in zip(res["layers"], queries[q]):
                        self.assertEqual(l["name"], ours)
                        want = ref[theirs][0].numpy()
                        want = want[chans] if chans else want
                        self.assert_close(layer_array(l), want, f"batched {q} image {i} {ours}")
                    if "hypercolumn" in res:
                        got = np.frombuffer(base64.b64decode(res["hypercolumn"]["data_base64"]), "<f4")
                        want = np.full(28 * 28, ref["pool"][0].mean().item(), np.float32)
                        self.assert_close(got, want, "batched hypercolumn")
        self.assertTrue(batched, "no request shared a batch with another")

    def test_errors(self):
        _, _, data = self.server.request("GET", "/v1/models/resnet-fashion/layers")
        names = [l["name"] for l in json.loads(data)["layers"]]
        msg = self.fmaps("resnet-fashion", "layers=stem.0,nope", expect=400)
        self.assertIn("unknown layer 'nope'", msg)
        for n in names:
            self.assertIn(n, msg)
        msg = self.fmaps("resnet-fashion", "layers=stem.2", expect=400)
        self.assertIn("fused into layer 'stem.0'", msg)
        for q, needle in [("layers=stem.0&channels=16", "out of range for layer 'stem.0', which has 16"),
                          ("layers=fc,stem.0&channels=0-10", "out of range for layer 'fc', which has 10"),
                          ("layers=stem.0&channels=3-1", "backwards"),
                          ("layers=stem.0&channels=1,,2", "expected a channel number"),
                          ("layers=stem.0&channels=a", "expected a channel number"),
                          ("layers=stem.0&channels=-1", "expected a channel number"),
                          ("layers=stem.0&channels=1-", "expected a channel number"),
                          ("layers=stem.0&channels=99999999999", "expected a channel number"),
                          ("layers=stem.0&channels=", "empty"),
                          ("layers=stem.0,", "empty layer name"),
                          ("layers=", "at least one layer"),
                          ("channels=1", "layers is required"),
                          ("layers=stem.0&layers=fc", "given twice"),
                          ("layers=stem.0&format=gif", "format must be"),
                          ("layers=stem.0&encoding=hex", "encoding must be"),
                          ("layers=stem.0&hypercolumn=yes", "hypercolumn must be"),
                          ("layers=stem.0&top_k=11", "top_k"),
                          ("layers=stem.0&bogus=1", "unknown query parameter"),
                          ("layers=stem.0,fc&format=png", "format=png draws one layer")]:
            self.assertIn(needle, self.fmaps("resnet-fashion", q, expect=400), q)
        body, hdr = test_server.multipart([("a.png", self.images[0]), ("b.png", self.images[1])])
        self.assertIn("format=png draws one image",
                      self.fmaps("resnet-fashion", "layers=stem.0&format=png", body=body, headers=hdr, expect=400))
        self.assertIn("unknown model", self.fmaps("nope", "layers=all", expect=404))
        self.assert_still_serving()

    def test_max_response_bytes(self):
        cls = type(self)
        if not cls.small:
            cls.small = Server(self.repo, "--max-response-bytes", "60000")
        # Before the run: even the smallest answer is too big.
        msg = self.fmaps("resnet-fashion", "layers=all", expect=413, server=cls.small)
        self.assertRegex(msg, r"would be at least \d+ bytes, over the limit of 60000 bytes")
        # After the run: the size of the body it would have sent.
        q = "layers=stem.0,stem.3&channels=0-7"
        msg = self.fmaps("resnet-fashion", q, expect=413, server=cls.small)
        would_be = int(re.search(r"would be (\d+) bytes", msg).group(1))
        _, data = self.fmaps("resnet-fashion", q)
        self.assertGreater(would_be, 60000)
        self.assertLess(abs(would_be - len(data)), 64)  # only the timings' digits differ
        # Under the limit: served.
        doc = self.fmaps_json("resnet-fashion", "layers=stem.3&channels=0-3&encoding=base64", server=cls.small)
        self.assertEqual(len(doc["results"][0]["layers"][0]["channels"]), 4)
        status, _, _ = cls.small.request("GET", "/health/ready")
        self.assertEqual(status, 200)

    def test_metrics_count_routes(self):
        self.fmaps_json("lenet5-fashion", "layers=features.0")
        self.server.request("GET", "/v1/models/lenet5-fashion/layers")
        _, _, data = self.server.request("GET", "/metrics")
        text = data.decode()
        self.assertRegex(text, r'cnnserve_requests_total\{model="lenet5-fashion",route="featuremaps",code="200"\} [1-9]')
        self.assertRegex(text, r'cnnserve_requests_total\{model="lenet5-fashion",route="layers",code="200"\} [1-9]')


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: test_featuremaps.py CNNSERVE")
    test_server.CNNSERVE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
