#!/usr/bin/env python3
"""SentencePiece (Debian's python3-sentencepiece) as a test oracle for llmc's tokenizer.model files.

  spm_tokenizer.py encode MODEL [FILE|-]           one line of comma-separated ids per input line
                                                   (the format of `llmc tokenize`)
  spm_tokenizer.py decode MODEL [FILE|-] [--json]  one decoded text per line of ids (--json: each as
                                                   a JSON string, so any text stays on its line)
  spm_tokenizer.py count MODEL FILE                {"lines", "bytes", "tokens", "bytes_per_token"}
  spm_tokenizer.py info MODEL                      vocabulary size and special ids as JSON

Lines are split at "\\n" only (a final "\\n" does not start another line) and must be UTF-8; the
processor is used as loaded (no BOS/EOS added, no sampling)."""
import json
import sys


def die(msg, code=1):
    print(f"spm_tokenizer: {msg}", file=sys.stderr)
    sys.exit(code)


def load(model):
    try:
        import sentencepiece as spm
    except ImportError:
        die("python3-sentencepiece is not installed (scripts/setup.sh --test installs it)", 3)
    sp = spm.SentencePieceProcessor()
    try:
        sp.Load(model)
    except (OSError, RuntimeError) as e:
        die(f"{model}: {e}")
    return sp


def read_lines(path):
    if path in (None, "-"):
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def text_lines(path):
    out = []
    for i, b in enumerate(read_lines(path)):
        try:
            out.append(b.decode("utf-8"))
        except UnicodeDecodeError as e:
            die(f"{path or '-'}:{i + 1}: not valid UTF-8 ({e.reason} at byte {e.start})")
    return out


def main(argv):
    if len(argv) < 2 or argv[0] not in ("encode", "decode", "count", "info"):
        die(__doc__.strip().split("\n\n")[0], 2)
    cmd, model = argv[0], argv[1]
    rest = [a for a in argv[2:] if not a.startswith("--")]
    flags = {a for a in argv[2:] if a.startswith("--")}
    sp = load(model)
    out = sys.stdout
    if cmd == "encode":
        for line in text_lines(rest[0] if rest else None):
            out.write(",".join(map(str, sp.EncodeAsIds(line))) + "\n")
    elif cmd == "decode":
        n = sp.GetPieceSize()
        for i, b in enumerate(read_lines(rest[0] if rest else None)):
            s = b.decode("ascii", "replace").strip()
            try:
                ids = [int(x) for x in s.split(",")] if s else []
            except ValueError:
                die(f"{rest[0] if rest else '-'}:{i + 1}: not a list of ids: {s[:80]}")
            if any(x < 0 or x >= n for x in ids):
                die(f"{rest[0] if rest else '-'}:{i + 1}: id out of range 0..{n - 1}")
            text = sp.DecodeIds(ids)
            out.write((json.dumps(text, ensure_ascii=False) if "--json" in flags else text) + "\n")
    elif cmd == "count":
        if not rest:
            die("count: which file?", 2)
        lines = text_lines(rest[0])
        tokens = sum(len(sp.EncodeAsIds(line)) for line in lines)
        nbytes = sum(len(line.encode()) for line in lines)
        out.write(json.dumps({"lines": len(lines), "bytes": nbytes, "tokens": tokens,
                              "bytes_per_token": nbytes / tokens if tokens else None}) + "\n")
    else:
        info = {"vocab_size": sp.GetPieceSize(), "unk_id": sp.unk_id(), "bos_id": sp.bos_id(),
                "eos_id": sp.eos_id(), "pad_id": sp.pad_id()}
        out.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
