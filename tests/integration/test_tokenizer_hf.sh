#!/usr/bin/env bash
# llmc's tokenizers against the Hugging Face tokenizers library itself (npm tokenizers@0.23.2,
# installed by scripts/setup-oracles.sh under .deps/npm):
#   1. tokenizers llmc trains (every in-tree type) load in HF, which encodes held-out multilingual
#      text to exactly llmc's ids and decodes them to llmc's text;
#   2. tokenizers HF trains with its own train() (byte-level GPT-2 and Llama-3 regexes, BERT,
#      metaspace, a whitespace/digits/punctuation pipeline with NFKC, lowercase, strip accents)
#      encode and decode identically in llmc;
#   3. every code point of planes 0-3 and 14 (and every 61st of the others; every 7th of planes 0-3
#      under the sanitizers) through each
#      normalizer and pre-tokenizer gives the same ids in both, except code points that the
#      Unicode data llmc was built from (Debian's unicode-data) does not assign yet.
# Without the oracle the test fails and says how to install it, unless LLMC_SKIP_ORACLE=1.
# Environment (set by ctest): LLMC, LLMC_SOURCE_DIR, LLMC_BINARY_DIR; LLMC_HF_TOKENIZERS may name
# the tokenizers module directory; LLMC_UCD_DIR the Unicode data (default /usr/share/unicode).
set -u
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)/tokenizer
HF=${LLMC_HF_TOKENIZERS:-$LLMC_SOURCE_DIR/.deps/npm/node_modules/tokenizers}
UCD=${LLMC_UCD_DIR:-/usr/share/unicode}
if ! command -v node >/dev/null || [ ! -f "$HF/package.json" ]; then
  if [ "${LLMC_SKIP_ORACLE:-}" = 1 ]; then echo "SKIPPED (LLMC_SKIP_ORACLE=1): no HF tokenizers oracle at $HF"; exit 0; fi
  echo "FAIL: the HF tokenizers oracle is missing ($HF): run scripts/setup-oracles.sh (or set LLMC_SKIP_ORACLE=1)"
  exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
L() { "$LLMC" --plugins "$LLMC_BINARY_DIR/plugins" "$@"; }

# ---- corpora (generated here) ------------------------------------------------------------------------
/usr/bin/python3 - "$T" <<'EOF'
import json, random, sys
t = sys.argv[1]
random.seed(11)
syll = ["to", "ke", "ni", "zer", "lea", "rn", "pie", "ces", "über", "stra", "ße", "ca", "fé", "na", "ïve", "ми", "р", "при",
        "вет", "東", "京", "日本", "語", "中", "文", "한", "국어", "ta", "ble", "ing", "ed", "s", "Ω", "ελ", "λη"]
extra = ["the", "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "12", "345", "2024", "it's", "DON'T", "they're", "e\u0301", "o\u0302\u0323",
         "x=y+1;", "—", "«»", "¿Qué?", "١٢٣", "½", "ﬁ", "Ａ", "İ", "ς", "\u00a0", "\u3000", "</s>", "<s>", "[CLS]", "<unk>"]
seps = [" ", " ", " ", "  ", "\t", "\n", " \n ", "   ", "\r\n", ", ", ". "]
def word():
    return random.choice(extra) if random.random() < 0.25 else "".join(random.choice(syll) for _ in range(random.randint(1, 4)))
def text(k):
    return "".join(word() + random.choice(seps) for _ in range(k)).strip(" ") if random.random() < 0.5 else \
           "".join(word() + random.choice(seps) for _ in range(k))
open(t + "/corpus.txt", "w").write("\n".join(" ".join(word() for _ in range(random.randint(1, 14))) for _ in range(6000)) + "\n")
held = [text(random.randint(1, 20)) for _ in range(1500)] + ["", " ", "  \n\t ", "\n\n\n", "a", "😀", "é", "ⅻ"]
json.dump(held, open(t + "/held.json", "w"), ensure_ascii=False)
open(t + "/held.jsonl", "w").write("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in held))
EOF

# compare NAME TOKENIZER_JSON TEXTS_JSON TEXTS_JSONL: HF and llmc give the same ids and texts
compare() {
  local name=$1 tok=$2
  node "$HERE/hf_encode.js" "$HF" "$tok" "$3" "$T/hf.jsonl" decode 2>"$T/hf.err" || { echo "FAIL: $name: HF cannot use it:"; cat "$T/hf.err"; FAILED=$((FAILED + 1)); return; }
  L tokenize "$tok" --json <"$4" >"$T/ids.txt" 2>"$T/llmc.err" || { echo "FAIL: $name: llmc tokenize:"; head "$T/llmc.err"; FAILED=$((FAILED + 1)); return; }
  L detokenize "$tok" --json <"$T/ids.txt" >"$T/texts.txt" 2>"$T/llmc.err" || { echo "FAIL: $name: llmc detokenize:"; head "$T/llmc.err"; FAILED=$((FAILED + 1)); return; }
  check "$name: llmc encodes and decodes $(wc -l <"$4") texts as HF does" /usr/bin/python3 - "$T" "$3" <<'EOF'
import json, sys
t, texts = sys.argv[1], json.load(open(sys.argv[2]))
hf = [json.loads(l) for l in open(t + "/hf.jsonl")]
ids = [[int(x) for x in l.strip().split(",") if x] for l in open(t + "/ids.txt")]
dec = [json.loads(l) for l in open(t + "/texts.txt")]
bad = [i for i in range(len(texts)) if i >= len(ids) or ids[i] != hf[i]["ids"] or dec[i] != hf[i]["text"]]
for i in bad[:3]:
    print("  text %r\n   hf   %s %r\n   llmc %s %r" % (texts[i][:80], hf[i]["ids"][:24], hf[i]["text"][:60],
          ids[i][:24] if i < len(ids) else None, dec[i][:60] if i < len(dec) else None))
sys.exit(1 if bad or len(ids) != len(texts) else 0)
EOF
}

# ---- 1. llmc-trained tokenizers in HF ------------------------------------------------------------------
train() { L tokenizer train "$@" >/dev/null 2>"$T/train.err" || { cat "$T/train.err"; return 1; }; }
check "train bpe (gpt2)" train --type bpe --vocab-size 1500 -o "$T/l-gpt2" "$T/corpus.txt"
check "train bpe (llama3, specials)" train --type bpe --pre-tokenizer llama3 --vocab-size 1500 --special bos="<s>" --special eos="</s>" -o "$T/l-llama3" "$T/corpus.txt"
check "train bpe (metaspace)" train --type bpe --pre-tokenizer metaspace --vocab-size 1500 -o "$T/l-meta" "$T/corpus.txt"
check "train bpe (whitespace)" train --type bpe --pre-tokenizer whitespace --vocab-size 1000 --special unk="<unk>" -o "$T/l-ws" "$T/corpus.txt"
check "train wordpiece" train --type wordpiece --vocab-size 1000 -o "$T/l-wp" "$T/corpus.txt"
check "train char" train --type char --vocab-size 300 -o "$T/l-char" "$T/corpus.txt"
check "train byte" train --type byte --vocab-size 256 -o "$T/l-byte" "$T/corpus.txt"
for d in gpt2 llama3 meta ws wp char byte; do
  [ -f "$T/l-$d/tokenizer.json" ] && compare "llmc-trained $d" "$T/l-$d/tokenizer.json" "$T/held.json" "$T/held.jsonl"
done

# ---- 2. HF-trained tokenizers in llmc ------------------------------------------------------------------
for k in gpt2 llama3 bert metaspace whitespace; do
  if node "$HERE/hf_train.js" "$HF" "$k" "$T/corpus.txt" "$T/h-$k.json" >/dev/null 2>"$T/hf.err"; then
    # HF's default trainers add no special tokens and byte-level ones no decoder: complete them so
    # that every held-out text encodes (an [UNK] for BERT) and decodes (ByteLevel)
    /usr/bin/python3 - "$T/h-$k.json" "$k" <<'EOF'
import json, sys
p, k = sys.argv[1:]
d = json.load(open(p))
if k in ("gpt2", "llama3"):
    d["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
if k == "bert":
    d["model"]["vocab"]["[UNK]"] = len(d["model"]["vocab"])
if k == "whitespace":
    d["model"]["unk_token"] = "<unk>"
    d["model"]["vocab"]["<unk>"] = len(d["model"]["vocab"])
json.dump(d, open(p, "w"), ensure_ascii=False)
EOF
    compare "HF-trained $k" "$T/h-$k.json" "$T/held.json" "$T/held.jsonl"
  else
    echo "FAIL: HF train $k:"; cat "$T/hf.err"; FAILED=$((FAILED + 1))
  fi
done

# ---- 3. every code point through each component -------------------------------------------------------------
/usr/bin/python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))
m = bytes_to_unicode()
vocab = {m[b]: b for b in range(256)}
vocab.update({m[b] + "</w>": 256 + b for b in range(256)})   # word ends are visible in the ids
def tok(normalizer, pretok):
    pts = ([pretok] if pretok else []) + [{"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]
    return {"version": "1.0", "normalizer": normalizer, "pre_tokenizer": {"type": "Sequence", "pretokenizers": pts},
            "model": {"type": "BPE", "end_of_word_suffix": "</w>", "vocab": vocab, "merges": []}}
G2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
L3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
split = lambda r: {"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": False}
probes = {"gpt2": (None, split(G2)), "llama3": (None, split(L3)), "Whitespace": (None, {"type": "Whitespace"}),
          "WhitespaceSplit": (None, {"type": "WhitespaceSplit"}), "BertPreTokenizer": (None, {"type": "BertPreTokenizer"}),
          "Digits": (None, {"type": "Digits", "individual_digits": False}),
          "Punctuation": (None, {"type": "Punctuation", "behavior": "Isolated"}),
          "NFC": ({"type": "NFC"}, None), "NFD": ({"type": "NFD"}, None), "NFKC": ({"type": "NFKC"}, None),
          "NFKD": ({"type": "NFKD"}, None), "Lowercase": ({"type": "Lowercase"}, None),
          "StripAccents": ({"type": "StripAccents"}, None), "Strip": ({"type": "Strip", "strip_left": True, "strip_right": True}, None),
          "BertNormalizer": ({"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True}, None)}
for k, (n, p) in probes.items():
    json.dump(tok(n, p), open("%s/probe-%s.json" % (t, k), "w"), ensure_ascii=False)
# each code point in a few contexts; 64 code points per text. All of planes 0-3 and 14 (where
# every assigned character and the new ones of Unicode 15.1/16.0 are), every 61st elsewhere
def ctx(c): return "x" + c + "1 " + c + c + " " + c + "'S" + c + "\n"
# Under the sanitizers (CI's ASan+UBSan pass sets ASAN_OPTIONS) every 7th code point of planes 0-3
# is enough to exercise the code; the native run compares them all.
import os
step = 7 if os.environ.get("ASAN_OPTIONS") else 1
cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and
       ((c < 0x40000 and c % step == 0) or 0xE0000 <= c < 0xE1000 or c % 61 == 0)]
blocks = [cps[i:i + 64] for i in range(0, len(cps), 64)]
json.dump(["".join(ctx(chr(c)) for c in b) for b in blocks], open(t + "/blocks.json", "w"), ensure_ascii=False)
open(t + "/blocks.jsonl", "w").write("".join(json.dumps("".join(ctx(chr(c)) for c in b)) + "\n" for b in blocks))
json.dump(blocks, open(t + "/blocks.idx", "w"))
json.dump(list(probes), open(t + "/probes.json", "w"))
EOF
for k in $(/usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$T/probes.json"); do
  node "$HERE/hf_encode.js" "$HF" "$T/probe-$k.json" "$T/blocks.json" "$T/p-hf.jsonl" 2>"$T/hf.err" || { echo "FAIL: $k: HF:"; cat "$T/hf.err"; FAILED=$((FAILED + 1)); continue; }
  L tokenize "$T/probe-$k.json" --json <"$T/blocks.jsonl" >"$T/p-llmc.txt" 2>"$T/llmc.err" || { echo "FAIL: $k: llmc:"; head "$T/llmc.err"; FAILED=$((FAILED + 1)); continue; }
  # blocks that differ, then their code points one by one
  /usr/bin/python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
blocks = json.load(open(t + "/blocks.idx"))
hf = [json.loads(l)["ids"] for l in open(t + "/p-hf.jsonl")]
ll = [[int(x) for x in l.strip().split(",") if x] for l in open(t + "/p-llmc.txt")]
single = [c for i, b in enumerate(blocks) if i >= len(ll) or hf[i] != ll[i] for c in b]
def ctx(c): return "x" + c + "1 " + c + c + " " + c + "'S" + c + "\n"
json.dump([ctx(chr(c)) for c in single], open(t + "/single.json", "w"), ensure_ascii=False)
open(t + "/single.jsonl", "w").write("".join(json.dumps(ctx(chr(c))) + "\n" for c in single))
json.dump(single, open(t + "/single.idx", "w"))
EOF
  node "$HERE/hf_encode.js" "$HF" "$T/probe-$k.json" "$T/single.json" "$T/s-hf.jsonl" 2>/dev/null
  L tokenize "$T/probe-$k.json" --json <"$T/single.jsonl" >"$T/s-llmc.txt" 2>/dev/null
  check "$k: every code point as in HF, but for ones the built Unicode data does not assign" \
    /usr/bin/python3 - "$T" "$UCD/UnicodeData.txt" "$k" <<'EOF'
import json, sys
t, ucd, k = sys.argv[1:]
assigned, first = set(), None
for line in open(ucd):
    f = line.split(";")
    c = int(f[0], 16)
    if f[1].endswith("First>"): first = c; continue
    if f[1].endswith("Last>"): assigned.update(range(first, c + 1)); continue
    assigned.add(c)
single = json.load(open(t + "/single.idx"))
hf = [json.loads(l)["ids"] for l in open(t + "/s-hf.jsonl")]
ll = [[int(x) for x in l.strip().split(",") if x] for l in open(t + "/s-llmc.txt")]
diff = [c for i, c in enumerate(single) if i >= len(ll) or i >= len(hf) or hf[i] != ll[i]]
wrong = [c for c in diff if c in assigned]
print("  %s: %d code points differ, all unassigned in %s" % (k, len(diff), ucd) if not wrong else
      "  %s: %d differ, %d of them assigned: %s" % (k, len(diff), len(wrong), " ".join("U+%04X" % c for c in wrong[:20])))
sys.exit(1 if wrong or len(hf) != len(single) else 0)
EOF
done
finish
