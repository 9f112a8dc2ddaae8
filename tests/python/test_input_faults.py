#!/usr/bin/env python3
"""Bad input never crashes llmc or llmc-run (issue 14): every case below ends with a message that names
the file (and the tensor) and a documented exit code, never a signal, and leaves no output behind.

Environment (set by ctest): LLMC, LLMC_BINARY_DIR, LLMC_TEST_PLUGIN_DIR.

  * plugins: a truncated copy of a real plugin (cut at several points), a data symbol as the entry,
    a manifest claiming more plugins than its array holds: `llmc plugins` lists each as failed with the
    reason (exit 0), other commands still work, --strict-plugins makes it exit 3;
  * checkpoints (`compile --weights`): NaN / +Inf / -Inf in F32, BF16 and F16 tensors -> exit 1 naming the
    checkpoint, the tensor and the element, no OUT and no temporary directory; `--allow-nonfinite`
    imports them (the emitted safetensors holds them bit for bit); a checkpoint truncated after its
    header was read and checked (the LD_PRELOAD shim tests/shims/shrink_after_mmap.c cuts it right after
    llmc maps it, deterministically) -> exit 4 naming the file and a tensor, with 1 and 3 threads and
    several emitters, also for one shard of a sharded checkpoint; a missing checkpoint -> 4, a
    malformed one -> 1;
  * llmc-run: model.bin truncated while the program runs (the same shim, after llmc-run maps it) ->
    exit 3 with a message, never "Bus error"; rewritten in place with the same size -> exit 3 before the
    first token is printed; model.bin replaced by a rename while it runs -> the run is
    unaffected; overlapping tensor records -> refused at load (exit 3); --temperature below 1e-3, NaN
    or infinite -> usage error (exit 2), and every numeric option out of range -> exit 2; a model compiled
    from NaN weights with --allow-nonfinite -> exit 3 at the first sampled token, not "0,0,0" with exit 0.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from llmc_testlib import Checks

LLMC = os.environ.get("LLMC", "llmc")
BIN = os.environ.get("LLMC_BINARY_DIR", ".")
TEST_PLUGINS = os.environ.get("LLMC_TEST_PLUGIN_DIR", os.path.join(BIN, "tests", "plugins"))
SHIM = os.path.join(BIN, "tests", "shrink_after_mmap.so")
TMP = tempfile.mkdtemp(prefix="llmc-test-faults-")

CHECKS = Checks()
check = CHECKS
failures = CHECKS.failures


def run(cmd, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", env=e)


def llmc(*args, env=None):
    return run([LLMC] + list(args), env=env)


def shim_env(path, truncate=None, replace_with=None, rewrite=False):
    env = {"LD_PRELOAD": SHIM, "LLMC_FAULT_FILE": path,
           # an ASan build of llmc wants its runtime first in the library list; the shim is harmless
           "ASAN_OPTIONS": "verify_asan_link_order=0:" + os.environ.get("ASAN_OPTIONS", "")}
    if truncate is not None:
        env["LLMC_FAULT_TRUNCATE"] = str(truncate)
    if replace_with is not None:
        env["LLMC_FAULT_REPLACE_WITH"] = replace_with
    if rewrite:
        env["LLMC_FAULT_REWRITE"] = "1"
    return env


def no_crash(r):
    """exited by itself (a negative code is a signal), without a sanitizer report"""
    return r.returncode >= 0 and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr


def leftovers(parent, name):
    return [p for p in os.listdir(parent) if p == name or p.startswith("." + name + ".")]


SPEC = """dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
vocab_size: 256
context_length: 64
"""


def write_spec(name, extra=""):
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"name: {name}\n{SPEC}{extra}")
    return path


# ---- safetensors editing ----------------------------------------------------------------------------
def st_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


SPECIAL = {  # the bits of NaN / +Inf / -Inf per stored dtype
    "F32": {"NaN": struct.pack("<I", 0x7fc00000), "+Inf": struct.pack("<I", 0x7f800000), "-Inf": struct.pack("<I", 0xff800000)},
    "F16": {"NaN": struct.pack("<H", 0x7e00), "+Inf": struct.pack("<H", 0x7c00), "-Inf": struct.pack("<H", 0xfc00)},
    "BF16": {"NaN": struct.pack("<H", 0x7fc0), "+Inf": struct.pack("<H", 0x7f80), "-Inf": struct.pack("<H", 0xff80)},
}


def poke(src, dst, tensor, index, what):
    """dst := src with element `index` (flat) of `tensor` set to what ('NaN', '+Inf', '-Inf')"""
    n, h = st_header(src)
    e = h[tensor]
    bits = SPECIAL[e["dtype"]][what]
    data = bytearray(open(src, "rb").read())
    at = 8 + n + e["data_offsets"][0] + index * len(bits)
    data[at:at + len(bits)] = bits
    with open(dst, "wb") as f:
        f.write(data)
    return e


def index_of(shape, flat):
    idx = []
    for d in reversed(shape):
        idx.append(flat % d)
        flat //= d
    return "[" + ", ".join(str(i) for i in reversed(idx)) + "]"


# ---- plugins ------------------------------------------------------------------------------------------
def test_plugins():
    plugdir = os.path.join(BIN, "plugins")
    gguf = os.path.join(plugdir, "emitters", "gguf.so")
    size = os.path.getsize(gguf)
    spec = write_spec("plugins_ok")
    for cut in (0, 100, 4096, size // 2, size - 64):
        d = os.path.join(TMP, f"cut{cut}")
        os.makedirs(d, exist_ok=True)
        with open(gguf, "rb") as f, open(os.path.join(d, "gguf.so"), "wb") as g:
            g.write(f.read(cut))
        real = os.path.realpath(os.path.join(d, "gguf.so"))
        r = llmc("--plugins", d, "plugins")
        line = [x for x in r.stdout.splitlines() if real in x]
        check(r.returncode == 0 and line and "cannot be loaded as a shared object" in line[0]
              and ("truncated" in line[0] or "too short" in line[0]),
              f"plugins: a {cut}-byte copy of gguf.so is listed as failed, with the reason ({r.returncode}: {line} {r.stderr[-300:]})")
        r = llmc("--plugins", d, "--plugins", plugdir, "solve", spec)
        check(r.returncode == 0 and real in r.stderr, f"plugins: solve still works next to a {cut}-byte gguf.so ({r.returncode})")
        r = llmc("--strict-plugins", "--plugins", d, "--plugins", plugdir, "solve", spec)
        check(r.returncode == 3 and real in r.stderr, f"plugins: --strict-plugins with a {cut}-byte gguf.so exits 3 ({r.returncode})")
    for name, needle in (("data_entry", "is a data object, not a function"),
                         ("overcount", "the manifest claims 5 plugins, but its plugin array holds 1"),
                         ("overcount_stripped", "the manifest claims 1000 plugins, but the plugin's data ends after"),
                         ("wild_manifest", "returned a manifest that is not inside the plugin")):
        d = os.path.join(TEST_PLUGINS, name)
        r = llmc("--plugins", d, "plugins")
        check(no_crash(r) and r.returncode == 0 and needle in r.stdout and "failed to load" in r.stdout,
              f"plugins: {name} listed as failed to load with '{needle}' ({r.returncode}: {r.stdout[-300:]} {r.stderr[-300:]})")
        r = llmc("--strict-plugins", "--plugins", d, "--plugins", plugdir, "solve", spec)
        check(r.returncode == 3 and needle in r.stderr, f"plugins: {name} with --strict-plugins exits 3 ({r.returncode})")


# ---- checkpoints ----------------------------------------------------------------------------------------
def make_checkpoint(dtype):
    spec = write_spec(f"src_{dtype}")
    out = os.path.join(TMP, f"src_{dtype}")
    r = llmc("compile", spec, "-o", out, "--emit", "safetensors", "--dtype", dtype, "--force")
    assert r.returncode == 0, r.stderr
    return os.path.join(out, "safetensors", "model.safetensors")


def test_nonfinite_checkpoints():
    spec = write_spec("import")
    for dtype, stored in (("f32", "F32"), ("bf16", "BF16"), ("f16", "F16")):
        src = make_checkpoint(dtype)
        _, h = st_header(src)
        names = sorted(k for k in h if k != "__metadata__")
        for k, (what, tensor) in enumerate((("NaN", names[0]), ("+Inf", names[len(names) // 2]), ("-Inf", names[-1]))):
            e = h[tensor]
            numel = int(np.prod(e["shape"]))
            flat = (37 * (k + 1)) % numel
            bad = os.path.join(TMP, f"bad_{dtype}_{k}.safetensors")
            poke(src, bad, tensor, flat, what)
            out = os.path.join(TMP, f"nf_{dtype}_{k}")
            r = llmc("compile", spec, "-o", out, "--emit", "safetensors,gguf,cpu", "--weights", bad, "--threads", "2")
            want = f"{bad}: tensor '{tensor}': element {index_of(e['shape'], flat)} (flat index {flat}) is {what}"
            check(r.returncode == 1 and want in r.stderr and "--allow-nonfinite" in r.stderr,
                  f"{stored} {what} in {tensor}: exit 1 naming file, tensor and element ({r.returncode}: {r.stderr[-400:]})")
            check(not leftovers(TMP, f"nf_{dtype}_{k}"), f"{stored} {what}: no OUT, no temporary directory left")
            r = llmc("compile", spec, "-o", out, "--emit", "safetensors", "--weights", bad, "--allow-nonfinite",
                     "--dtype", dtype)
            ok = r.returncode == 0
            if ok:
                n, h2 = st_header(os.path.join(out, "safetensors", "model.safetensors"))
                e2 = h2[tensor]
                width = len(SPECIAL[stored][what])
                with open(os.path.join(out, "safetensors", "model.safetensors"), "rb") as f:
                    f.seek(8 + n + e2["data_offsets"][0] + flat * width)
                    ok = e2["dtype"] == stored and f.read(width) == SPECIAL[stored][what]
            check(ok, f"{stored} {what}: --allow-nonfinite imports it bit for bit ({r.returncode}: {r.stderr[-300:]})")


def test_truncated_checkpoint():
    spec = write_spec("truncated")
    src = make_checkpoint("f32")
    size = os.path.getsize(src)
    for threads, emit in (("1", "safetensors"), ("3", "safetensors,gguf,cpu")):
        ck = os.path.join(TMP, "shrinking.safetensors")
        shutil.copy(src, ck)
        out = os.path.join(TMP, "trunc_out")
        r = llmc("compile", spec, "-o", out, "--emit", emit, "--weights", ck, "--threads", threads,
                 env=shim_env(ck, truncate=size // 2))
        check("shim: truncated" in r.stderr, f"the shim truncated the checkpoint ({r.stderr[-300:]})")
        check(no_crash(r) and r.returncode == 4 and f"{ck}: tensor '" in r.stderr and "it shrank while it was being read" in r.stderr,
              f"checkpoint truncated during compile --weights ({threads} threads, {emit}): exit 4 naming file and tensor "
              f"({r.returncode}: {r.stderr[-500:]})")
        check(not leftovers(TMP, "trunc_out"), f"truncated checkpoint ({threads} threads): no OUT, no temporary directory left")
    # one shard of a sharded checkpoint
    shard_dir = os.path.join(TMP, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    n, h = st_header(src)
    names = sorted(k for k in h if k != "__metadata__")
    data = open(src, "rb").read()
    halves = (names[: len(names) // 2], names[len(names) // 2:])
    weight_map = {}
    for i, part in enumerate(halves):
        fname = f"model-{i + 1:05d}-of-00002.safetensors"
        header, blobs, off = {}, [], 0
        for t in part:
            b, e = h[t]["data_offsets"]
            blobs.append(data[8 + n + b: 8 + n + e])
            header[t] = {"dtype": h[t]["dtype"], "shape": h[t]["shape"], "data_offsets": [off, off + e - b]}
            off += e - b
            weight_map[t] = fname
        hj = json.dumps(header).encode()
        hj += b" " * (-len(hj) % 8)
        with open(os.path.join(shard_dir, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
    index = os.path.join(shard_dir, "model.safetensors.index.json")
    with open(index, "w") as f:
        json.dump({"metadata": {"total_size": len(data) - 8 - n}, "weight_map": weight_map}, f)
    out = os.path.join(TMP, "shard_out")
    r = llmc("compile", spec, "-o", out, "--emit", "safetensors", "--weights", index)
    check(r.returncode == 0, f"the sharded checkpoint imports ({r.stderr[-300:]})")
    shutil.rmtree(out, ignore_errors=True)
    second = os.path.join(shard_dir, "model-00002-of-00002.safetensors")
    r = llmc("compile", spec, "-o", out, "--emit", "safetensors", "--weights", index, "--threads", "2",
             env=shim_env(second, truncate=os.path.getsize(second) // 3))
    check(no_crash(r) and r.returncode == 4 and f"{second}: tensor '" in r.stderr,
          f"a shard truncated during the import: exit 4 naming the shard ({r.returncode}: {r.stderr[-400:]})")
    check(not leftovers(TMP, "shard_out"), "truncated shard: no OUT, no temporary directory left")
    # at rest: missing is I/O (4), malformed is bad data (1), located in the checkpoint
    r = llmc("compile", spec, "-o", out, "--weights", os.path.join(TMP, "nope.safetensors"))
    check(r.returncode == 4 and "nope.safetensors" in r.stderr, f"missing checkpoint: exit 4 ({r.returncode}: {r.stderr[-200:]})")
    short = os.path.join(TMP, "short.safetensors")
    with open(short, "wb") as f:
        f.write(data[: size // 2])
    r = llmc("compile", spec, "-o", out, "--weights", short)
    check(r.returncode == 1 and r.stderr.startswith(short + ":"),
          f"a checkpoint cut short at rest: exit 1, located in the checkpoint ({r.returncode}: {r.stderr[-300:]})")
    empty = os.path.join(TMP, "empty-folder")
    os.makedirs(empty, exist_ok=True)
    r = llmc("compile", spec, "-o", out, "--weights", empty)
    check(r.returncode == 4 and "holds 0 *.safetensors.index.json and 0 *.safetensors files" in r.stderr,
          f"a folder without a checkpoint: exit 4, saying what it holds ({r.returncode}: {r.stderr[-200:]})")


# ---- llmc-run ---------------------------------------------------------------------------------------------
def build_runtime(name, weights=None, allow=False):
    spec = write_spec(name)
    out = os.path.join(TMP, name)
    args = ["compile", spec, "-o", out, "--emit", "cpu", "--force"]
    if weights:
        args += ["--weights", weights]
    if allow:
        args += ["--allow-nonfinite"]
    r = llmc(*args)
    assert r.returncode == 0, r.stderr
    r = run(["make", "-s", "-C", os.path.join(out, "cpu")])
    assert r.returncode == 0, r.stderr
    return os.path.join(out, "cpu")


def records(blob):
    n = struct.unpack_from("<I", blob, 36)[0]
    out = []
    for i in range(n):
        base = 128 + 128 * i
        off, nbytes = struct.unpack_from("<QQ", blob, base + 80 + 4 * 4 + 8 * 2)
        out.append((off, nbytes, i))
    return out


def test_llmc_run():
    cpu = build_runtime("rt")
    exe, mb = os.path.join(cpu, "llmc-run"), os.path.join(cpu, "model.bin")
    args = ["--prompt-ids", "1,2,3,4", "-n", "6", "--threads", "2"]
    ref = run([exe] + args)
    check(ref.returncode == 0, f"llmc-run runs ({ref.stderr[-200:]})")
    size = os.path.getsize(mb)
    work = os.path.join(TMP, "work.bin")
    for cut in (100, 4096, size // 3, size - 64):
        shutil.copy(mb, work)
        r = run([exe, "--model", work] + args, env=shim_env(work, truncate=cut))
        check("shim: truncated" in r.stderr, f"the shim truncated model.bin to {cut} ({r.stderr[-200:]})")
        check(no_crash(r) and r.returncode == 3 and (f"llmc-run: {work}: the model file shrank while" in r.stderr
                                                     or f"llmc-run: {work}: the model file changed while" in r.stderr),
              f"model.bin truncated to {cut} bytes while llmc-run runs: exit 3 with a message ({r.returncode}: {r.stderr[-300:]})")
    shutil.copy(mb, work)
    os.utime(work, (1e9, 1e9))  # an old mtime: the rewrite's is surely another
    r = run([exe, "--model", work] + args, env=shim_env(work, rewrite=True))
    check("shim: rewrote" in r.stderr and r.returncode == 3 and f"{work}: the model file changed while" in r.stderr
          and "rewritten in place" in r.stderr and r.stdout == "",
          f"model.bin rewritten in place (same size) while llmc-run runs: exit 3 before any token ({r.returncode}: {r.stderr[-300:]})")
    shutil.copy(mb, work)
    fresh = os.path.join(TMP, "fresh.bin")
    shutil.copy(mb, fresh)
    r = run([exe, "--model", work] + args, env=shim_env(work, replace_with=fresh))
    check("shim: renamed" in r.stderr and r.returncode == 0 and r.stdout == ref.stdout,
          f"model.bin replaced by a rename while llmc-run runs: unaffected ({r.returncode}: {r.stderr[-200:]})")

    # the same under AddressSanitizer + UBSan (the SIGBUS handler next to the sanitizer's)
    alt = os.path.join(TMP, "rt-asan")
    shutil.copytree(cpu, alt, ignore=shutil.ignore_patterns("llmc-run"))
    r = run(["make", "-s", "-C", alt, "CFLAGS=-O1 -g -march=native -fsanitize=address,undefined -fno-omit-frame-pointer "
             "-fno-sanitize-recover=all"])
    if check(r.returncode == 0, f"the sanitizer build of llmc-run builds ({r.stderr[-300:]})"):
        shutil.copy(mb, work)
        r = run([os.path.join(alt, "llmc-run"), "--model", work] + args, env=shim_env(work, truncate=size // 3))
        check(no_crash(r) and r.returncode == 3 and "the model file shrank while" in r.stderr,
              f"sanitizer build: model.bin truncated while running: exit 3, no report ({r.returncode}: {r.stderr[-300:]})")

    # the record table: overlapping records are refused
    blob = bytearray(open(mb, "rb").read())
    recs = sorted(records(blob))
    (a_off, a_n, _), (_, _, b_i) = recs[0], recs[1]
    struct.pack_into("<Q", blob, 128 + 128 * b_i + 80 + 4 * 4 + 8 * 2, a_off + 64 if a_n > 64 else a_off)
    bad = os.path.join(TMP, "overlap.bin")
    with open(bad, "wb") as f:
        f.write(blob)
    r = run([exe, "--model", bad] + args)
    check(r.returncode == 3 and "overlap" in r.stderr, f"overlapping records refused at load ({r.returncode}: {r.stderr[-300:]})")
    blob = bytearray(open(mb, "rb").read())
    struct.pack_into("<Q", blob, 128 + 128 * recs[-1][2] + 80 + 4 * 4 + 8 * 2, recs[0][0])  # the last one onto the first
    with open(bad, "wb") as f:
        f.write(blob)
    r = run([exe, "--model", bad] + args)
    check(r.returncode == 3 and ("overlap" in r.stderr or "bytes" in r.stderr),
          f"a record moved onto another refused ({r.returncode}: {r.stderr[-300:]})")

    # numeric options
    for opt, val in (("--temperature", "1e-45"), ("--temperature", "0.0009"), ("--temperature", "nan"),
                     ("--temperature", "inf"), ("--temperature", "-1"), ("--temperature", "2e6"),
                     ("--top-p", "1.5"), ("--top-p", "nan"), ("--top-k", "-1"), ("--seed", "-1"), ("-n", "-1"),
                     ("--threads", "0"), ("--threads", "999"), ("--reps", "0"), ("--bench-prompt", "0"),
                     ("--bench-prompt", "65")):
        r = run([exe, "--prompt-ids", "1,2", opt, val])
        check(r.returncode == 2 and opt.lstrip("-") in r.stderr, f"llmc-run {opt} {val}: usage error, exit 2 ({r.returncode}: {r.stderr[-200:]})")
    r = run([exe, "--prompt-ids", "1,2", "-n", "8", "--temperature", "1e-3", "--seed", "1"])
    greedy = run([exe, "--prompt-ids", "1,2", "-n", "8"])
    check(r.returncode == 0 and r.stdout == greedy.stdout, f"--temperature 1e-3 samples (practically greedy) ({r.stderr[-200:]})")
    r = run([exe, "--prompt-ids", "1,2", "-n", "8", "--temperature", "1e6", "--seed", "1", "--top-k", "5", "--top-p", "0.5"])
    check(r.returncode == 0 and len(r.stdout.strip().split(",")) == 8, f"--temperature 1e6 samples ({r.stderr[-200:]})")

    # NaN weights imported on purpose: the runtime refuses to sample from NaN logits
    src = make_checkpoint("f32")
    _, h = st_header(src)
    nan_ck = os.path.join(TMP, "nan_for_rt.safetensors")
    poke(src, nan_ck, "model.norm.weight", 3, "NaN")
    cpu = build_runtime("rt_nan", weights=nan_ck, allow=True)
    r = run([os.path.join(cpu, "llmc-run"), "--prompt-ids", "1,2,3", "-n", "3"])
    check(r.returncode == 3 and "non-finite logit" in r.stderr and r.stdout.strip() == "",
          f"llmc-run with NaN weights: exit 3 at the first token, not garbage ({r.returncode}: {r.stdout.strip()} {r.stderr[-300:]})")


def main():
    for path in (SHIM,):
        if not os.path.exists(path):
            print(f"FAIL: {path} is not built (cmake --build)")
            return 1
    if shutil.which("make") is None:
        print("FAIL: the llmc-run tests need make and a C compiler")
        return 1
    return CHECKS.run_all([test_plugins, test_nonfinite_checkpoints, test_truncated_checkpoint, test_llmc_run], TMP)


if __name__ == "__main__":
    sys.exit(main())
