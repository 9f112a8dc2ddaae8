"""Helpers the Python oracle tests share (test plumbing only: nothing here is shared with the
code under test, so each test's reader or reference stays independent of what it checks)."""
import importlib
import json
import os
import shutil
import struct
import sys
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
            try:
                fn()
            except Exception:
                self.failures.append(f"{fn.__name__}: {traceback.format_exc()}")
                print(traceback.format_exc(), flush=True)
        return self.finish(tmp)

    def finish(self, tmp):
        """Print the tally, remove tmp when everything passed (kept for a look otherwise), and
        return the process exit code."""
        print(f"{self.n} checks, {len(self.failures)} failed")
        if self.failures:
            return 1
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
