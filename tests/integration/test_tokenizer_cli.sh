#!/usr/bin/env bash
# llmc tokenizer train / tokenize / detokenize end to end on a corpus written here: every
# in-tree type trains, writes its files, loads back and round-trips text; corpora as .txt,
# .jsonl, .gz and stdin give the same counts; token files are the same on 1 and 3 threads and
# match `llmc tokenize` line by line; bad input (empty corpus, too small for the vocabulary,
# invalid UTF-8, malformed tokenizer.json, unknown type) exits with a message and writes nothing.
# Environment (set by ctest): LLMC, LLMC_BINARY_DIR.
set -u
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
L() { "$LLMC" --plugins "$LLMC_BINARY_DIR/plugins" "$@"; }

json() { /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# a small multilingual corpus (generated: nothing third-party)
/usr/bin/python3 - "$T" <<'EOF'
import json, random, sys
random.seed(3)
syll = ["to", "ke", "ni", "zer", "lea", "rn", "pie", "ces", "über", "stra", "ße", "ca", "fé", "na", "ïve", "ми", "р",
        "при", "вет", "東", "京", "日本", "語", "한", "국어", "ta", "ble", "ing", "ed", "s"]
extra = ["the", "😀", "👍🏽", "12", "345", "it's", "don't", "e\u0301t\u00e9", "x=y+1;", "—"]
def word():
    if random.random() < 0.2: return random.choice(extra)
    return "".join(random.choice(syll) for _ in range(random.randint(1, 4)))
lines = []
for i in range(3000):
    lines.append(" ".join(word() for _ in range(random.randint(1, 12))) + random.choice(["", ".", "!", "  ", "\t"]))
open(sys.argv[1] + "/corpus.txt", "w").write("\n".join(lines) + "\n")
with open(sys.argv[1] + "/corpus.jsonl", "w") as f:
    for l in lines: f.write(json.dumps({"id": 1, "body": l}, ensure_ascii=False) + "\n")
EOF
gzip -k "$T/corpus.txt"

# ---- every type trains, loads back, round-trips ------------------------------------------------------
train() { L tokenizer train "$@"; }
expect_exit 0 train --type bpe --vocab-size 600 -o "$T/gpt2" "$T/corpus.txt"
expect_exit 0 train --type bpe --pre-tokenizer llama3 --vocab-size 600 --special bos="<|begin|>" --special eos="<|end|>" -o "$T/llama3" "$T/corpus.txt"
expect_exit 0 train --type bpe --pre-tokenizer metaspace --vocab-size 700 -o "$T/meta" "$T/corpus.txt"
expect_exit 0 train --type wordpiece --vocab-size 400 -o "$T/wp" "$T/corpus.txt"
expect_exit 0 train --type char --vocab-size 300 -o "$T/char" "$T/corpus.txt"
expect_exit 0 train --type byte --vocab-size 257 --special eos="<eos>" -o "$T/byte" "$T/corpus.txt"
for d in gpt2 llama3 meta wp char byte; do
  for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do check "$d/$f written" test -s "$T/$d/$f"; done
done
check "wordpiece writes vocab.txt (400 lines)" test "$(wc -l <"$T/wp/vocab.txt")" -eq 400
check "gpt2: vocabulary of 600" test "$(json "$T/gpt2/tokenizer.json" 'len(d["model"]["vocab"])')" = 600
check "gpt2: the 256 byte characters come first" test "$(json "$T/gpt2/tokenizer.json" 'd["model"]["vocab"]["!"]')" = 0
check "llama3: specials first, in order" test "$(json "$T/llama3/tokenizer.json" '[t["id"] for t in d["added_tokens"]]')" = "[0, 1]"
check "llama3: roles in tokenizer_config.json" test "$(json "$T/llama3/tokenizer_config.json" 'd["bos_token"] + d["eos_token"]')" = "<|begin|><|end|>"
check "metaspace: <unk> <s> </s>, byte fallback" \
  test "$(json "$T/meta/tokenizer.json" '[d["model"]["vocab"][k] for k in ("<unk>", "<s>", "</s>", "<0x00>")] + [d["model"]["byte_fallback"]]')" = "[0, 1, 2, 3, True]"
check "byte: 257 ids" test "$(json "$T/byte/tokenizer.json" 'len(d["model"]["vocab"])')" = 257
text='Grüße aus 東京 — it'"'"'s 12:30, naïve café 😀👍🏽	tabs  and  spaces'
for d in gpt2 llama3 meta char byte; do
  ids=$(L tokenize "$T/$d" "$text")
  check "$d: tokenize gives ids" grep -qE '^[0-9]+(,[0-9]+)*$' <<<"$ids"
  check "$d: detokenize(tokenize(x)) == x" test "$(L detokenize "$T/$d" "$ids")" = "$text"
done
check "wordpiece: lowercased, accents stripped, ## joined" \
  test "$(L detokenize "$T/wp" "$(L tokenize "$T/wp" --no-special "Naïve café tokenizer")")" = "naive cafe tokenizer"
check "wordpiece: [CLS] ... [SEP] with special tokens" \
  grep -qE '^2,.*,3$' <<<"$(L tokenize "$T/wp" "the text")"
check "the special token is one id" test "$(L tokenize "$T/llama3" "<|begin|>")" = 0
check "tokenize reads lines from stdin" test "$(printf 'the\n\ntext\n' | L tokenize "$T/gpt2" | wc -l)" -eq 3
check "tokenize DIR/tokenizer.json works too" test "$(L tokenize "$T/gpt2/tokenizer.json" the)" = "$(L tokenize "$T/gpt2" the)"

# ---- corpora: .jsonl, .gz, stdin give the same tokenizer --------------------------------------------
expect_exit 0 train --type bpe --vocab-size 600 -o "$T/gpt2-gz" "$T/corpus.txt.gz"
expect_exit 0 train --type bpe --vocab-size 600 --threads 3 -o "$T/gpt2-t3" "$T/corpus.txt"
L tokenizer train --type bpe --vocab-size 600 -o "$T/gpt2-stdin" - <"$T/corpus.txt" 2>/dev/null
check ".gz gives the same tokenizer.json" cmp -s "$T/gpt2/tokenizer.json" "$T/gpt2-gz/tokenizer.json"
check "3 threads give the same tokenizer.json" cmp -s "$T/gpt2/tokenizer.json" "$T/gpt2-t3/tokenizer.json"
check "stdin gives the same tokenizer.json" cmp -s "$T/gpt2/tokenizer.json" "$T/gpt2-stdin/tokenizer.json"
expect_exit 0 train --type bpe --pre-tokenizer metaspace --vocab-size 700 --text-field body -o "$T/meta-jsonl" "$T/corpus.jsonl"
check ".jsonl (--text-field) gives the same metaspace tokenizer" cmp -s "$T/meta/tokenizer.json" "$T/meta-jsonl/tokenizer.json"
expect_err 'corpus.jsonl:1:1: text: missing in this record' train --type bpe --vocab-size 600 -o "$T/x" "$T/corpus.jsonl"

# ---- token files ------------------------------------------------------------------------------------------
expect_exit 0 L tokenize "$T/gpt2" --corpus "$T/corpus.txt" -o "$T/tok1.bin" --no-special
expect_exit 0 L tokenize "$T/gpt2" --corpus "$T/corpus.txt" -o "$T/tok3.bin" --no-special --threads 3
check "token files equal on 1 and 3 threads" cmp -s "$T/tok1.bin" "$T/tok3.bin"
check "sidecar: uint16, 3000 documents" test "$(json "$T/tok1.bin.json" 'd["dtype"], d["documents"]')" = "('uint16', 3000)"
check "sidecar: tokens = file size / 2" test "$(json "$T/tok1.bin.json" 'd["tokens"]')" -eq $(($(stat -c %s "$T/tok1.bin") / 2))
/usr/bin/python3 - "$T" >"$T/expected_ids.txt" <<'EOF'
import sys
# every line with its newline, as tokenize --corpus reads a .txt
for line in open(sys.argv[1] + "/corpus.txt", newline=""):
    print(line, end="\0")
EOF
# the same ids, line by line through tokenize --whole (each line with its newline)
/usr/bin/python3 - "$T" "$LLMC" "$LLMC_BINARY_DIR/plugins" <<'EOF' >"$T/concat_check.txt"
import struct, subprocess, sys
t, llmc, plugins = sys.argv[1:4]
lines = open(t + "/corpus.txt", newline="").read().splitlines(keepends=True)[:200]
ids = []
for line in lines:
    out = subprocess.run([llmc, "--plugins", plugins, "tokenize", t + "/gpt2", "--whole", "--no-special"],
                         input=line.encode(), capture_output=True, check=True).stdout.decode().strip()
    ids += [int(x) for x in out.split(",") if x]
data = open(t + "/tok1.bin", "rb").read(2 * len(ids))
print("same" if list(struct.unpack("<%dH" % len(ids), data)) == ids else "different")
EOF
check "token file = tokenize --whole of each line, in order" test "$(cat "$T/concat_check.txt")" = same
expect_exit 4 L tokenize "$T/gpt2" --corpus "$T/corpus.txt" -o "$T/tok1.bin"
expect_exit 0 L tokenize "$T/llama3" --corpus "$T/corpus.txt" -o "$T/tok1.bin" --force --separator "<|end|>"
check "--separator: every document starts with it" \
  test "$(/usr/bin/python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(struct.unpack("<H", d[:2])[0])' "$T/tok1.bin")" = 1
check "--force replaced the token file and its sidecar" test "$(json "$T/tok1.bin.json" 'd["separator"]')" = "<|end|>"
expect_err "'<\|x\|>' is not a token" L tokenize "$T/gpt2" --corpus "$T/corpus.txt" -o "$T/tok9.bin" --separator "<|x|>"
check "no token file after a refused separator" test ! -e "$T/tok9.bin"

# a unigram tokenizer trained on text without '<', '>', 'x' or digits still round-trips the text of
# its byte pieces (HF's Unigram would match "<0x21>" as the byte piece; llmc scores them below it)
for i in $(seq 300); do echo "the cat sat on the mat with a hat and a bat"; done >"$T/letters.txt"
expect_exit 0 train --type unigram --vocab-size 300 -o "$T/uni-letters" "$T/letters.txt"
check "unigram: the text '<0x21> <0x7F>x<0x' round-trips" \
  test "$(L detokenize --bytes "$T/uni-letters" "$(L tokenize --no-special "$T/uni-letters" '<0x21> <0x7F>x<0x')")" = '<0x21> <0x7F>x<0x'

# ---- bad input ----------------------------------------------------------------------------------------------
: >"$T/empty.txt"
expect_exit 1 train --type bpe --vocab-size 600 -o "$T/e" "$T/empty.txt"
expect_err "no text to learn from" train --type bpe --vocab-size 600 -o "$T/e" "$T/empty.txt"
expect_exit 1 train --type bpe --vocab-size 60000 -o "$T/big" "$T/corpus.txt"
expect_err "the corpus is too small for 60000 ids: 'bpe' learned [0-9]+" train --type bpe --vocab-size 60000 -o "$T/big" "$T/corpus.txt"
check "nothing written for a corpus too small" test ! -e "$T/big" -a ! -e "$T/e"
expect_fail 2 "--normalization: expected none, nfc, nfd, nfkc, nmt_nfkc" "$LLMC" --plugins "$LLMC_BINARY_DIR/plugins" tokenizer train --type bpe --normalization nfkx --vocab-size 600 -o "$T/n" "$T/corpus.txt"
expect_fail 2 "--normalization nfc cannot be written into the tokenizer.model of a unigram or metaspace BPE tokenizer" \
  "$LLMC" --plugins "$LLMC_BINARY_DIR/plugins" tokenizer train --type unigram --normalization nfc --vocab-size 600 -o "$T/n" "$T/corpus.txt"
check "nothing written for a bad --normalization" test ! -e "$T/n"
printf 'good line\nbad \xff byte\n' >"$T/bad.txt"
expect_exit 0 train --type bpe --vocab-size 262 -o "$T/bad-bpe" "$T/bad.txt"
expect_exit 1 train --type wordpiece --vocab-size 100 -o "$T/bad-wp" "$T/bad.txt"
expect_err "bad.txt: byte 14: invalid UTF-8 \(0xFF\)" train --type wordpiece --vocab-size 100 -o "$T/bad-wp" "$T/bad.txt"
expect_err "warning: byte 14: invalid UTF-8 \(0xFF\) replaced by U\+FFFD" \
  train --type wordpiece --vocab-size 30 --invalid-utf8 replace -o "$T/bad-wp2" "$T/bad.txt"
# tokenize (not a corpus): a tokenizer without bytes reads invalid UTF-8 as U+FFFD and says where
expect_exit 0 L tokenize "$T/wp" --file "$T/bad.txt"
expect_err "bad.txt: byte 14: invalid UTF-8 \(0xFF\) read as U\+FFFD" L tokenize "$T/wp" --file "$T/bad.txt"
expect_exit 1 L tokenize "$T/wp" --corpus "$T/bad.txt" -o "$T/bad.bin"
expect_err "bad.txt: byte 14: invalid UTF-8 \(0xFF\)" L tokenize "$T/wp" --corpus "$T/bad.txt" -o "$T/bad.bin"
check "no token file for a corpus the tokenizer cannot represent" test ! -e "$T/bad.bin" -a ! -e "$T/bad.bin.json"
check "byte-level BPE encodes the invalid byte as a byte" \
  test "$(L detokenize --bytes "$T/bad-bpe" "$(L tokenize "$T/bad-bpe" "$(printf 'a\xffb')")" | od -An -tx1 | tr -d ' ')" = "61ff620a"
expect_exit 3 train --type nonesuch --vocab-size 100 -o "$T/n" "$T/corpus.txt"
expect_err "tokenizer 'nonesuch'" train --type nonesuch --vocab-size 100 -o "$T/n" "$T/corpus.txt"
expect_exit 2 train --type bpe -o "$T/n" "$T/corpus.txt"
expect_exit 1 train --type byte --vocab-size 300 -o "$T/n" "$T/corpus.txt"
expect_err "a byte tokenizer has 256 ids plus one per special token" train --type byte --vocab-size 300 -o "$T/n" "$T/corpus.txt"
expect_exit 4 train --type bpe --vocab-size 600 -o "$T/gpt2" "$T/corpus.txt"
expect_exit 4 train --type bpe --vocab-size 600 -o "$T/n" "$T/nonexistent.txt"
head -c 5000 "$T/gpt2/tokenizer.json" >"$T/trunc.json"
expect_exit 1 L tokenize "$T/trunc.json" "x"
expect_err "trunc.json:[0-9]+:[0-9]+: not valid JSON" L tokenize "$T/trunc.json" "x"
/usr/bin/python3 - "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1] + "/gpt2/tokenizer.json"))
d["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": ""}
json.dump(d, open(sys.argv[1] + "/precompiled.json", "w"))
d = json.load(open(sys.argv[1] + "/gpt2/tokenizer.json"))
d["model"]["merges"][3] = ["zzz", "qqq"]
json.dump(d, open(sys.argv[1] + "/badmerge.json", "w"))
EOF
expect_err "precompiled.json: normalizer.type: unsupported 'Precompiled' \(supported: Sequence, NFC" L tokenize "$T/precompiled.json" x
expect_exit 1 L tokenize "$T/badmerge.json" x
expect_err "badmerge.json: model.merges\[3\]: merge refers to \"zzz\", which is not in model.vocab" L tokenize "$T/badmerge.json" x
expect_exit 1 L detokenize "$T/gpt2" 1,2,600
expect_exit 2 L detokenize "$T/gpt2" 1,x
finish
