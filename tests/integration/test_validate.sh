#!/usr/bin/env bash
# `llmc validate` checks content, and `llmc compile OUT/spec.json` reproduces OUT.
#
# A small model is compiled with every emitter. The untouched output validates. Then each
# tampering, on a fresh copy, must make validate fail (exit 1) with a message naming the file and
# what is wrong: a 0-byte model.safetensors, model.gguf cut to 1000 bytes, model.bin truncated, one
# data byte flipped in each weights file (the tensor is named), a header byte, config.json with one
# dim edited, the report's breakdown and seed edited, spec.json edited, a file deleted, the
# manifest deleted; several at once are all reported in one run. --quick skips the checksums of
# large files only. Compiling OUT/spec.json gives byte-identical files (all but the report).
# Environment (set by ctest): LLMC, LLMC_SOURCE_DIR, LLMC_BINARY_DIR.
set -u
source "$(dirname "$0")/lib.sh"

PLUG="$LLMC_BINARY_DIR/plugins"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
run() { "$LLMC" --plugins "$PLUG" "$@"; }
PY=/usr/bin/python3

cat >"$T/small.yaml" <<'EOF'
name: small
target_params: 1.84M
dims: {num_layers: 2}
vocab_size: 256
context_length: 64
weights: {seed: 11}
EOF

O="$T/out"
expect_exit 0 run compile "$T/small.yaml" -o "$O" --emit safetensors,gguf,cpu,pytorch,torchscript
expect_exit 0 run validate "$O"
expect_out "^valid$" run validate "$O"
expect_out "ok +gguf/model.gguf \(.* bytes, xxh64 [0-9a-f]{16}; 21 tensor checksums match\)" run validate "$O"
expect_out "ok +safetensors: headers, tables, configs and code" run validate "$O"
expect_out "ok +gguf: headers" run validate "$O"
expect_out "ok +cpu: headers" run validate "$O"
expect_out "ok +pytorch: headers" run validate "$O"
expect_out "ok +compilation_report.json: count, breakdown" run validate "$O"
check "manifest.json written" test -s "$O/manifest.json"
expect_exit 2 run validate "$O" --bogus
expect_exit 2 run validate
expect_exit 4 run validate "$T/no-such-dir"

# the manifest's checksums are XXH64 of the files, as xxhsum -H1 prints them (checked against
# Debian's libxxhash when it is installed)
check "manifest checksums are XXH64 of the files" "$PY" - "$O" <<'EOF'
import ctypes, ctypes.util, json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "manifest.json")))
try:
    lib = ctypes.CDLL("libxxhash.so.0")
except OSError:
    sys.exit(0)  # no oracle on this machine; the C unit test covers the vectors
lib.XXH64.restype = ctypes.c_uint64
lib.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
for f in m["files"]:
    data = open(os.path.join(out, f["path"]), "rb").read()
    assert len(data) == f["bytes"], f["path"]
    assert "%016x" % lib.XXH64(data, len(data), 0) == f["xxh64"], f["path"]
    for t in f.get("tensors", []):
        piece = data[t["offset"]:t["offset"] + t["bytes"]]
        assert "%016x" % lib.XXH64(piece, len(piece), 0) == t["xxh64"], (f["path"], t["name"])
EOF

# ---- compile OUT/spec.json reproduces OUT ---------------------------------------------------------
expect_exit 0 run compile "$O/spec.json" -o "$T/again"
same=1
while IFS= read -r f; do
  [ "$f" = compilation_report.json ] && continue
  cmp -s "$O/$f" "$T/again/$f" || { echo "differs: $f"; same=0; }
done < <(cd "$O" && find . -type f ! -name .llmc-output | sed 's|^\./||' | sort)
check "compile OUT/spec.json: every file but the report byte-identical" test "$same" -eq 1
check "same file list" test "$(cd "$O" && find . -type f | sort)" = "$(cd "$T/again" && find . -type f | sort)"
expect_exit 0 run validate "$T/again"
# ... also when the first compile took --emit, --solver and --dtype from the command line
expect_exit 0 run compile "$T/small.yaml" -o "$T/cli" --emit gguf --solver closed_form --dtype f16
expect_exit 0 run compile "$T/cli/spec.json" -o "$T/cli2"
check "CLI choices are in spec.json" cmp -s "$T/cli/gguf/model.gguf" "$T/cli2/gguf/model.gguf"
check "manifest identical" cmp -s "$T/cli/manifest.json" "$T/cli2/manifest.json"
check "solution identical (solver recorded)" cmp -s "$T/cli/solution.json" "$T/cli2/solution.json"
# --emit none gives emit: [] in spec.json, which runs no emitter again
expect_exit 0 run compile "$T/small.yaml" -o "$T/none" --emit none
expect_out '"emit": \[\]' cat "$T/none/spec.json"
expect_exit 0 run compile "$T/none/spec.json" -o "$T/none2"
check "emit: [] runs none" test ! -e "$T/none2/safetensors"

# ---- tampering -------------------------------------------------------------------------------------
fresh() { rm -rf "$T/x"; cp -r "$O" "$T/x"; }
# flip FILE OFFSET: invert one byte
flip() {
  "$PY" -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 0xFF; open(p, "wb").write(b)' "$1" "$2"
}
# tensor FILE INDEX -> "offset name" of that tensor in the manifest
tensor() {
  "$PY" -c 'import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
f = [f for f in m["files"] if f["path"] == sys.argv[2]][0]
t = f["tensors"][int(sys.argv[3])]
print(t["offset"] + t["bytes"] // 2, t["name"])' "$O" "$1" "$2"
}
# fails CHECK-NAME REGEX...: validate exits 1 and stderr matches every regex
fails() {
  local what=$1; shift
  local err code
  err=$(run validate "$T/x" 2>&1 >/dev/null)
  code=$?
  if [ "$code" -ne 1 ]; then echo "FAIL: $what: validate exit $code (expected 1)"; echo "$err" | head; FAILED=$((FAILED + 1)); return; fi
  for re in "$@"; do
    if ! grep -qE -- "$re" <<<"$err"; then
      echo "FAIL: $what: stderr does not match /$re/:"; echo "$err" | head -20; FAILED=$((FAILED + 1)); return
    fi
  done
  PASSED=$((PASSED + 1))
}
X="$T/x"
size() { stat -c %s "$1"; }
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }   # 1234567 -> 1,234,567

fresh; : >"$X/safetensors/model.safetensors"
fails "0-byte model.safetensors" \
  "^$X/safetensors/model.safetensors: truncated \(expected $(commas "$(size "$O/safetensors/model.safetensors")") bytes, got 0\)$" \
  "^$X/safetensors/model.safetensors: truncated inside the header"

fresh; truncate -s 1000 "$X/gguf/model.gguf"
fails "gguf cut to 1000 bytes" \
  "^$X/gguf/model.gguf: truncated \(expected $(commas "$(size "$O/gguf/model.gguf")") bytes, got 1,000\)$" \
  "^$X/gguf/model.gguf: 21 of its 21 tensors end past the end of the file" \
  "^$X/gguf/model.gguf: the header is cut off"

fresh; truncate -s 5000000 "$X/cpu/model.bin"
fails "model.bin truncated" \
  "^$X/cpu/model.bin: truncated \(expected $(commas "$(size "$O/cpu/model.bin")") bytes, got 5,000,000\)$" \
  "^$X/cpu/model.bin: truncated: the header and records say $(size "$O/cpu/model.bin") bytes"

for f in safetensors/model.safetensors gguf/model.gguf cpu/model.bin torchscript/model.pt; do
  fresh; read -r off name < <(tensor "$f" 3)
  flip "$X/$f" "$off"
  fails "one data byte flipped in $f" \
    "^$X/$f: tensor '$name' \(bytes [0-9]+\.\.[0-9]+\) differs from what was written \(xxh64 expected [0-9a-f]{16}, got [0-9a-f]{16}\)$"
done

fresh; flip "$X/gguf/model.gguf" 40
fails "a GGUF header byte" "^$X/gguf/model.gguf: content differs from what was written, outside the tensors \(header or padding\)" \
  "^$X/gguf/model.gguf: (metadata|the header|tensor)"

fresh; sed -i 's/"hidden_size": 256/"hidden_size": 257/' "$X/safetensors/config.json"
fails "config.json with one dim edited" "^$X/safetensors/config.json: hidden_size: expected 256, got 257$"

fresh; sed -i '0,/"attention": [0-9]*/s//"attention": 5/' "$X/compilation_report.json"
fails "report breakdown edited" "^$X/compilation_report.json: breakdown.attention: expected [0-9]+, got 5$"

fresh; sed -i 's/"seed": 11/"seed": 12/' "$X/compilation_report.json"
fails "report seed edited" "^$X/compilation_report.json: weights.seed: expected 11, got 12$"

fresh; sed -i 's/"seed": 11/"seed": 12/' "$X/spec.json"
fails "seed edited in spec.json" \
  "^$X/spec.json: SHA-256 differs from the one recorded when it was compiled" \
  "^$X/safetensors/model.safetensors: __metadata__.llmc_seed: expected '12', got '11'$" \
  "^$X/gguf/model.gguf: metadata 'llmc.seed': expected 12, got 11$" \
  "^$X/compilation_report.json: weights.seed: expected 12, got 11$"

fresh; sed -i 's/"norm_eps": [0-9.e-]*/"norm_eps": 0.001/' "$X/spec.json"
fails "spec.json edited" "^$X/spec.json: (content differs from what was written|longer than written|truncated)" \
  "^$X/spec.json: SHA-256 differs" "^$X/safetensors/config.json: rms_norm_eps: expected 0.001, got"

fresh; rm "$X/cpu/model_config.h"
fails "a file deleted" "^$X/cpu/model_config.h: missing \(manifest.json records [0-9,]+ bytes\)$"
check "a deleted file is reported once" \
  test "$(run validate "$X" 2>&1 >/dev/null | grep -c "cpu/model_config.h")" -eq 1

fresh; rm "$X/manifest.json"
fails "manifest deleted" "^$X/manifest.json: missing"

fresh; echo "extra" >>"$X/pytorch/train.py"
fails "a file appended to" "^$X/pytorch/train.py: longer than written \(expected [0-9,]+ bytes, got [0-9,]+\)$" \
  "^$X/pytorch/train.py: the file has [0-9]+ bytes, llmc writes [0-9]+ \(extra bytes at the end\)$"

fresh; sed -i 's/hidden_size: int = 256/hidden_size: int = 257/' "$X/pytorch/small/configuration.py"
fails "generated code edited" \
  "^$X/pytorch/small/configuration.py:[0-9]+:1: differs from what llmc writes \(expected '    hidden_size: int = 256', got '    hidden_size: int = 257'\)$"

# every problem in one run
fresh; : >"$X/safetensors/model.safetensors"; rm "$X/ir.json"
sed -i 's/"hidden_size": 256/"hidden_size": 257/' "$X/safetensors/config.json"
read -r off name < <(tensor gguf/model.gguf 5); flip "$X/gguf/model.gguf" "$off"
fails "four tamperings, all reported" "safetensors/model.safetensors: truncated" "ir.json: missing" \
  "config.json: hidden_size" "gguf/model.gguf: tensor '$name'"

# files llmc did not write (llmc run builds OUT/cpu/llmc-run) are noted, not errors
fresh; echo bin >"$X/cpu/llmc-run"
expect_exit 0 run validate "$X"
expect_err "$X/cpu/llmc-run: note: not written by the compile" run validate "$X"

# ---- --quick: sizes and headers of large files, checksums of the small ones only ----------------------
cat >"$T/big.yaml" <<'EOF'
name: big
dims: {num_layers: 1, hidden_size: 512, num_heads: 4, intermediate_size: 256}
vocab_size: 34000
context_length: 64
tie_word_embeddings: true
EOF
expect_exit 0 run compile "$T/big.yaml" -o "$T/big" --emit safetensors
big="$T/big/safetensors/model.safetensors"
check "big file is above the --quick threshold (64 MiB)" test "$(size "$big")" -gt $((64 << 20))
flip "$big" $(( $(size "$big") / 2 ))
expect_exit 1 run validate "$T/big"
expect_exit 0 run validate "$T/big" --quick
expect_out "size +safetensors/model.safetensors \(.* bytes; checksum skipped: --quick\)" run validate "$T/big" --quick
sed -i 's/"hidden_size": 512/"hidden_size": 513/' "$T/big/safetensors/config.json"
expect_exit 1 run validate "$T/big" --quick
truncate -s 1000 "$big"
expect_err "model.safetensors: truncated" run validate "$T/big" --quick

finish
