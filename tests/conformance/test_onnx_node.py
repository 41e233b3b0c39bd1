#!/usr/bin/python3
"""The ONNX project's operator tests (Debian libonnx-testdata) through
`cnnserve convert --onnx` and `cnnserve classify --json --logits`.

Every test directory under data/node and data/pytorch-converted whose model
uses one of the operators cnnserve maps is a candidate. For each data set:
inputs after the first are baked into the model as initializers (their
values are the test's own; cnnserve models have one run-time input, and
weights, pads, min/max and shapes are initializers in exported models), the
model is converted, input_0 runs through classify (an ONNX input [N,C,H,W]
is the engine's [C,H,W], [N,C,L] is [C,L,1], [N,F] a flat [F], [N] a flat
[1]) and the result is compared with output_0:

    |ours - expected| <= ATOL + RTOL * |expected|    (ATOL 1e-5, RTOL 1e-4)

A conversion that fails must fail cleanly (exit status 1 and a message);
its message is why the test is out of scope. A few own tests built with
onnx.helper (numpy references) cover what the data only tests with two
run-time inputs (Add, Concat).

tests/conformance/onnx_node_tests.md records the expected outcome of every
test. By default this script runs everything and fails when an outcome
differs from the table (a test listed as passing fails, an out-of-scope test
now passes, a test is missing); --write-table regenerates the table.

Usage: test_onnx_node.py --cnnserve PATH [--write-table] [--only SUBSTRING] [--verbose]
"""
import argparse
import collections
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "onnx_node_tests.md")
DATA = "/usr/share/libonnx-testdata/data"
RTOL, ATOL = 1e-4, 1e-5
OPS = ["Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu", "PRelu",
       "Elu", "Sigmoid", "Tanh", "Softmax", "LRN", "BatchNormalization", "Dropout", "Concat", "Add", "Flatten",
       "Reshape", "Pad", "Clip", "Identity"]

# Why a conversion was refused, from its message: (pattern, short reason).
REASONS = [
    (r"unsupported ONNX operator", "uses operators outside the mapped list"),
    (r"\(3-D\)|has more axes|with more than 4 axes", "3-D (volumetric) data: the engine is 2-D"),
    (r"must be float32", "integer or bool data"),
    (r"taken from a non-tensor|no shape|exactly one", "input is not a single float tensor"),
    (r"softmax over axis", "softmax over an axis other than channels"),
    (r"training_mode|training statistics", "training mode"),
    (r"output \d+ \('.*', (mask|indices)\) is used|outputs; cnnserve", "second output (mask / indices) compared"),
    (r"flattening at axis", "flatten at an axis other than 1 mixes the batch"),
    (r"concatenation along axis", "concatenation along a non-channel axis"),
    (r"only computed tensors|is a constant", "constant where the engine needs a computed tensor"),
    (r"adding .* only equal shapes|adding constant", "Add with numpy broadcasting beyond per-channel"),
    (r"dilated pooling", "dilated pooling"),
    (r"ceil_mode gives", "ceil_mode output size differs from PyTorch's rule"),
    (r"even size", "LRN with an even size (ONNX and PyTorch windows differ)"),
    (r"mode '", "padding mode other than constant"),
    (r"transA", "Gemm with transA"),
    (r"bias C", "Gemm bias varying over the batch"),
    (r"reshaping .* not supported|cannot reshape", "reshape other than flattening"),
    (r"input A must be a matrix", "MatMul/Gemm on more than 2 axes"),
    (r"rank 1|needs a \[N,C,H,W\]", "spatial op on data without spatial axes"),
    (r"padding the batch or channel", "padding the batch or channel axis"),
    (r"padding with", "padding with a non-zero value"),
    (r"clip needs min <= max", "Clip with min > max"),
    (r"must be one value or one per channel", "PRelu slope varying along more than channels"),
]


def run(cmd, timeout=120):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    return p.returncode, p.stdout, p.stderr


def read_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    if not t.dims and not t.raw_data and not t.float_data and not t.int64_data and not t.int32_data:
        raise ValueError("not a tensor")
    return numpy_helper.to_array(t)


def reason_of(message):
    for pattern, reason in REASONS:
        if re.search(pattern, message):
            return reason
    return "refused"


# --- own tests: onnx.helper models with numpy references -------------------

def own_cases():
    """(name, ModelProto, x, expected) for what the data sets cannot cover."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    vi = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    sig = lambda a: 1 / (1 + np.exp(-a))
    cases = []

    def model(nodes, inits, out_shape, name):
        g = helper.make_graph(nodes, name, [vi("x", ["N", 4, 5, 6])], [vi("y", out_shape)], inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["x"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["y"])]
    cases.append(("own/add_two_branches", model(nodes, [], ["N", 4, 5, 6], "add2"), x,
                  np.maximum(x, 0) + sig(x)))
    k = rng.standard_normal((4, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Tanh", ["x"], ["a"]), helper.make_node("Add", ["k", "a"], ["y"])]
    cases.append(("own/add_channel_constant", model(nodes, [numpy_helper.from_array(k, "k")], ["N", 4, 5, 6],
                                                    "addk"), x, k + np.tanh(x)))
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Elu", ["x"], ["b"], alpha=0.5),
             helper.make_node("Concat", ["a", "x", "b"], ["y"], axis=1)]
    elu = np.where(x > 0, x, 0.5 * (np.exp(x) - 1))
    cases.append(("own/concat_channels", model(nodes, [], ["N", 12, 5, 6], "concat"), x,
                  np.concatenate([np.maximum(x, 0), x, elu], axis=1)))
    w = rng.standard_normal((120, 7)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["y"])]
    cases.append(("own/matmul_add_bias", model(nodes, [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
                                               ["N", 7], "matmul"), x, x.reshape(3, -1) @ w + b))
    shape = numpy_helper.from_array(np.array([0, -1], np.int64), "shape")
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Reshape", ["a", "shape"], ["y"])]
    cases.append(("own/reshape_flatten", model(nodes, [shape], ["N", 120], "reshape"), x,
                  np.maximum(x, 0).reshape(3, -1)))
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["i0"], value=numpy_helper.from_array(np.array(0, np.int64))),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Constant", [], ["ax"], value=numpy_helper.from_array(np.array([0], np.int64))),
             helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
             helper.make_node("Constant", [], ["m1"], value=numpy_helper.from_array(np.array([-1], np.int64))),
             helper.make_node("Concat", ["n1", "m1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["f"]),
             helper.make_node("Softmax", ["f"], ["y"], axis=1)]
    f = x.reshape(3, -1)
    e = np.exp(f - f.max(axis=1, keepdims=True))
    cases.append(("own/reshape_shape_chain_softmax", model(nodes, [], ["N", 120], "chain"), x,
                  e / e.sum(axis=1, keepdims=True)))
    return cases


# --- running -----------------------------------------------------------------

def bake_inputs(model, inputs):
    """Moves graph inputs after the first into the initializers with the
    test's values; returns the model and the first input's array."""
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != len(graph_inputs):
        raise ValueError(f"{len(inputs)} input files for {len(graph_inputs)} graph inputs")
    for gi, arr in zip(graph_inputs[1:], inputs[1:]):
        model.graph.initializer.append(numpy_helper.from_array(arr, gi.name))
        model.graph.input.remove(gi)
    return model, inputs[0]


def as_engine_batch(x):
    """An ONNX input [N, ...] (rank 1 to 4) as an N×C×H×W .npy array."""
    if x.ndim < 1 or x.ndim > 4:
        raise ValueError(f"input of rank {x.ndim}")
    return x.reshape(x.shape + (1,) * (4 - x.ndim))


def run_one(cnnserve, model, x, expected, workdir):
    """Converts and runs one model; returns (status, detail): status 'pass',
    'refused' (clean conversion failure, detail = message) or 'FAIL'."""
    onnx_path = os.path.join(workdir, "model.onnx")
    onnx.save(model, onnx_path)
    out_dir = os.path.join(workdir, "model")
    rc, _, err = run([cnnserve, "convert", "--onnx", onnx_path, "--out", out_dir, "--force"])
    if rc != 0:
        message = err.strip().splitlines()[-1] if err.strip() else ""
        message = message.replace(f"cnnserve convert: {onnx_path}: ", "")
        if rc == 1 and message and "Sanitizer" not in err:
            return "refused", message
        return "FAIL", f"convert exited {rc}: {err.strip()[-300:]}"
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        return "FAIL", "converted a model whose input is not float32"
    npy = os.path.join(workdir, "x.npy")
    np.save(npy, as_engine_batch(x))
    rc, out, err = run([cnnserve, "classify", out_dir, npy, "--json", "--logits", "--top-k", "1"])
    if rc != 0:
        return "FAIL", f"classify exited {rc}: {err.strip()[-300:]}"
    import json
    results = sorted(json.loads(out)["results"], key=lambda r: r["index"])
    ours = np.array([r["logits"] for r in results], dtype=np.float64)
    want = np.asarray(expected, dtype=np.float64)
    if want.ndim == 0 or want.shape[0] != x.shape[0] or want.size != ours.size:
        return "FAIL", f"output {ours.shape}, expected {want.shape}"
    want = want.reshape(ours.shape)
    bad = np.abs(ours - want) > ATOL + RTOL * np.abs(want)
    if bad.any():
        i = np.unravel_index(np.argmax(np.abs(ours - want)), ours.shape)
        return "FAIL", f"{int(bad.sum())} values off, worst {ours[i]:.6g} vs {want[i]:.6g}"
    return "pass", ""


def data_tests():
    """(name, dir, op types) of every candidate test directory."""
    for sub in ("node", "pytorch-converted"):
        for d in sorted(glob.glob(os.path.join(DATA, sub, "test_*"))):
            try:
                model = onnx.load(os.path.join(d, "model.onnx"))
            except Exception:  # noqa: BLE001 - unreadable models are not candidates
                continue
            types = [n.op_type for n in model.graph.node]
            if set(types) & set(OPS):
                yield f"{sub}/{os.path.basename(d)}", d, sorted(set(types))


def run_data_test(cnnserve, d, workdir):
    sets = sorted(glob.glob(os.path.join(d, "test_data_set_*")))
    if not sets:
        return "refused", "no test data"
    for s in sets:
        try:
            inputs = [read_tensor(p) for p in sorted(glob.glob(os.path.join(s, "input_*.pb")),
                                                     key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))]
            expected = read_tensor(os.path.join(s, "output_0.pb"))
            model, x = bake_inputs(onnx.load(os.path.join(d, "model.onnx")), inputs)
        except (ValueError, OSError) as e:
            return "refused", f"the test data cannot be fed: input taken from a non-tensor or mismatched file ({e})"
        status, detail = run_one(cnnserve, model, x, expected, workdir)
        if status != "pass":
            return status, detail
    return "pass", ""


# --- the table -----------------------------------------------------------------

def write_table(results):
    foreign = "uses operators outside the mapped list"
    rows = {n: r for n, r in results.items() if r[1] == "pass" or reason_of(r[2]) != foreign}
    other = {n: r for n, r in results.items() if n not in rows}
    per_op = collections.OrderedDict((op, [0, 0]) for op in OPS)
    for name, (ops, status, _) in rows.items():
        for op in ops:
            if op in per_op:
                per_op[op][0 if status == "pass" else 1] += 1
    n_pass = sum(1 for _, s, _ in results.values() if s == "pass")
    lines = [
        "# ONNX operator tests",
        "",
        "Generated by `tests/conformance/test_onnx_node.py --write-table`; the ctest",
        "`conformance.onnx_node_tests` runs every test below and fails when an outcome differs",
        "from this table. Data: Debian `libonnx-testdata` 1.12 (`/usr/share/libonnx-testdata/data`),",
        "every test under `node/` and `pytorch-converted/` whose model uses an operator cnnserve",
        "maps, plus `own/` models built with `onnx.helper` and checked against numpy (the data",
        "tests Add and Concat only with two run-time inputs, and Reshape mostly across the batch).",
        "",
        "How a test runs: inputs after the first become initializers holding the test's own",
        "values (weights, pads, min/max, shapes are initializers in exported models); the model",
        "is converted with `cnnserve convert --onnx` and input_0 runs through `cnnserve classify",
        "--json --logits` ([N,C,H,W] → [C,H,W], [N,C,L] → [C,L,1], [N,F] → [F], [N] → [1]; the",
        "first axis is always the batch); outputs must match output_0 within",
        f"{ATOL:g} + {RTOL:g}·|expected|. Out of scope means `convert` refuses the model with exit",
        "status 1 and the message quoted (shortened).",
        "",
        f"**{n_pass} pass, {len(rows) - n_pass} out of scope, and {len(other)} tests of other operators "
        "(expanded functions) that contain a mapped one.**",
        "",
        "| operator | tests passing | out of scope |",
        "|---|--:|--:|",
    ]
    lines += [f"| {op} | {p} | {o} |" for op, (p, o) in per_op.items()]

    def row(name, ops, status, detail):
        why = "" if status == "pass" else f"{reason_of(detail)}: {detail}"
        why = why.replace("|", "/")
        if len(why) > 220:
            why = why[:217] + "..."
        result = "pass" if status == "pass" else "out of scope"
        return f"| {name} | {' '.join(ops)} | {result} | {why} |"

    lines += ["", "## Tests of the mapped operators", "", "| test | operators | result | why |",
              "|---|---|---|---|"]
    lines += [row(n, *r) for n, r in rows.items()]
    lines += ["", "## Tests of other operators", "",
              "Function expansions and PyTorch modules built from operators cnnserve does not map",
              "(the converter lists them all in one message).", "",
              "| test | operators | result | why |", "|---|---|---|---|"]
    lines += [row(n, *r) for n, r in other.items()]
    with open(TABLE, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_table():
    expected = {}
    if not os.path.exists(TABLE):
        return expected
    for line in open(TABLE):
        m = re.match(r"\| ((?:node|pytorch-converted|own)/\S+) \| [^|]* \| (pass|out of scope) \|", line)
        if m:
            expected[m.group(1)] = m.group(2)
    return expected


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cnnserve", required=True)
    ap.add_argument("--write-table", action="store_true", help=f"regenerate {os.path.relpath(TABLE)}")
    ap.add_argument("--only", help="run only tests whose name contains this")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if not os.path.isdir(DATA):
        print(f"{DATA} is missing (Debian package libonnx-testdata)", file=sys.stderr)
        return 1
    start = time.time()
    results = collections.OrderedDict()
    with tempfile.TemporaryDirectory(prefix="cnn-onnx-node-") as tmp:
        for name, d, ops in data_tests():
            if args.only and args.only not in name:
                continue
            status, detail = run_data_test(args.cnnserve, d, tmp)
            results[name] = (ops, status, detail)
        for name, model, x, want in own_cases():
            if args.only and args.only not in name:
                continue
            status, detail = run_one(args.cnnserve, model, x, want, tmp)
            results[name] = (sorted({n.op_type for n in model.graph.node}), status, detail)
    failures = [f"{n}: {d}" for n, (_, s, d) in results.items() if s == "FAIL"]
    if args.verbose:
        for n, (ops, s, d) in results.items():
            print(f"{s:8} {n} {d}")
    if args.write_table and not args.only:
        write_table(results)
        print(f"wrote {TABLE}")
    elif not args.write_table:
        expected = read_table()
        for n, (_, s, d) in results.items():
            want = expected.get(n)
            got = "pass" if s == "pass" else "out of scope"
            if s == "FAIL":
                continue
            if want is None:
                failures.append(f"{n}: not in {os.path.basename(TABLE)} (outcome: {got}; rerun with --write-table)")
            elif want != got:
                failures.append(f"{n}: table says {want}, outcome is {got}{': ' + d if d else ''}")
        if not args.only:
            for n in expected:
                if n not in results:
                    failures.append(f"{n}: listed in the table but no longer found")
    n_pass = sum(1 for _, s, _ in results.values() if s == "pass")
    print(f"{len(results)} tests: {n_pass} pass, {len(results) - n_pass} out of scope or failing; "
          f"{time.time() - start:.1f}s")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
