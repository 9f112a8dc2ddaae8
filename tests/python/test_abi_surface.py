"""libllmc exports exactly the SDK (ctest: python_test_abi_surface).

Environment (set by ctest): LLMC_SOURCE_DIR, LLMC_BINARY_DIR.

The SDK is what sdk/include/llmc/*.h declares LLMC_API; the headers are read here on their own
(comments stripped, declarations over several lines joined), not through the version script the
build generates from them, so a header the build misreads, a declaration without a definition, or
an internal function that leaks into the dynamic symbol table all fail. In-tree plugins may only
import what libllmc exports (they would not load otherwise): that is checked too.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile

from llmc_testlib import run_tests

SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LLMC_BINARY_DIR", os.path.join(SRC, "build"))
TMP = tempfile.mkdtemp(prefix="llmc-test-abi-")
LIB = os.path.join(BIN, "libllmc.so")


def sdk_declared():
    names = set()
    for h in sorted(glob.glob(os.path.join(SRC, "sdk", "include", "llmc", "*.h"))):
        text = open(h, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        text = re.sub(r"#define[^\n]*(\\\n[^\n]*)*", " ", text)
        for m in re.finditer(r"\bLLMC_API\b([^;{]*?)\b(llmc_[A-Za-z0-9_]+)\s*\(", text):
            names.add(m.group(2))
    return names


def dynamic_symbols(path, which):
    out = subprocess.run(["nm", "-D", which, path], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_exports_equal_sdk():
    declared = sdk_declared()
    assert len(declared) > 150, f"read only {len(declared)} SDK declarations: the header parser is broken"
    exported = dynamic_symbols(LIB, "--defined-only")
    missing = sorted(declared - exported)
    extra = sorted(exported - declared)
    assert not missing, f"declared in sdk/include/llmc but not exported by libllmc: {missing}"
    assert not extra, f"exported by libllmc but declared in no SDK header: {extra}"


def test_plugins_import_only_sdk():
    exported = dynamic_symbols(LIB, "--defined-only")
    plugins = sorted(glob.glob(os.path.join(BIN, "plugins", "*", "*.so")))
    assert plugins, f"no plugins under {BIN}/plugins"
    bad = []
    for so in plugins:
        for sym in dynamic_symbols(so, "--undefined-only"):
            if sym.startswith("llmc_") and sym not in exported:
                bad.append(f"{os.path.relpath(so, BIN)}: {sym}")
        # a plugin exports its entry point and nothing of the core it may carry a private copy of
        for sym in dynamic_symbols(so, "--defined-only"):
            if sym.startswith("llmc_") and sym != "llmc_plugin_entry":
                bad.append(f"{os.path.relpath(so, BIN)} exports {sym}")
    assert not bad, "plugins and libllmc disagree:\n  " + "\n  ".join(bad)


if __name__ == "__main__":
    if not shutil.which("nm"):
        raise SystemExit("nm (binutils) is required")
    raise SystemExit(run_tests([test_exports_equal_sdk, test_plugins_import_only_sdk], TMP))
