#!/usr/bin/env python3
"""Assemble deterministic tokenizer corpora from text that installed Debian packages ship.

Nothing is downloaded and no third-party text lives in the repository: the corpora are built at
test (or benchmark) time from

  * man pages in Japanese, Russian, German, Chinese (zh_CN + zh_TW) and French
    (manpages-ja, manpages-ru, manpages-de, manpages-zh, manpages-fr; scripts/setup.sh --test),
    gunzipped and stripped of roff markup by the small macro stripper below (man/groff are not
    needed);
  * English: the man pages in /usr/share/man/man*/ and the plain-text documentation in
    /usr/share/doc (changelogs, NEWS, READMEs, copyright files, *.txt / *.md / *.rst).

and, generated from code points in this file (no external text at all):

  * tricky.txt: held-out lines built to stress pre-tokenizers and normalisers (precomposed and
    decomposed accents, stacked combining marks, Cyrillic, CJK, kana, Hangul syllables and jamo,
    RTL scripts, emoji with skin-tone modifiers, ZWJ sequences, flags and keycaps, unusual spaces,
    runs of spaces and tabs, digits, contractions, punctuation runs, characters outside the BMP);
  * invalid_utf8.txt: lines holding malformed UTF-8 (lone continuation bytes, overlong forms,
    encoded surrogates, truncated sequences, bytes above U+10FFFF) between valid text;
  * random_bytes.txt: lines of pseudo-random bytes (anything but 0x0A).

Selection is deterministic: every source file gets a key sha1(language/relative path); files whose
key falls in the held-out decile go to heldout.txt, the rest to train.txt, each list in key order
(a fixed pseudo-random permutation that does not depend on directory order). Identical documents
(e.g. one changelog shipped by ten gnupg packages) are kept once. Languages are interleaved by
weight (English 1/2, each other language 1/10) so that every prefix of train.txt has the same mix;
a language that runs out leaves its share to the others. train.txt for --train-mb 25 is therefore
a prefix of the one for --train-mb 100.

Text hygiene for train.txt / heldout.txt: strict UTF-8 (files that do not decode are skipped), no
control characters other than tab and newline, no BOMs, lines longer than 1000 characters are
wrapped at a space, runs of blank lines collapsed.

Usage:
  make_corpus.py -o DIR [--train-mb 4] [--heldout-kb 256] [--langs en,de,fr,ja,ru,zh]

Writes DIR/train.txt, DIR/heldout.txt, DIR/tricky.txt, DIR/invalid_utf8.txt, DIR/random_bytes.txt
and DIR/manifest.json (parameters, sizes, per-language bytes, sha256 of each file). A second run
with the same parameters and an unchanged script reuses DIR (checked through the manifest).
Exit 1 (with the amounts) when the installed packages do not hold enough text for --train-mb."""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys

MAN_ROOT = "/usr/share/man"
DOC_ROOT = "/usr/share/doc"
LANG_WEIGHTS = {"en": 0.5, "de": 0.1, "fr": 0.1, "ja": 0.1, "ru": 0.1, "zh": 0.1}
MAN_LANG_DIRS = {"de": ["de"], "fr": ["fr"], "ja": ["ja"], "ru": ["ru"], "zh": ["zh_CN", "zh_TW"],
                 "es": ["es"], "it": ["it"], "pl": ["pl"], "ko": ["ko"], "pt": ["pt", "pt_BR"]}
HELDOUT_DECILE = 0
MAX_LINE_CHARS = 1000     # < 4192 bytes: spm_train skips longer sentences
MIN_DOC_CHARS = 200

# ---------------------------------------------------------------------------------------------
# roff (man(7) / mdoc(7) / tbl) to plain text
# ---------------------------------------------------------------------------------------------

# \(xx and \[xx] special characters that carry text; anything else is dropped.
SPECIAL_CHARS = {
    "em": "\u2014", "en": "\u2013", "hy": "-", "mi": "-", "bu": "\u2022", "aq": "'", "dq": '"',
    "lq": "\u201c", "rq": "\u201d", "oq": "\u2018", "cq": "\u2019", "Fo": "\u00ab", "Fc": "\u00bb",
    "fo": "\u2039", "fc": "\u203a", "co": "\u00a9", "rg": "\u00ae", "tm": "\u2122", "mu": "\u00d7",
    "di": "\u00f7", "de": "\u00b0", "+-": "\u00b1", ">=": "\u2265", "<=": "\u2264", "!=": "\u2260",
    "->": "\u2192", "<-": "\u2190", "ha": "^", "ti": "~", "ga": "`", "aa": "\u00b4", "rs": "\\",
    "sl": "/", "ba": "|", "br": "|", "or": "|", "sc": "\u00a7", "ps": "\u00b6", "dg": "\u2020",
    "ct": "\u00a2", "Po": "\u00a3", "Eu": "\u20ac", "eu": "\u20ac", "Ye": "\u00a5", "ss": "\u00df",
    "'e": "\u00e9", "`e": "\u00e8", "^e": "\u00ea", ":a": "\u00e4", ":o": "\u00f6", ":u": "\u00fc",
    ":A": "\u00c4", ":O": "\u00d6", ":U": "\u00dc", ",c": "\u00e7", "'a": "\u00e1", "`a": "\u00e0",
    "nbsp": " ", "lB": "[", "rB": "]", "lC": "{", "rC": "}", "la": "\u27e8", "ra": "\u27e9",
    "sq": "\u25a1", "ci": "\u25cb", "pc": "\u00b7", "r!": "\u00a1", "r?": "\u00bf", "12": "\u00bd",
    "14": "\u00bc", "34": "\u00be", "OK": "\u2713", "no": "\u00ac", "if": "\u221e",
}
STRINGS = {"R": "\u00ae", "Tm": "\u2122", "lq": "\u201c", "rq": "\u201d", "Aq": "'", "q": '"'}
ONE_CHAR_ESCAPES = {"-": "-", "e": "\\", "\\": "\\", " ": " ", "~": " ", "0": " ", "t": "\t",
                    "'": "\u00b4", "`": "`", ".": ".", "E": "\\"}

ROFF_ESCAPE = re.compile(r"""\\(?:
     f(?:\[[^\]]*\]|\(..|.)            # font change
   | s[+-]?(?:\(\d\d|\[\d+\]|\d)       # point size
   | [hvwlLNbDoXZxSABHC]'[^']*'        # escapes with a quoted argument
   | \*(?:\[(?P<sb>[^\]]*)\]|\((?P<sp>..)|(?P<s1>.))   # defined strings
   | [nk][+-]?(?:\[[^\]]*\]|\(..|.)    # number registers, marks
   | \((?P<cp>..)                      # special character \(xx
   | \[(?P<cb>[^\]]*)\]                # special character \[xx]
   | (?P<one>.)                        # one-character escapes
   | $)""", re.X)


def _roff_escape(m):
    name = m.group("cp") or m.group("cb")
    if name is not None:
        if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}(_[0-9A-Fa-f]{4,6})*", name):
            try:
                return "".join(chr(int(p.lstrip("u"), 16)) for p in name.split("_"))
            except ValueError:
                return ""
        return SPECIAL_CHARS.get(name, "")
    s = m.group("sb") or m.group("sp") or m.group("s1")
    if s is not None:
        return STRINGS.get(s, "")
    one = m.group("one")
    if one is not None:
        return ONE_CHAR_ESCAPES.get(one, "")
    return ""


def roff_inline(text):
    """Resolve escapes in one line of roff text."""
    cut = re.search(r'(?<!\\)\\["#]', text)          # \" and \# start a comment
    if cut:
        text = text[:cut.start()]
    return ROFF_ESCAPE.sub(_roff_escape, text)


def roff_args(rest):
    """Split macro arguments the way roff does: blanks separate, "..." groups, "" is a quote."""
    args, cur, i, quoted, have = [], [], 0, False, False
    while i < len(rest):
        c = rest[i]
        if quoted:
            if c == '"':
                if i + 1 < len(rest) and rest[i + 1] == '"':
                    cur.append('"')
                    i += 1
                else:
                    quoted = False
            else:
                cur.append(c)
        elif c == '"' and not cur:
            quoted, have = True, True
        elif c in " \t":
            if cur or have:
                args.append("".join(cur))
            cur, have = [], False
        else:
            cur.append(c)
        i += 1
    if cur or have:
        args.append("".join(cur))
    return args


# man(7) macros whose arguments are text, joined with a blank (heads, fonts) or without one
# (alternating fonts).
JOIN_BLANK = {"SH", "SS", "B", "I", "SM", "SB", "IP", "HP", "TQ", "UR", "MT", "OP", "SY", "Nd",
              "Sh", "Ss", "Nm", "Dt", "D1", "Dl", "Bd", "It", "Pp"}
JOIN_TIGHT = {"BR", "BI", "IB", "IR", "RB", "RI"}
PARAGRAPH = {"PP", "LP", "P", "sp", "SH", "SS", "TP", "IP", "HP", "Pp", "Sh", "Ss", "br", "RS",
             "RE", "Bl", "El", "Ed"}
MDOC_CALLABLE = re.compile(r"^(Ac|Ad|An|Ao|Ap|Aq|Ar|At|Bc|Bo|Bq|Brc|Bro|Brq|Bsx|Bx|Cd|Cm|Dc|Do|Dq|"
                           r"Dv|Dx|Ec|Em|En|Eo|Er|Es|Ev|Fa|Fc|Fl|Fn|Fo|Fr|Ft|Fx|Ic|Li|Lk|Ms|Mt|Nm|"
                           r"No|Ns|Nx|Oc|Oo|Op|Ot|Ox|Pa|Pc|Pf|Po|Pq|Qc|Ql|Qo|Qq|Sc|So|Sq|St|Sx|Sy|"
                           r"Tn|Ux|Va|Vt|Xc|Xo|Xr)$")


def strip_roff(src):
    """Plain text of a man page (man(7), mdoc(7), tbl tables); None for a `.so` redirect."""
    out = []
    lines = src.split("\n")
    i, n = 0, len(lines)
    skip_until = None       # end marker of a block being skipped (.de ... .., .EQ ... .EN)
    brace_depth = 0         # inside a skipped \{ ... \} conditional block
    table = None            # None, "format" (reading tbl options/format lines) or "data"
    while i < n:
        line = lines[i]
        i += 1
        if skip_until is not None:
            if line.strip() == skip_until or line.startswith(skip_until + " "):
                skip_until = None
            continue
        if brace_depth:
            brace_depth += line.count("\\{") - line.count("\\}")
            brace_depth = max(brace_depth, 0)
            continue
        if line.startswith((".", "'")):
            body = line[1:].lstrip(" \t")
            m = re.match(r"(\S*)\s*(.*)$", body)
            name, rest = m.group(1), m.group(2)
            if name.startswith(('\\"', "\\#")) or name == "":
                continue
            if name in ("de", "de1", "am", "ami", "ig"):
                skip_until = ".." if name != "ig" or not rest.strip() else "." + rest.split()[0]
                continue
            if name in ("EQ", "PS", "G1"):
                skip_until = {"EQ": ".EN", "PS": ".PE", "G1": ".G2"}[name]
                continue
            if name == "TS":
                table = "format"
                continue
            if name == "TE":
                table = None
                continue
            if name == "so":
                if not out and all(not ln.strip() or ln.startswith((".", "'")) for ln in lines[i:]):
                    return None
                continue
            if name in ("if", "ie", "el", "while"):
                if "\\{" in line:
                    brace_depth = line.count("\\{") - line.count("\\}")
                continue
            if name in ("T{", "T}"):
                continue
            if name in PARAGRAPH:
                out.append("")
            if name in JOIN_BLANK or name in JOIN_TIGHT:
                args = [roff_inline(a) for a in roff_args(rest)]
                if name in ("IP", "HP"):
                    args = args[:1]
                if name in ("UR", "MT"):
                    args = []
                if name[:1].isupper() and name[1:2].islower():   # mdoc: drop callable macro names
                    args = [a for a in args if not MDOC_CALLABLE.match(a)]
                text = ("" if name in JOIN_TIGHT else " ").join(a for a in args if a)
                if text.strip():
                    out.append(text)
            elif name[:1].isupper() and name[1:2].islower() and MDOC_CALLABLE.match(name):
                args = [roff_inline(a) for a in roff_args(rest) if not MDOC_CALLABLE.match(a)]
                if name == "Fl":
                    args = ["-" + a for a in args] or ["-"]
                text = " ".join(a for a in args if a)
                if text.strip():
                    out.append(text)
            continue
        if table == "format":
            if line.rstrip().endswith("."):
                table = "data"
            continue
        if table == "data":
            if line.strip() in ("_", "=", "T{", "T}"):
                continue
            line = line.replace("T{", "").replace("T}", "")
            text = " ".join(c.strip() for c in roff_inline(line).split("\t") if c.strip())
        else:
            text = roff_inline(line)
        out.append(text)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------------

DOC_NAME = re.compile(r"^(changelog|news|readme|copyright|authors|thanks|todo|faq|history|changes|"
                      r"bugs|credits|notice|contributing)([._-].*)?$|\.(txt|md|rst)$", re.I)
DOC_SKIP_PARTS = ("/examples/", "/example/", "/test", "/html/", "/api/")
# Not Debian's: the Google Cloud CLI (on some images) ships ~16,000 near-identical generated pages.
MAN_SKIP = re.compile(r"^(gcloud|bq|gsutil)[_.]")


def _key(lang, rel):
    return hashlib.sha1(f"{lang}/{rel}".encode()).hexdigest()


def list_sources(langs):
    """{lang: [(key, path), ...]} sorted by key; symlinks and non-files left out."""
    sources = {lang: [] for lang in langs}

    def add(lang, root, rel):
        path = os.path.join(root, rel)
        if os.path.islink(path) or not os.path.isfile(path):
            return
        sources[lang].append((_key(lang, os.path.relpath(path, "/usr/share")), path))

    for lang in langs:
        if lang == "en":
            for d in sorted(os.listdir(MAN_ROOT)) if os.path.isdir(MAN_ROOT) else []:
                if re.fullmatch(r"man[1-9][a-z0-9]*", d):
                    for r, _, fs in os.walk(os.path.join(MAN_ROOT, d)):
                        for f in fs:
                            if not MAN_SKIP.match(f):
                                add(lang, r, f)
            for r, _, fs in os.walk(DOC_ROOT):
                if any(p in r + "/" for p in DOC_SKIP_PARTS):
                    continue
                for f in fs:
                    base = f[:-3] if f.endswith(".gz") else f
                    if DOC_NAME.search(base):
                        add(lang, r, f)
        else:
            for sub in MAN_LANG_DIRS.get(lang, [lang]):
                root = os.path.join(MAN_ROOT, sub)
                for r, _, fs in os.walk(root):
                    for f in fs:
                        add(lang, r, f)
    for lang in sources:
        sources[lang].sort()
    return sources


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")


def clean_text(text):
    """Hygiene for train/held-out text (see the module docstring)."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n"))
    out, blank = [], True
    for line in text.split("\n"):
        line = line.rstrip()
        if not line:
            if not blank:
                out.append("")
            blank = True
            continue
        blank = False
        while len(line) > MAX_LINE_CHARS:
            cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS)
            if cut < 0:
                cut = MAX_LINE_CHARS
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        if line:
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def read_document(path):
    """Plain text of one source file, or None (not UTF-8, a man redirect, too short)."""
    try:
        with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
            raw = f.read()
    except (OSError, EOFError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if path.startswith(MAN_ROOT + "/"):
        text = strip_roff(text)
        if text is None:
            return None
    text = clean_text(text)
    if len(text) < MIN_DOC_CHARS:
        return None
    letters = sum(1 for c in text[:4000] if c.isalpha() or c.isspace())
    if letters < 0.6 * min(len(text), 4000):       # mostly symbols: tables of numbers, code dumps
        return None
    return text


def chunks(text, max_bytes):
    """Pieces of text of at most max_bytes (UTF-8), cut at line boundaries (a longer line is a
    piece of its own)."""
    piece, size = [], 0
    for line in text.split("\n"):
        b = len(line.encode()) + 1
        if piece and size + b > max_bytes:
            yield "\n".join(piece).strip("\n")
            piece, size = [], 0
        piece.append(line)
        size += b
    if piece:
        yield "\n".join(piece).strip("\n")


def documents(entries, seen, max_bytes, first_chunk_only=False):
    """Yield (path, text) for the entries, skipping duplicates (by content) across all calls;
    documents longer than max_bytes come as several pieces (or only the first one), so one huge
    changelog does not fill a small corpus on its own."""
    for _, path in entries:
        text = read_document(path)
        if text is None:
            continue
        h = hashlib.sha1(text.encode()).digest()
        if h in seen:
            continue
        seen.add(h)
        for piece in chunks(text, max_bytes):
            if piece:
                yield path, piece
            if first_chunk_only:
                break


def write_mix(path, streams, weights, limit_bytes):
    """Interleave documents from the per-language streams by weight until limit_bytes: the next
    document always comes from the language furthest below its share. Returns bytes per language."""
    written = {lang: 0 for lang in streams}
    live = dict(streams)
    total = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        while live and total < limit_bytes:
            lang = min(live, key=lambda l: (written[l] / weights[l], l))
            try:
                _, text = next(live[lang])
            except StopIteration:
                del live[lang]
                continue
            data = text + "\n\n"
            room = limit_bytes - total
            if len(data.encode()) > room:
                # cut the last document at a line boundary so the file ends near the limit
                lines, kept, size = data.split("\n"), [], 0
                for ln in lines:
                    b = len(ln.encode()) + 1
                    if size + b > room:
                        break
                    kept.append(ln)
                    size += b
                data = "\n".join(kept) + "\n" if kept else ""
            if not data:
                break
            f.write(data)
            n = len(data.encode())
            written[lang] += n
            total += n
    return written


# ---------------------------------------------------------------------------------------------
# generated held-out text: tricky Unicode, invalid UTF-8, random bytes
# ---------------------------------------------------------------------------------------------

def _word(rng, lo, hi, n_lo=2, n_hi=9):
    return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(n_lo, n_hi)))


def tricky_lines():
    """Held-out lines made from code points (deterministic)."""
    rng = random.Random(20240615)
    C = chr
    L = []
    # Latin with precomposed accents, then the same words decomposed (NFD), then stacked marks.
    acc = [0xE9, 0xE8, 0xEA, 0xEB, 0xE0, 0xE2, 0xE4, 0xE7, 0xEE, 0xEF, 0xF4, 0xF6, 0xF9, 0xFB,
           0xFC, 0xF1, 0xDF, 0xC6, 0xE6, 0xF8, 0xE5, 0x153, 0x142, 0x159, 0x161, 0x17E, 0x11F,
           0x131, 0x130, 0x15F, 0x1EBF, 0x1EA1]
    for k in range(12):
        words = []
        for _ in range(rng.randint(3, 8)):
            w = _word(rng, 0x61, 0x7A, 1, 5) + C(rng.choice(acc)) + _word(rng, 0x61, 0x7A, 0, 4)
            words.append(w.capitalize() if rng.random() < 0.3 else w)
        L.append(" ".join(words))
    decomposed = {0xE9: "e\u0301", 0xE8: "e\u0300", 0xEA: "e\u0302", 0xEB: "e\u0308", 0xE0: "a\u0300",
                  0xE4: "a\u0308", 0xE7: "c\u0327", 0xF1: "n\u0303", 0xF6: "o\u0308", 0xFC: "u\u0308",
                  0xC5: "A\u030a", 0x1EBF: "e\u0302\u0301", 0x1EA1: "a\u0323"}
    for k in range(8):
        words = []
        for _ in range(rng.randint(3, 7)):
            cp = rng.choice(sorted(decomposed))
            pre = _word(rng, 0x61, 0x7A, 1, 4)
            words.append(pre + C(cp) + " " + pre + decomposed[cp])
        L.append(" ".join(words))
    marks = list(range(0x300, 0x36F))
    for k in range(4):
        L.append(" ".join(_word(rng, 0x61, 0x7A, 1, 3) + "".join(C(rng.choice(marks))
                          for _ in range(rng.randint(1, 6))) for _ in range(5)))
    L.append("\u0301\u0302 leading combining marks and a lone one: \u0308")
    L.append("Ångström vs A\u030angstro\u0308m vs \u212bngstr\u00f6m (U+212B)")
    L.append("ﬁnance ﬂow ﬀ ﬃ (ligatures) ｆｕｌｌｗｉｄｔｈ ＡＢＣ ① ² ½ ℌ ㎏ ㍻")
    # Cyrillic, Greek, Armenian, Georgian
    for lo, hi in ((0x430, 0x44F), (0x410, 0x42F), (0x3B1, 0x3C9), (0x561, 0x586), (0x10D0, 0x10F0)):
        for _ in range(3):
            L.append(" ".join(_word(rng, lo, hi) for _ in range(rng.randint(4, 10))) +
                     rng.choice([".", ",", "!", "?", ":", ";", " \u2014 ", "\u2026"]))
    L.append("Съешь же ещё этих мягких французских булок, да выпей чаю. Ёлка, йод, ЪЫЬ, ґ є і ї ў")
    # CJK ideographs, kana, Hangul syllables and conjoining jamo, mixed with Latin and digits
    for _ in range(5):
        L.append("".join(C(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(8, 30))) + "\u3002")
    for _ in range(3):
        L.append("".join(C(rng.randint(0x3041, 0x3096)) for _ in range(8)) + "\u3001" +
                 "".join(C(rng.randint(0x30A1, 0x30FA)) for _ in range(8)) + "\u30fc\u3002")
    for _ in range(5):
        L.append(" ".join(_word(rng, 0xAC00, 0xD7A3, 1, 5) for _ in range(rng.randint(3, 8))) + ".")
    L.append("\u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo) vs \ud55c\uae00 (syllables)")
    L.append("漢字かなカナ한글abc123「引用」『二重』（括弧）【見出し】…‥・〜")
    L.append("CJK ext B: \U00020000\U00020001\U0002A6D6 and U+3000:\u3000\u3000end")
    # right-to-left and other scripts without spaces or with marks
    for lo, hi in ((0x5D0, 0x5EA), (0x627, 0x64A), (0xE01, 0xE2E), (0x915, 0x939)):
        L.append(" ".join(_word(rng, lo, hi) for _ in range(6)))
    L.append("\u0939\u093f\u0928\u094d\u0926\u0940 \u0928\u092e\u0938\u094d\u0924\u0947 (Devanagari with virama)")
    L.append("\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u064e\u0651 \u05e2\u05d1\u05e8\u05d9\u05ea\u05bc "
             "\u200fRLM\u200e LRM \u202bembedding\u202c")
    L.append("\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07")
    # emoji: modifiers, ZWJ sequences, flags, keycaps, variation selectors
    skin = [0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF]
    hands = [0x1F44D, 0x1F44B, 0x270B, 0x1F64F, 0x1F44F, 0x1F590]
    L.append(" ".join(C(h) + C(s) for h in hands for s in skin[:3]))
    L.append("".join(C(h) + C(s) for h in hands for s in skin[2:]))
    zwj = "\u200d"
    L.append("family: \U0001F468" + zwj + "\U0001F469" + zwj + "\U0001F467" + zwj + "\U0001F466 "
             "kiss: \U0001F469" + zwj + "\u2764\ufe0f" + zwj + "\U0001F48B" + zwj + "\U0001F468 "
             "scientist: \U0001F469\U0001F3FF" + zwj + "\U0001F52C rainbow: \U0001F3F3\ufe0f" + zwj +
             "\U0001F308 pirate: \U0001F3F4" + zwj + "\u2620\ufe0f")
    L.append("flags: \U0001F1E9\U0001F1EA\U0001F1EB\U0001F1F7\U0001F1EF\U0001F1F5\U0001F1F0\U0001F1F7"
             " odd count: \U0001F1FA\U0001F1F8\U0001F1E6 England: \U0001F3F4\U000E0067\U000E0062"
             "\U000E0065\U000E006E\U000E0067\U000E007F")
    L.append("keycaps: 1\ufe0f\u20e3 #\ufe0f\u20e3 *\u20e3 text vs emoji: \u263a\ufe0e \u263a\ufe0f \u2764 \u2764\ufe0f")
    L.append("".join(C(rng.randint(0x1F600, 0x1F64F)) for _ in range(20)))
    L.append("mixed" + C(0x1F600) + "words" + C(0x1F680) + "without" + C(0x1F4A9) + "spaces" + C(0x1F914) + "!!")
    # spaces, tabs and other separators
    L.append("two  spaces   three    four     five")
    L.append("    leading four spaces")
    L.append("trailing spaces    ")
    L.append("\ttab\t\ttwo tabs\t \t mixed \t\t ")
    L.append("\t\t\t")
    L.append("     ")
    L.append(" ")
    L.append("")
    L.append("")
    L.append("no-break\u00a0space\u00a0\u00a0twice, thin\u2009space, em\u2003space, figure\u2007space,"
             " narrow\u202fno-break, ideographic\u3000space, ogham\u1680space")
    L.append("zero\u200bwidth\u200bspace, zw\u200cnon\u200djoiner, word\u2060joiner, soft\u00adhyphen,"
             " BOM\ufeffinside, line\u2028separator, paragraph\u2029separator, next\u0085line")
    L.append("vertical\x0btab and form\x0cfeed and unit\x1fseparator and escape\x1b[0m and bell\x07")
    # digits and numbers
    L.append("0 1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890")
    L.append("31415926535897932384626433832795028841971693993751058209749445923078164062862089986280")
    L.append("3.14159 2,718.28 1,000,000 1e-9 -42 +7 0x1F 0b1010 0o777 1_000_000 v1.2.3-rc.4 2024-06-15T12:34:56Z")
    L.append("\uff10\uff11\uff12\uff13 (fullwidth) \u0660\u0661\u0662\u0663 (Arabic-Indic) "
             "\u0966\u0967\u0968 (Devanagari) \u2460\u2461 \u00b9\u00b2\u00b3 \u2155 \u216b")
    L.append("abc123def 456ghi 7jkl8 x86_64 i386 utf8 h264 mp3 4K 3D")
    # English contractions (GPT-2 / Llama-3 regexes), upper case, curly apostrophes
    L.append("don't I'm we'll they've she's it'd you're DON'T I'M WE'LL THEY'VE SHE'S IT'D YOU'RE")
    L.append("don\u2019t it\u2019s rock 'n' roll 'quoted' ''double'' o'clock Mc'Donald's 's 't 're 've 'm 'll 'd")
    L.append("CamelCaseWords lowerUPPER ALLCAPS snake_case kebab-case dot.separated path/to/file.txt")
    # punctuation, code, URLs
    L.append("!!! ??? ... --- === +++ *** ### $$$ %%% &&& ||| ~~~ ``` ''' \"\"\" <<< >>> ((( ))) [[[ ]]] {{{ }}}")
    L.append("int main(void) { return a[i] >= b->c ? x << 2 : y >>= 3; } // comment /* block */")
    L.append("def f(x: int) -> list[str]:  return [s.strip() for s in x.split(',') if s]  # \u03bb")
    L.append("https://example.org/path?q=caf%C3%A9&x=1#frag user@example.com <tag attr=\"v\">&amp;&lt;</tag>")
    L.append("\\n \\t \\\\ \\u00e9 %s %d {0} ${HOME} $((1+2)) `cmd` 'single' \"double\"")
    # outside the BMP and special code points
    L.append("math: \U0001D400\U0001D401\U0001D402 \U0001D538\U0001D539 \U0001D7D8\U0001D7D9 "
             "gothic: \U00010330\U00010331 linear B: \U00010000\U00010001 cuneiform: \U00012000")
    L.append("private use: \ue000\uf8ff \U000F0000 \U0010FFFD replacement: \ufffd "
             "noncharacters nearby: \ufdd0 \ufffe?")
    L.append("ascii controls are not here; DEL\x7f and C1\x80\x9f are")
    # long lines: one long word, one long run of spaces, long repeated pattern
    L.append("a" * 300)
    L.append("x" + " " * 200 + "y")
    L.append("ab" * 150 + " " + "\u00e9" * 100 + " " + "\u4e00" * 100 + " " + "\U0001F600" * 50)
    L.append("-" * 120)
    # everything at once
    for _ in range(10):
        parts = []
        for _ in range(rng.randint(5, 12)):
            kind = rng.randint(0, 7)
            if kind == 0:
                parts.append(_word(rng, 0x61, 0x7A))
            elif kind == 1:
                parts.append(_word(rng, 0x430, 0x44F))
            elif kind == 2:
                parts.append(_word(rng, 0x4E00, 0x9FA5, 1, 4))
            elif kind == 3:
                parts.append(_word(rng, 0xAC00, 0xD7A3, 1, 3))
            elif kind == 4:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 12))))
            elif kind == 5:
                parts.append(C(rng.choice(hands)) + C(rng.choice(skin)))
            elif kind == 6:
                parts.append(rng.choice(["", " ", "  ", "\t", " \t "]) + rng.choice(".,;:!?'\"()-"))
            else:
                parts.append(_word(rng, 0x61, 0x7A, 1, 3) + "\u0301")
        L.append(rng.choice(["", " ", "  "]).join(parts) + rng.choice(["", " ", "  ", "\t"]))
    for ln in L:
        assert "\n" not in ln and "\r" not in ln, repr(ln)
    return L


def invalid_utf8_lines():
    """Lines of bytes with malformed UTF-8 between valid text."""
    bad = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",
           b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff",
           b"\xfe", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xe2\x28\xa1", b"\xc3\x28",
           b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]
    lines = []
    for i, b in enumerate(bad):
        lines.append(b"valid text " + b + b" more text " + "caf\u00e9 \u0436\u0443\u043a \U0001F600".encode())
        lines.append(b + b"at the start")
        lines.append(b"at the end" + b)
        lines.append(b * 3)
    lines.append(b"latin-1 text: caf\xe9 na\xefve \xc5ngstr\xf6m")
    lines.append(b"cp1252 quotes: \x93quoted\x94 \x96 dash")
    lines.append("\u4e2d\u6587".encode()[:-1] + b" truncated CJK then space")
    lines.append(b"NUL\x00inside and \x00\x00 two")
    return lines


def random_byte_lines(n_lines=200, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(n_lines):
        k = rng.randint(0, 120)
        out.append(bytes(b for b in (rng.randrange(256) for _ in range(k)) if b != 0x0A))
    return out


# ---------------------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def script_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", required=True, help="output directory")
    ap.add_argument("--train-mb", type=float, default=4.0, help="size of train.txt in MB (10^6 bytes)")
    ap.add_argument("--heldout-kb", type=float, default=256.0, help="size of heldout.txt in kB (10^3 bytes)")
    ap.add_argument("--langs", default=",".join(LANG_WEIGHTS),
                    help="languages, comma-separated (en, de, fr, ja, ru, zh; also es, it, pl, ko, pt)")
    ap.add_argument("--allow-short", action="store_true",
                    help="write what there is when the installed text is smaller than --train-mb")
    ap.add_argument("--force", action="store_true", help="rebuild even if DIR/manifest.json matches")
    args = ap.parse_args()

    langs = [x for x in args.langs.split(",") if x]
    params = {"train_mb": args.train_mb, "heldout_kb": args.heldout_kb, "langs": langs,
              "script": script_hash()}
    manifest_path = os.path.join(args.out, "manifest.json")
    if not args.force and os.path.exists(manifest_path):
        try:
            with open(manifest_path) as f:
                old = json.load(f)
            if old.get("params") == params and all(
                    os.path.exists(os.path.join(args.out, name)) and
                    os.path.getsize(os.path.join(args.out, name)) == info["bytes"]
                    for name, info in old["files"].items()):
                print(f"make_corpus: {args.out} is up to date")
                return 0
        except (OSError, ValueError, KeyError, TypeError):
            pass
    os.makedirs(args.out, exist_ok=True)

    weights = {lang: LANG_WEIGHTS.get(lang, 0.1) for lang in langs}
    sources = list_sources(langs)
    missing = [lang for lang in langs if not sources[lang]]
    if missing:
        print(f"make_corpus: no installed text for {', '.join(missing)} (scripts/setup.sh --test "
              f"installs manpages-de, manpages-fr, manpages-ja, manpages-ru, manpages-zh)", file=sys.stderr)
        return 1
    train_src, held_src = {}, {}
    for lang, entries in sources.items():
        held_src[lang] = [e for e in entries if int(e[0][:2], 16) % 10 == HELDOUT_DECILE]
        train_src[lang] = [e for e in entries if int(e[0][:2], 16) % 10 != HELDOUT_DECILE]

    seen = set()
    files = {}
    held_path = os.path.join(args.out, "heldout.txt")
    held_limit = int(args.heldout_kb * 1000)
    held_piece = max(2000, held_limit // (8 * len(langs)))
    held_bytes = write_mix(held_path + ".tmp",
                           {l: documents(held_src[l], seen, held_piece, True) for l in langs},
                           weights, held_limit)
    train_path = os.path.join(args.out, "train.txt")
    train_limit = int(args.train_mb * 1e6)
    train_piece = max(20000, min(1 << 20, train_limit // (20 * len(langs))))
    train_bytes = write_mix(train_path + ".tmp",
                            {l: documents(train_src[l], seen, train_piece) for l in langs},
                            weights, train_limit)
    total = sum(train_bytes.values())
    if total < 0.99 * train_limit and not args.allow_short:
        os.unlink(train_path + ".tmp")
        os.unlink(held_path + ".tmp")
        print(f"make_corpus: the installed packages hold {total / 1e6:.1f} MB of usable text for "
              f"{','.join(langs)} ({', '.join(f'{l} {b / 1e6:.1f}' for l, b in train_bytes.items())} MB), "
              f"less than --train-mb {args.train_mb:g}; install more documentation packages or pass "
              f"--allow-short", file=sys.stderr)
        return 1
    os.replace(held_path + ".tmp", held_path)
    os.replace(train_path + ".tmp", train_path)

    gen = {
        "tricky.txt": "\n".join(tricky_lines()).encode() + b"\n",
        "invalid_utf8.txt": b"\n".join(invalid_utf8_lines()) + b"\n",
        "random_bytes.txt": b"\n".join(random_byte_lines()) + b"\n",
    }
    for name, data in gen.items():
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)

    for name in ("train.txt", "heldout.txt", *gen):
        p = os.path.join(args.out, name)
        files[name] = {"bytes": os.path.getsize(p), "sha256": sha256_file(p)}
    manifest = {"params": params, "files": files,
                "train_bytes_by_lang": train_bytes, "heldout_bytes_by_lang": held_bytes,
                "source_files_by_lang": {l: len(s) for l, s in sources.items()}}
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.replace(manifest_path + ".tmp", manifest_path)
    print(f"make_corpus: {args.out}: train {files['train.txt']['bytes'] / 1e6:.2f} MB "
          f"({', '.join(f'{l} {b / 1e6:.2f}' for l, b in train_bytes.items())}), "
          f"held-out {files['heldout.txt']['bytes'] / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
