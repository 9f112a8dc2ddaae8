"""Every example in README.md and docs/*.md runs as written (ctest: python_test_docs).

Environment (set by ctest): LLMC (the llmc binary), LLMC_SOURCE_DIR, LLMC_BINARY_DIR.

The examples are pulled out of the Markdown, not copied here, so a doc that changes is tested as
it now reads:
* ```yaml / ```json blocks that are specs solve (`llmc solve`, exit 0); a spec followed by a
  block of `spec.yaml:line:col:` errors gives exactly those errors (exit 1); a block whose first
  line names a file under config/ agrees with that file, key by key; a `constraints:` block
  solves inside a small spec; an llmc.yaml block loads (`llmc --config FILE plugins`); an
  ir.json block loads (`llmc inspect`); a manifest.json excerpt names only keys a real one has;
* every command line in a code block (`llmc ...`, `build/llmc ...`, `make -C OUT/cpu`,
  `OUT/cpu/llmc-run ...`, `python3 OUT/pytorch/train.py ...`, `torchrun ...`) runs in order in a
  fresh folder, exit 0; the placeholders the docs use stand for real things there: spec.yaml and
  model.yaml for a small spec, input.txt for a text file, OUT and the like for fresh folders,
  config/... for the repository's config. Synopsis lines (`llmc [--config FILE] ... COMMAND`)
  are not examples.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from llmc_testlib import run_tests

LLMC = os.environ.get("LLMC", "llmc")
SRC = os.environ.get("LLMC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP = tempfile.mkdtemp(prefix="llmc-test-docs-")
# specs that train a tokenizer cache it: here, not in the user's ~/.cache (docs/spec.md "The training cache")
os.environ["XDG_CACHE_HOME"] = os.path.join(TMP, "cache")
os.environ.pop("LLMC_CACHE_DIR", None)
DOCS = [os.path.join(SRC, "README.md")] + sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))
# a spec small enough to compile, emit, train and run in seconds (vocab >= 256 for byte-level training)
SMALL_SPEC = "target_params: 120K\nvocab_size: 256\ncontext_length: 64\n"
TEXT = "The quick brown fox jumps over the lazy dog.\n" * 200
COMMANDS = ("llmc", "build/llmc", "make", "OUT/cpu/llmc-run", "python3", "/usr/bin/python3", "torchrun")


def blocks(path):
    """(lang, first line number, lines) of every fenced block, and ('indented', ...) of every
    4-space indented block."""
    out, fence, indented = [], None, None
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines, 1):
        if fence is not None:
            if line.startswith("```"):
                out.append(fence)
                fence = None
            else:
                fence[2].append(line)
            continue
        m = re.match(r"^```(\w*)\s*$", line)
        if m:
            if indented:
                out.append(indented)
                indented = None
            fence = (m.group(1) or "text", i + 1, [])
            continue
        if line.startswith("    ") and not line.lstrip().startswith(("|", "*", "-")):
            if indented is None:
                indented = ("indented", i, [])
            indented[2].append(line[4:])
        elif line.strip() and indented is not None:
            out.append(indented)
            indented = None
    if indented:
        out.append(indented)
    return out


def run(cmd, cwd, ok=True, timeout=900, shell=False):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, shell=shell)
    if ok and r.returncode != 0:
        raise AssertionError(f"{cmd} (in {cwd}) exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return r


def fresh(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "spec.yaml"), "w") as f:
        f.write("name: spec\n" + SMALL_SPEC)
    with open(os.path.join(d, "model.yaml"), "w") as f:
        f.write("name: model\n" + SMALL_SPEC)
    with open(os.path.join(d, "input.txt"), "w") as f:
        f.write(TEXT)
    os.symlink(os.path.join(SRC, "config"), os.path.join(d, "config"))
    return d


def write_corpus(path):
    """A training text for the tokenizer examples: 3 MB of pseudo-random words (generated, so that
    it can fill a 32000-id vocabulary; nothing third-party)."""
    import random
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz" * 3 + "äéöüß"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(60000)]
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(50000):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n")
        f.write("Hello world\n")


def where(path, line):
    return f"{os.path.relpath(path, SRC)}:{line}"


def spec_keys(text):
    """top-level `key: value` lines of a YAML text (comments dropped)"""
    keys = {}
    for line in text.split("\n"):
        m = re.match(r"^([a-z_]+):\s*(\S.*?)\s*(#.*)?$", line)
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


def check_spec_block(path, line, lang, text, following):
    d = fresh(f"spec-{os.path.basename(path)}-{line}")
    name = "spec.json" if lang == "json" else "spec.yaml"
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
    if following and following[2] and following[2][0].startswith("spec.yaml:"):
        r = run([LLMC, "solve", name], d, ok=False)
        assert r.returncode == 1, f"{where(path, line)}: expected exit 1, got {r.returncode}"
        got = [l for l in r.stderr.split("\n") if l.startswith("spec.yaml:")]
        want = [l for l in following[2] if l.strip()]
        assert got == want, f"{where(path, line)}: errors differ from the docs:\n{r.stderr}\n--- docs:\n" + "\n".join(want)
        return f"{len(want)} errors as documented"
    m = re.match(r"^#\s*(config/\S+\.yaml)", text)
    if m:  # the block shows a file of the repository: they must agree
        with open(os.path.join(SRC, m.group(1))) as f:
            file_keys = spec_keys(f.read())
        for k, v in spec_keys(text).items():
            assert file_keys.get(k) == v, f"{where(path, line)}: {k}: {v} but {m.group(1)} says {file_keys.get(k)}"
    r = run([LLMC, "solve", name, "--json"], d, ok=False)
    assert r.returncode == 0, f"{where(path, line)}: spec does not solve:\n{text}\n{r.stderr}"
    return f"solves ({json.loads(r.stdout)['parameters']:,} parameters)"


def check_block(path, line, lang, text, following):
    if (lang == "yaml" and re.search(r"^vocab_size\s*:", text, re.M)) or (lang == "json" and '"vocab_size"' in text):
        return check_spec_block(path, line, lang, text, following)
    d = fresh(f"block-{os.path.basename(path)}-{line}")
    if lang == "yaml" and text.lstrip().startswith("constraints:"):
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write("target_params: 1B\nvocab_size: 32000\n" + text)
        run([LLMC, "solve", "c.yaml"], d)
        return "constraints solve inside a 1B spec"
    if lang == "yaml" and re.search(r"^(plugin_paths|defaults|plugins|allow|disable):", text, re.M):
        with open(os.path.join(d, "llmc.yaml"), "w") as f:
            f.write(text)
        r = run([LLMC, "--config", "llmc.yaml", "plugins"], d)
        assert "template" in r.stdout, r.stdout
        return "config loads"
    if lang == "json" and '"llmc-manifest/' in text:
        # an excerpt ("...") of OUT/manifest.json: a real one has every key and format it shows
        run([LLMC, "compile", "spec.yaml", "-o", "OUT", "--emit", "gguf"], d)
        with open(os.path.join(d, "OUT", "manifest.json")) as f:
            real = json.load(f)
        assert real["format"] == re.search(r'"format": "([^"]+)"', text).group(1), real["format"]
        flat = json.dumps(real)
        for key in sorted(set(re.findall(r'"(\w+)":', text))):
            assert f'"{key}":' in flat, f"manifest key {key} of the docs is not in a real manifest"
        return "a real manifest has every key of the excerpt"
    if lang == "json" and '"format_version"' in text:
        with open(os.path.join(d, "ir.json"), "w") as f:
            f.write(text)
        run([LLMC, "inspect", "ir.json"], d)
        return "ir.json loads"
    return None


def command_lines(lines):
    """the runnable lines of a code block, continuation lines joined"""
    out, cur = [], ""
    for raw in lines:
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if cur:
            cur += " " + line
        elif line.split(" ", 1)[0] in COMMANDS:
            cur = line
        else:
            continue
        if cur.endswith("\\"):
            cur = cur[:-1]
            continue
        cmd = re.sub(r"\s+#.*$", "", cur)  # trailing comments
        cur = ""
        if re.match(r"^\S+ \[", cmd) or re.search(r"\w\|\w", cmd):
            continue  # a synopsis: llmc [--config FILE] ..., --type bpe|unigram ...
        if "COMMAND" in cmd or "<" in cmd:
            continue
        out.append(cmd)
    return out


def run_command(cmd, d):
    words = shlex.split(cmd)
    if words[0] in ("llmc", "build/llmc"):
        words[0] = LLMC
    elif words[0] == "/usr/bin/python3" or words[0] == "python3":
        words[0] = "/usr/bin/python3"
    words = [w.replace("build/plugins", os.path.join(os.environ.get("LLMC_BINARY_DIR", ""), "plugins")) for w in words]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    r = subprocess.run(words, cwd=d, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        raise AssertionError(f"`{cmd}` exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")


def every_example():
    """All blocks of all docs: (path, line, lang, text, following block)."""
    for path in DOCS:
        bs = blocks(path)
        for i, (lang, line, lines) in enumerate(bs):
            yield path, line, lang, lines, bs[i + 1] if i + 1 < len(bs) else None


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def spec_and_config_blocks():
    """Every spec, constraints, config and ir.json block in the docs."""
    n = 0
    for path, line, lang, lines, following in every_example():
        if lang not in ("yaml", "json"):
            continue
        what = check_block(path, line, lang, "\n".join(lines) + "\n", following)
        assert what, f"{where(path, line)}: a {lang} block this test does not know how to run:\n" + "\n".join(lines)
        print(f"  {where(path, line)}: {what}")
        n += 1
    assert n >= 8, f"only {n} blocks found"


@test
def command_blocks():
    """Every command line in the docs' code blocks, block by block in a fresh folder."""
    n = 0
    for path, line, lang, lines, _ in every_example():
        if lang not in ("indented", "text", "sh", "bash"):
            continue
        cmds = command_lines(lines)
        if not cmds:
            continue
        d = fresh(f"cmd-{os.path.basename(path)}-{line}")
        if any("corpus.txt" in cmd for cmd in cmds):
            write_corpus(os.path.join(d, "corpus.txt"))
        for cmd in cmds:
            run_command(cmd, d)
            print(f"  {where(path, line)}: {cmd}")
            n += 1
    assert n >= 10, f"only {n} commands found"


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, TMP))
