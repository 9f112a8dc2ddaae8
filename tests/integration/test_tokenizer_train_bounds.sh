#!/usr/bin/env bash
# llmc tokenizer train: the metaspace BPE's SentencePiece whitespace rule
# (--option remove_extra_whitespaces=true) and the counting memory bound (--max-words).
#   * the rule collapses runs of spaces in tokenizer.json and in tokenizer.model alike, and the
#     default metaspace BPE keeps every space (round trip);
#   * a bound below the corpus's distinct words drops rare words with a warning naming the
#     threshold, the result still trains; a bound above it changes nothing;
#   * unknown or misplaced options are usage errors with a message.
# Environment (set by ctest): LLMC, LLMC_BINARY_DIR.
set -u
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
L() { "$LLMC" --plugins "$LLMC_BINARY_DIR/plugins" "$@"; }

# a generated corpus with indented lines (nothing third-party): 4000 lines, many distinct words
/usr/bin/python3 - "$T" <<'PY'
import random, sys
random.seed(7)
syll = ["ka", "to", "mi", "ren", "sol", "va", "der", "quo", "li", "ne", "stra", "pe", "ux", "bo"]
lines = []
for i in range(4000):
    words = ["".join(random.choice(syll) for _ in range(random.randint(1, 4))) for _ in range(random.randint(2, 10))]
    lines.append(" " * random.choice([0, 0, 2, 4, 8]) + "  ".join(words) if i % 3 == 0 else " ".join(words))
open(sys.argv[1] + "/corpus.txt", "w").write("\n".join(lines) + "\n")
PY

train() { L tokenizer train "$@"; }
expect_exit 0 train --type bpe --pre-tokenizer metaspace --vocab-size 800 -o "$T/keep" "$T/corpus.txt"
expect_exit 0 train --type bpe --pre-tokenizer metaspace --option remove_extra_whitespaces=true --vocab-size 800 \
  -o "$T/ws" "$T/corpus.txt"
text='    kato  mi   ren sol  '
check "default metaspace BPE keeps every space" test "$(L detokenize "$T/keep" "$(L tokenize "$T/keep" "$text")")" = "$text"
check "remove_extra_whitespaces collapses them (tokenizer.json)" \
  test "$(L detokenize "$T/ws" "$(L tokenize "$T/ws/tokenizer.json" "$text")")" = "kato mi ren sol"
check "tokenizer.model encodes as tokenizer.json" \
  test "$(L tokenize "$T/ws/tokenizer.model" "$text")" = "$(L tokenize "$T/ws/tokenizer.json" "$text")"
check "fewer tokens on indented text with the rule" \
  test "$(L tokenize "$T/ws" --file "$T/corpus.txt" | tr , '\n' | wc -l)" -lt \
       "$(L tokenize "$T/keep" --file "$T/corpus.txt" | tr , '\n' | wc -l)"
expect_err "unknown bpe option 'remove_spaces=true'" \
  train --type bpe --pre-tokenizer metaspace --option remove_spaces=true --vocab-size 800 -o "$T/x" "$T/corpus.txt"
expect_err "remove_extra_whitespaces is for the metaspace pre-tokenizer, not 'gpt2'" \
  train --type bpe --option remove_extra_whitespaces=true --vocab-size 800 -o "$T/x" "$T/corpus.txt"
check "nothing written on a refused option" test ! -e "$T/x"

# ---- the counting bound ------------------------------------------------------------------------------------
words=$(L tokenizer train --type bpe --pre-tokenizer metaspace --vocab-size 800 -o "$T/all" "$T/corpus.txt" 2>&1 |
        sed -n 's/.*bytes, \([0-9,]*\) distinct words.*/\1/p' | tr -d ,)
check "the corpus has many distinct words ($words)" test "${words:-0}" -gt 2000
err=$(L tokenizer train --type bpe --pre-tokenizer metaspace --vocab-size 800 --threads 2 --max-words 1000 \
      -o "$T/bounded" "$T/corpus.txt" 2>&1)
check "a bound below them warns with the threshold" grep -qE 'more than 1000 distinct words: .* at most [0-9]+ time' <<<"$err"
kept=$(sed -n 's/.*bytes, \([0-9,]*\) distinct words.*/\1/p' <<<"$err" | tr -d ,)
check "and keeps at most 1000 words ($kept)" test "${kept:-99999}" -le 1000
check "the bounded tokenizer still trains" test -s "$T/bounded/tokenizer.json"
expect_exit 0 train --type bpe --pre-tokenizer metaspace --vocab-size 800 --max-words 1000000 -o "$T/big" "$T/corpus.txt"
check "a bound above them changes nothing" cmp -s "$T/all/tokenizer.json" "$T/big/tokenizer.json"
expect_err "--max-words: expected a count >= 2" train --type bpe --vocab-size 800 --max-words 1 -o "$T/y" "$T/corpus.txt"

finish
