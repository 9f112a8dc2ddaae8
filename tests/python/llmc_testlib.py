"""Helpers the Python oracle tests share (test plumbing only: nothing here is shared with the
code under test, so each test's reader or reference stays independent of what it checks)."""
import importlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import traceback

import numpy as np


class Skip(Exception):
    """Raised by a test that cannot run here (the reason is printed)."""


def write_spec(tmp, name, text):
    """tmp/name.yaml holding `name: <name>` followed by text."""
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"name: {name}\n" + text)
    return path


def read_safetensors(path, dtype=np.float64):
    """A small safetensors reader for comparisons (the format itself is validated independently by
    test_safetensors.py): name -> array converted to dtype, and the header."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[b:end]
        if e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif e["dtype"] in ("F32", "F16", "I64"):
            a = np.frombuffer(raw, dtype={"F32": "<f4", "F16": "<f2", "I64": "<i8"}[e["dtype"]])
        else:
            raise AssertionError(f"unexpected dtype {e['dtype']} for {name}")
        out[name] = a.astype(dtype).reshape(e["shape"])
    return out, header


def write_safetensors(path, tensors):
    """tensors (name -> array) as an F32 safetensors file, in the dict's order (a checkpoint for
    `llmc compile --weights`)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(a)), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def import_package(out):
    """Import the package the pytorch emitter wrote under out/pytorch/, freshly (a previous
    import of a package of the same name is dropped first)."""
    root = os.path.join(out, "pytorch")
    names = [p for p in os.listdir(root) if os.path.isfile(os.path.join(root, p, "__init__.py"))]
    assert len(names) == 1, f"expected one package in {root}, found {names}"
    name = names[0]
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    sys.path.insert(0, root)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(root)


def run(cmd, ok=True):
    """Run cmd (items str()-ed), capturing stdout and stderr as text; with ok, a non-zero exit
    fails the test showing both."""
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}\n{r.stderr[-3000:]}")
    return r


def rel(a, b):
    """max |a - b| / max |b|: the distance the logit comparisons use"""
    return float(np.abs(a - b).max() / np.abs(b).max())


def backend_logits(out, ids, vocab, backends=("ir_reference", "pytorch", "torchscript", "cpu"), decoder_ids=None,
                   reference_weights=None):
    """The logits (float64, [positions, vocab]) of every backend in OUT for one sequence of ids:
    "ir_reference" (the float64 interpreter of OUT/ir.json), "pytorch" (the package, float32), "torchscript" (model.pt), "cpu"
    (llmc-run built with make, --dump-logits), "gguf" (llama.cpp through tests/oracle/llama_logits,
    $LLMC_LLAMA_LOGITS; left out only when $LLMC_SKIP_ORACLE=1 and it is not built) as asked. decoder_ids: an encoder-decoder model's decoder input (ids feed the encoder);
    reference_weights: ir_reference's weights (name -> array) instead of OUT's safetensors."""
    import torch  # only the tests that compare backends need torch
    import ir_reference
    feeds = {"input_ids": np.array([ids])}
    if decoder_ids is not None:
        feeds["decoder_input_ids"] = np.array([decoder_ids])
    positions = len(decoder_ids if decoder_ids is not None else ids)
    logits = {}
    if "ir_reference" in backends:
        logits["ir_reference"] = ir_reference.forward(out, feeds, weights=reference_weights)[0]
    if "pytorch" in backends or "torchscript" in backends:
        args = [torch.tensor([ids])] + ([torch.tensor([decoder_ids])] if decoder_ids is not None else [])
        with torch.no_grad():
            if "pytorch" in backends:
                model = import_package(out).from_pretrained(out, dtype=torch.float32)
                logits["pytorch"] = model(*args)[0].double().numpy()
            if "torchscript" in backends:
                logits["torchscript"] = torch.jit.load(os.path.join(out, "torchscript", "model.pt"))(*args)[0].double().numpy()
    if "cpu" in backends:
        run(["make", "-s", "-C", os.path.join(out, "cpu")])
        dump = os.path.join(out, "cpu.logits")
        extra = ["--decoder-ids", ",".join(map(str, decoder_ids))] if decoder_ids is not None else []
        run([os.path.join(out, "cpu", "llmc-run"), "--prompt-ids", ",".join(map(str, ids))] + extra +
            ["-n", "0", "--dump-logits", dump])
        logits["cpu"] = np.fromfile(dump, dtype=np.float32).astype(np.float64).reshape(positions, vocab)
    oracle = os.environ.get("LLMC_LLAMA_LOGITS")
    if "gguf" in backends and not (oracle and os.path.exists(oracle)):
        if os.environ.get("LLMC_SKIP_ORACLE") != "1":
            raise AssertionError(f"the llama.cpp oracle is not built ($LLMC_LLAMA_LOGITS = {oracle!r})")
    elif "gguf" in backends:
        got = os.path.join(out, "gguf.logits")
        cmd = [oracle, "logits", os.path.join(out, "gguf", "model.gguf"), "--tokens", ",".join(map(str, ids))]
        if decoder_ids is not None:
            cmd += ["--decoder-tokens", ",".join(map(str, decoder_ids))]
        run(cmd + ["--out", got])
        logits["gguf"] = np.fromfile(got, dtype=np.float32).astype(np.float64).reshape(positions, vocab)
    return logits


def random_checkpoint(out, path, seed):
    """OUT's safetensors with every tensor redrawn, written to path in the IR's names (F32, sorted):
    matrices N(0, 0.08), norm weights 1 + N(0, 0.2), biases N(0, 0.05) - away from the init, so a
    backend that skipped a norm or a bias would show. Returns the new tensors."""
    import ir_reference
    tensors, _ = read_safetensors(os.path.join(out, "safetensors", "model.safetensors"))
    info = {t["name"]: t for t in ir_reference.load_ir(out)["tensors"] if t["kind"] == "param"}
    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(tensors):
        a, t = tensors[name], info[name]
        if t["role"] == "norm" and not t["is_bias"]:
            new[name] = 1 + 0.2 * rng.standard_normal(a.shape)
        elif t["is_bias"]:
            new[name] = 0.05 * rng.standard_normal(a.shape)
        else:
            new[name] = 0.08 * rng.standard_normal(a.shape)
    write_safetensors(path, new)
    return new


def check_agreement(check, logits, names, tol, label=""):
    """Every pair of names in logits within tol (rel), each distance printed."""
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = rel(logits[a], logits[b])
            print(f"  {label}{a} vs {b}: max |diff| / max |logit| = {d:.2e}")
            check(d <= tol, f"{label}{a} and {b} logits within {tol} (got {d:.2e})")


def q8_0_round_trip(w):
    """w through ggml's quantize_row_q8_0_ref and back (per row-block of 32: d = max|x| / 127 kept as
    f16, q = round(x / d)): the values a Q8_0 matrix of the CPU runtime or a GGUF holds"""
    x = np.asarray(w, dtype=np.float32).reshape(-1, 32)
    d = (np.abs(x).max(axis=1) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * inv[:, None]
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return (d.astype(np.float16).astype(np.float32)[:, None] * q).reshape(np.shape(w))


def q4_0_round_trip(w):
    """w through ggml's quantize_row_q4_0_ref and back (per block of 32: m = the value of largest
    magnitude, d = m / -8 kept as f16, q = min(15, trunc(x / d + 8.5)), value d * (q - 8))"""
    x = np.asarray(w, dtype=np.float32).reshape(-1, 32)
    m = x[np.arange(x.shape[0]), np.abs(x).argmax(axis=1)]
    d = (m / np.float32(-8)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
    q = np.minimum(15, np.trunc(x * inv[:, None] + np.float32(8.5)))
    return (d.astype(np.float16).astype(np.float32)[:, None] * (q - 8)).reshape(np.shape(w))


def top1_agreement(ours, ref, tie=0.05):
    """(share of positions whose top-1 token is ref's, share whose top-1 is within tie * std(ref's
    logits) of ref's maximum): the bar for 8-bit activations, whose logits move by ~1 % of their
    spread while random-weight models often have near ties"""
    top = ours.argmax(-1)
    picked = ref[np.arange(ref.shape[0]), top]
    return float(np.mean(top == ref.argmax(-1))), float(np.mean(ref.max(-1) - picked <= tie * ref.std(-1)))


def run_tests(tests, tmp):
    """Run each test function (or those named on the command line), report RUN/OK/SKIP/FAIL,
    remove tmp, and return the process exit code."""
    passed = failed = skipped = 0
    only = sys.argv[1:]
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        print(f"[ RUN  ] {fn.__name__}", flush=True)
        try:
            fn()
            passed += 1
            print(f"[  OK  ] {fn.__name__}", flush=True)
        except Skip as e:
            skipped += 1
            print(f"[ SKIP ] {fn.__name__}: {e}", flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"[ FAIL ] {fn.__name__}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


class Checks:
    """Many small checks: each failure is printed and remembered, the run goes on."""

    def __init__(self):
        self.failures = []
        self.n = 0

    def __call__(self, cond, what):
        self.n += 1
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, flush=True)
        return cond

    def run_all(self, tests, tmp):
        """Run each test function; an exception fails that test (its traceback is a failure) and
        the next one runs; then finish(tmp)."""
        for fn in tests:
            print(f"== {fn.__name__}", flush=True)
            t0 = time.monotonic()
            try:
                fn()
            except Exception:
                self.failures.append(f"{fn.__name__}: {traceback.format_exc()}")
                print(traceback.format_exc(), flush=True)
            # the suite's time budget is kept per test function (.ci/run must stay under an hour)
            print(f"   {fn.__name__}: {time.monotonic() - t0:.1f} s", flush=True)
        return self.finish(tmp)

    def finish(self, tmp):
        """Print the tally, remove tmp when everything passed (kept for a look otherwise), and
        return the process exit code."""
        print(f"{self.n} checks, {len(self.failures)} failed")
        if self.failures:
            return 1
        shutil.rmtree(tmp, ignore_errors=True)
        return 0


def neox_rope(seq_len, head_dim, theta):
    """The reference forwards' rotary embedding (float64, rotate-half as HF's llama family): a
    function rotating [seq_len, heads, head_dim] queries or keys at positions 0..seq_len-1."""
    import torch
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(seq_len, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1)[:, None, :], torch.cat([ang.sin()] * 2, -1)[:, None, :]

    def rope(z):
        z1, z2 = z[..., : head_dim // 2], z[..., head_dim // 2:]
        return z * cos + torch.cat([-z2, z1], -1) * sin
    return rope
