#!/usr/bin/env bash
# The llmc command end to end: exit codes, error messages, atomic output, --force, plugins.
# Environment (set by ctest): LLMC, LLMC_SOURCE_DIR, LLMC_BINARY_DIR, LLMC_TEST_PLUGIN_DIR.
set -u
source "$(dirname "$0")/lib.sh"

PLUG="$LLMC_BINARY_DIR/plugins"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
run() { "$LLMC" --plugins "$PLUG" "$@"; }
RUNP=("$LLMC" --plugins "$PLUG")   # the same as a command (timeout cannot run a function)

cat >"$T/tiny.yaml" <<'EOF'
name: tiny
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
vocab_size: 256
context_length: 64
EOF

# ---- version, help, usage -------------------------------------------------------------------
expect_exit 0 "$LLMC" version
expect_out "llmc [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI [0-9]+\)" "$LLMC" version
expect_exit 0 "$LLMC" help
expect_exit 0 "$LLMC" help compile
expect_exit 2 "$LLMC"
expect_exit 2 "$LLMC" frobnicate
expect_err "unknown command 'compil' \(did you mean 'compile'\?\)" "$LLMC" compil
expect_exit 2 run compile "$T/tiny.yaml"                  # no -o
expect_exit 2 run compile "$T/tiny.yaml" -o "$T/o" --bogus
expect_exit 2 run compile "$T/tiny.yaml" -o "$T/o" --threads 0
expect_exit 2 "$LLMC" --no-such-global version

# ---- the five-mistakes spec: all five reported with file:line:col, exit 1 --------------------
cat >"$T/bad.yaml" <<'EOF'
name: bad
template: decoder_only
atention: gqa
vocab_size: abc
dims:
  hidden_size: 0
  num_heads: 8
norm: rmsnrm
constraints:
  - hidden_size % 128 = 0
EOF
expect_exit 1 run compile "$T/bad.yaml" -o "$T/bad-out"
errs=$(run compile "$T/bad.yaml" -o "$T/bad-out" 2>&1 >/dev/null)
check "five located errors" test "$(grep -cE "^$T/bad.yaml:[0-9]+:[0-9]+: " <<<"$errs")" -eq 5
check "atention did-you-mean" grep -q "bad.yaml:3:1: atention: unknown key (did you mean 'attention'?)" <<<"$errs"
check "vocab_size type" grep -q "bad.yaml:4:13: vocab_size: expected an integer, got 'abc'" <<<"$errs"
check "hidden_size range" grep -q "bad.yaml:6:16: dims.hidden_size: must be >= 1 (got 0)" <<<"$errs"
check "norm enum" grep -q "bad.yaml:8:7: norm: unknown value 'rmsnrm' (expected one of rmsnorm, layernorm, no_norm)" <<<"$errs"
check "constraint column" grep -q "bad.yaml:10:23: constraints\[0\]: unexpected '='" <<<"$errs"
check "no output for a bad spec" test ! -e "$T/bad-out"

# ---- I/O errors --------------------------------------------------------------------------------
expect_exit 4 run compile "$T/missing.yaml" -o "$T/o"
expect_err "cannot read spec '$T/missing.yaml'" run compile "$T/missing.yaml" -o "$T/o"
expect_fail 4 "cannot read spec '$T/missing.yaml': No such file or directory" "${RUNP[@]}" solve "$T/missing.yaml"

# a directory, a FIFO (never waited on: no writer ever comes), a device: exit 4 at once
mkdir -p "$T/dir.yaml"
mkfifo "$T/fifo.yaml"
for cmd in "solve" "solve --json" "compile -o $T/o-special --emit none"; do
  # shellcheck disable=SC2086  # cmd is several words on purpose
  expect_fail 4 "cannot read spec '$T/dir.yaml': is a directory" "${RUNP[@]}" $cmd "$T/dir.yaml"
  # shellcheck disable=SC2086
  expect_fail 4 "cannot read spec '$T/fifo.yaml': is a FIFO \(named pipe\), not a regular file" "${RUNP[@]}" $cmd "$T/fifo.yaml"
done
expect_fail 4 "cannot read spec '/dev/null': is a device, not a regular file" "${RUNP[@]}" solve /dev/null
check "no OUT from a special SPEC" test ! -e "$T/o-special"
expect_fail 4 "fifo.yaml: cannot read the config file: is a FIFO" "$LLMC" --config "$T/fifo.yaml" plugins
expect_fail 4 "dir.yaml: cannot read the config file: is a directory" "$LLMC" --config "$T/dir.yaml" solve "$T/tiny.yaml"
expect_fail 4 "missing.yaml: cannot read the config file: No such file" "$LLMC" --config "$T/missing.yaml" templates
expect_fail 4 "cannot read '$T/fifo.yaml': is a FIFO" "${RUNP[@]}" inspect "$T/fifo.yaml"
mkdir -p "$T/ir-dir/ir.json"
expect_fail 4 "cannot read '$T/ir-dir/ir.json': is a directory" "${RUNP[@]}" inspect "$T/ir-dir"
expect_fail 4 "cannot read checkpoint '$T/fifo.yaml': is a FIFO" \
  "${RUNP[@]}" compile "$T/tiny.yaml" -o "$T/o-special" --emit safetensors --weights "$T/fifo.yaml"
# a directory is read as a Hugging Face model folder: this one holds no checkpoint
expect_fail 4 "checkpoint folder '$T/dir.yaml' holds 0 \\*.safetensors.index.json and 0 \\*.safetensors files" \
  "${RUNP[@]}" compile "$T/tiny.yaml" -o "$T/o-special" --emit safetensors --weights "$T/dir.yaml"
check "no OUT from a special checkpoint" test ! -e "$T/o-special"

# ---- a good compile, validate, inspect -----------------------------------------------------------
expect_exit 0 run compile "$T/tiny.yaml" -o "$T/out" --emit none
for f in spec.json solution.json ir.json compilation_report.json; do
  check "out/$f exists" test -s "$T/out/$f"
done
expect_exit 0 run validate "$T/out"
expect_out "^valid$" run validate "$T/out"
expect_out "parameters" run inspect "$T/out"
run inspect "$T/out" --dot "$T/g.dot" >/dev/null
check "dot file is a digraph" grep -q "^digraph" "$T/g.dot"
expect_out "^digraph" run inspect "$T/out/ir.json" --dot
check "no temp dirs left" test -z "$(ls -A "$T" | grep -E '^\.out\.(tmp|old)-')"

# ---- stdout on a full disk: an I/O error (exit 4) with a message, for every command that prints ----
if [ -w /dev/full ]; then
  full() { # full command...   (stdout is /dev/full)
    local err code
    err=$(timeout 10 "$@" 2>&1 >/dev/full)
    code=$?
    if [ "$code" -eq 4 ] && grep -q "error writing standard output: No space left on device" <<<"$err"; then
      PASSED=$((PASSED + 1))
    else echo "FAIL: stdout on /dev/full: exit $code (expected 4): $*"; echo "$err" | head -5; FAILED=$((FAILED + 1)); fi
  }
  full "${RUNP[@]}" solve "$T/tiny.yaml"
  full "${RUNP[@]}" solve --json "$T/tiny.yaml"
  full "${RUNP[@]}" inspect "$T/out"
  full "${RUNP[@]}" inspect "$T/out/ir.json"
  full "${RUNP[@]}" inspect "$T/out" --dot
  full "${RUNP[@]}" inspect "$T/out" --dot "$T/g2.dot"   # the file is written; "wrote ..." is not
  full "${RUNP[@]}" plugins
  full "${RUNP[@]}" templates
  full "${RUNP[@]}" validate "$T/out"
  full "$LLMC" version
  full "$LLMC" --version
  full "$LLMC" help
  full "$LLMC" help compile
  full "$LLMC" --help
  full "$LLMC" solve --help
  full "$LLMC" run --help
  full "${RUNP[@]}" compile "$T/tiny.yaml" -o "$T/out-full" --emit none  # OUT is complete; its summary line is lost
  check "compile with stdout full still wrote OUT" test -s "$T/out-full/ir.json"
  expect_exit 0 run validate "$T/out-full"
fi

# ---- validate catches tampering --------------------------------------------------------------------
cp -r "$T/out" "$T/tampered"
sed -i 's/"parameters": [0-9]*/"parameters": 12345/' "$T/tampered/solution.json"
expect_exit 1 run validate "$T/tampered"
rm "$T/tampered/ir.json"
expect_exit 1 run validate "$T/tampered"   # a missing file is a finding about OUT, not an I/O error
expect_exit 4 run validate "$T/no-such-out"

# ---- never clobber without --force; --force replaces ------------------------------------------------
before=$(stat -c %Y "$T/out/spec.json")
sleep 1
expect_exit 4 run compile "$T/tiny.yaml" -o "$T/out" --emit none
expect_err "exists and is not empty \(use --force to replace it\)" run compile "$T/tiny.yaml" -o "$T/out" --emit none
check "old output untouched" test "$(stat -c %Y "$T/out/spec.json")" = "$before"
expect_exit 0 run compile "$T/tiny.yaml" -o "$T/out" --emit none --force
check "--force replaced it" test "$(stat -c %Y "$T/out/spec.json")" != "$before"
mkdir -p "$T/empty"
expect_exit 0 run compile "$T/tiny.yaml" -o "$T/empty" --emit none

# ---- a failing emitter leaves nothing behind; an existing OUT survives a failed --force ----------
TP="$LLMC_TEST_PLUGIN_DIR/pipeline_fakes"
expect_exit 4 "$LLMC" --plugins "$PLUG" --plugins "$TP" compile "$T/tiny.yaml" -o "$T/failed" --emit fail_emit
check "no OUT after a failed emitter" test ! -e "$T/failed"
expect_exit 4 "$LLMC" --plugins "$PLUG" --plugins "$TP" compile "$T/tiny.yaml" -o "$T/out" --emit fail_emit --force
check "forced failure kept the old OUT" test -s "$T/out/spec.json"
check "no temp dirs left after failures" test -z "$(ls -A "$T" | grep -E '^\.(failed|out)\.(tmp|old)-')"

# ---- the core re-checks every solver answer -----------------------------------------------------------
cat >"$T/budget.yaml" <<'EOF'
target_params: 20M
vocab_size: 32000
EOF
expect_exit 3 "$LLMC" --plugins "$PLUG" --plugins "$TP" solve "$T/budget.yaml" --solver liar
expect_err "solver liar returned dimensions that fail the core's independent check" \
  "$LLMC" --plugins "$PLUG" --plugins "$TP" solve "$T/budget.yaml" --solver liar
expect_exit 0 run solve "$T/budget.yaml"
expect_exit 3 run solve "$T/budget.yaml" --solver no_such_solver --json
expect_err "no_such_solver" run solve "$T/budget.yaml" --solver no_such_solver
expect_out '"relative_error"' run solve "$T/budget.yaml" --json

# ---- solve: the designer's report, --explain, missed budgets ---------------------------------------
{ cat "$T/tiny.yaml"; echo "tie_word_embeddings: true"; } >"$T/tied.yaml"
expect_out "head tied" run solve "$T/tied.yaml"
expect_out '"head": "tied"' run solve "$T/tied.yaml" --json
expect_out "head 16,384" run solve "$T/tiny.yaml"
expect_out "q4_0 " run solve "$T/tiny.yaml"
expect_out "KV cache: .* \(bfloat16\), .* at context 64 x batch 1" run solve "$T/tiny.yaml"
expect_out "KV cache: .* \(float32\), .* at context 32 x batch 4" run solve "$T/tiny.yaml" --kv-dtype f32 --context 32 --batch 4
expect_out "with activation checkpointing" run solve "$T/tiny.yaml" --micro-batch 2 --seq-len 16
expect_exit 2 run solve "$T/tiny.yaml" --kv-dtype int3
expect_exit 2 run solve "$T/tiny.yaml" --batch 0
expect_out '"dataset": null' run solve "$T/tiny.yaml" --json
expect_out "why these dims" run solve "$T/budget.yaml" --explain
expect_out "runner-up shapes" run solve "$T/budget.yaml" --explain
expect_out '"decided_by": "family rule"' run solve "$T/budget.yaml" --explain --json
expect_exit 0 run compile "$T/budget.yaml" -o "$T/explained" --emit none --explain
check "solution.json explains" grep -q '"runner_ups"' "$T/explained/solution.json"
expect_exit 0 run validate "$T/explained"
cat >"$T/miss.yaml" <<'EOF'
target_params: 125M
vocab_size: 128256
dims: {head_dim: 128}
constraints:
  - num_heads in [8, 128]
EOF
expect_exit 1 run solve "$T/miss.yaml"
expect_err "the nearest counts reachable: 273,157,120" run solve "$T/miss.yaml"
expect_err "becomes reachable without dims.head_dim: 128 .*or without constraints\[0\] 'num_heads in \[8, 128\]'" \
  run solve "$T/miss.yaml"
printf 'target_params: 20M\nvocab_size: 32000\nsolver_options: {objective: quickest}\n' >"$T/badopt.yaml"
expect_exit 1 run solve "$T/badopt.yaml"
expect_err "badopt.yaml:3:29: solver_options.objective: unknown objective 'quickest'" run solve "$T/badopt.yaml"

# ---- interrupted compile: no OUT, no temp dir ------------------------------------------------------
"$LLMC" --plugins "$PLUG" --plugins "$TP" compile "$T/tiny.yaml" -o "$T/interrupted" --emit slow_emit &
pid=$!
for _ in $(seq 50); do ls -A "$T" | grep -q '^\.interrupted\.tmp-' && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
wait $pid
code=$?
check "interrupted compile died of SIGINT (status $code)" test "$code" -eq 130
check "no OUT after SIGINT" test ! -e "$T/interrupted"
check "no temp dir after SIGINT" test -z "$(ls -A "$T" | grep -E '^\.interrupted\.')"

# ---- plugins: missing template, failing plugins, strict mode ----------------------------------------
cat >"$T/notmpl.yaml" <<'EOF'
template: no_such_template
dims: {num_layers: 2, hidden_size: 64, num_heads: 4}
vocab_size: 256
EOF
expect_exit 3 run compile "$T/notmpl.yaml" -o "$T/o3"
expect_err "no_such_template" run compile "$T/notmpl.yaml" -o "$T/o3"
expect_exit 3 run compile "$T/tiny.yaml" -o "$T/o3" --emit no_such_emitter
BAD="$LLMC_TEST_PLUGIN_DIR/bad_abi"
expect_exit 0 "$LLMC" --plugins "$PLUG" --plugins "$BAD" solve "$T/tiny.yaml"
expect_err "ABI 999" "$LLMC" --plugins "$PLUG" --plugins "$BAD" solve "$T/tiny.yaml"
expect_exit 3 "$LLMC" --strict-plugins --plugins "$PLUG" --plugins "$BAD" solve "$T/tiny.yaml"
expect_out "failed to load" "$LLMC" --plugins "$PLUG" --plugins "$BAD" plugins
expect_out "^template +decoder_only" run plugins
cat >"$T/llmc.yaml" <<'EOF'
plugin_paths: [nowhere]
strict_plugins: treu
EOF
expect_exit 3 "$LLMC" --config "$T/llmc.yaml" plugins

finish
