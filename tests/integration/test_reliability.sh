#!/usr/bin/env bash
# The output directory under fault injection (docs/cli.md "Replacing an output"): what --force
# may replace, an unreadable OUT, the commit paused between its renames (LD_PRELOAD shim) and hit
# by SIGINT or SIGKILL, SIGINT/SIGTERM at random points of a multi-threaded 100M-parameter
# compile, leftovers of killed compiles, two compiles into one OUT, and a full disk.
# Environment (set by ctest): LLMC, LLMC_BINARY_DIR, LLMC_TEST_PLUGIN_DIR, LLMC_RENAME_SHIM.
# LLMC_TEST_SEED fixes the random signal times; LLMC_SIGNAL_RUNS the number of runs (default 30, fewer
# when one compile takes more than 2.5 s, as under ASan).
set -u
source "$(dirname "$0")/lib.sh"

PLUG="$LLMC_BINARY_DIR/plugins"
FAKES="$LLMC_TEST_PLUGIN_DIR/pipeline_fakes"
SHIM="${LLMC_RENAME_SHIM:-$LLMC_BINARY_DIR/tests/rename_shim.so}"
T=$(mktemp -d)
MNT=""
cleanup() {
  [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
  chmod -R u+rwx "$T" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"
export LLMC_NO_PROGRESS=1
# ASan (CI's sanitizer pass) wants to come first in the library list; the shim is preloaded before it
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
run() { "$LLMC" --plugins "$PLUG" "$@"; }
# started in the background, llmc must be the process $! names (not a subshell running run())
bg() { "$LLMC" --plugins "$PLUG" "$@" & }
seed=${LLMC_TEST_SEED:-$$}
RANDOM=$seed
echo "random seed $seed (LLMC_TEST_SEED=$seed reproduces the signal times)"

cat >"$T/tiny.yaml" <<'EOF'
name: tiny
dims: {num_layers: 2, hidden_size: 64, num_heads: 4, intermediate_size: 128}
vocab_size: 256
context_length: 64
EOF
sed 's/^name: tiny/name: tiny2/' "$T/tiny.yaml" >"$T/tiny2.yaml"
cat >"$T/m100.yaml" <<'EOF'
name: m100
target_params: 100M
vocab_size: 32000
context_length: 512
EOF

# Leftovers of a compile into a directory of $1: temp dirs, moved-aside copies, lock files.
leftovers() { ls -A "$1" | grep -E '^\..+\.(tmp|old)-[A-Za-z0-9]{6}$|^\..+\.lock$'; }
section() { echo "[${SECONDS}s] $1"; }
no_leftovers() { test -z "$(leftovers "$1")"; }
# What identifies a directory's contents without reading gigabytes: every entry's path, type,
# size, inode and mtime, and the marker's text (it carries the spec hash).
snapshot() { (cd "$1" && find . -printf '%P %y %s %i %T@\n' | sort && cat .llmc-output); }
# a complete llmc output: a finished marker and `llmc validate` agrees
complete_output() { grep -q '"complete": true' "$1/.llmc-output" 2>/dev/null && run validate "$1" >/dev/null 2>&1; }
spec_name() { sed -n 's/.*"name": "\([^"]*\)".*/\1/p' "$1/spec.json" | head -1; }
# wait (up to $2 tenths of a second) for a file matching the glob $1 to exist
wait_for() { local i; for i in $(seq "$2"); do compgen -G "$1" >/dev/null && return 0; sleep 0.1; done; return 1; }

# ---- --force replaces only an empty directory or an llmc output -------------------------------------
section "--force replaces only an empty directory or an llmc output"
mkdir -p "$T/sandbox/src"
cp "$T/tiny.yaml" "$T/sandbox/small.yaml"
echo notes >"$T/sandbox/src/notes.txt"
sandbox_intact() { test -s "$T/sandbox/small.yaml" && test "$(cat "$T/sandbox/src/notes.txt")" = notes; }
cd "$T/sandbox"
expect_exit 4 run compile small.yaml -o ../sandbox --force --emit none
expect_err "refusing to write the output to '\.\./sandbox': it is the current directory \('$T/sandbox'\)" \
  run compile small.yaml -o ../sandbox --force --emit none
expect_err "refusing .* it is the current directory" run compile small.yaml -o . --force --emit none
expect_exit 4 run compile small.yaml -o . --emit none
cd "$T/sandbox/src"
expect_err "refusing .* it is a parent of the current directory \('$T/sandbox'\)" run compile ../small.yaml -o .. --force --emit none
expect_err "refusing .* it is a parent of the current directory \('$T'\)" run compile ../small.yaml -o "$T" --force --emit none
cd "$T"
check "the sandbox survived --force into the cwd and its parents" sandbox_intact
check "no leftovers beside the sandbox" no_leftovers "$T"
mkdir -p "$T/home"
echo mine >"$T/home/mine.txt"
expect_err "refusing .* it is your home directory \('$T/home'\)" \
  env HOME="$T/home" "$LLMC" --plugins "$PLUG" compile "$T/tiny.yaml" -o "$T/home/" --force --emit none
check "the home directory survived --force" grep -q mine "$T/home/mine.txt"
expect_err "refusing .* it is the root directory" run compile "$T/tiny.yaml" -o / --force --emit none
mkdir -p "$T/foreign"
echo data >"$T/foreign/data.txt"
expect_exit 4 run compile "$T/tiny.yaml" -o "$T/foreign" --force --emit none
expect_err "--force refused: '$T/foreign' has no \.llmc-output marker, so llmc did not write it" \
  run compile "$T/tiny.yaml" -o "$T/foreign" --force --emit none
check "a directory llmc did not write survived --force" grep -q data "$T/foreign/data.txt"
ln -s "$T/foreign" "$T/link"
expect_err "output path '$T/link' is a symbolic link" run compile "$T/tiny.yaml" -o "$T/link" --force --emit none
check "the symlink and its target survived" test -L "$T/link" -a -s "$T/foreign/data.txt"
expect_exit 0 run compile "$T/tiny.yaml" -o "$T/out" --emit none
check "every output carries the marker with the spec hash" \
  grep -q "\"spec_sha256\": \"$(sha256sum "$T/out/spec.json" | cut -c1-64)\"" "$T/out/.llmc-output"
echo mine >"$T/out/notes.txt"
expect_err "--force refused: '$T/out' holds 'notes.txt', which llmc did not write" \
  run compile "$T/tiny.yaml" -o "$T/out" --force --emit none
check "a file added to an output survived --force" grep -q mine "$T/out/notes.txt"
rm "$T/out/notes.txt"
printf ' ' >>"$T/out/spec.json"
expect_err "--force refused: '$T/out' has a spec.json that differs from the one llmc wrote" \
  run compile "$T/tiny.yaml" -o "$T/out" --force --emit none
check "an edited spec.json survived --force" test "$(tail -c 1 "$T/out/spec.json")" = " "
rm -rf "$T/out"
expect_exit 0 run compile "$T/tiny.yaml" -o "$T/out" --emit none
expect_exit 0 run compile "$T/tiny2.yaml" -o "$T/out" --emit none --force
check "--force replaced an llmc output" test "$(spec_name "$T/out")" = tiny2
check "no leftovers after the refusals" no_leftovers "$T"

# ---- an unreadable OUT counts as not empty ---------------------------------------------------------------
section "an unreadable OUT counts as not empty"
# root reads any directory: drop to nobody when we are root, else we already are unprivileged
unpriv=""
if [ "$(id -u)" != 0 ]; then
  unpriv=self
elif command -v setpriv >/dev/null && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
  "$LLMC" version >/dev/null 2>&1; then
  unpriv=nobody
fi
as_user() {
  if [ "$unpriv" = nobody ]; then setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; else "$@"; fi
}
if [ -n "$unpriv" ]; then
  mkdir -p "$T/u/out"
  echo secret >"$T/u/out/file.txt"
  cp "$T/tiny.yaml" "$T/u/"
  [ "$unpriv" = nobody ] && chown -R nobody "$T/u"
  chmod 333 "$T/u/out"
  expect_exit 4 as_user "$LLMC" --plugins "$PLUG" compile "$T/u/tiny.yaml" -o "$T/u/out" --emit none
  expect_err "'$T/u/out' exists but cannot be read \(Permission denied\): .* counts as not empty" \
    as_user "$LLMC" --plugins "$PLUG" compile "$T/u/tiny.yaml" -o "$T/u/out" --emit none --force
  chmod 755 "$T/u/out"
  check "the unreadable OUT kept its file" grep -q secret "$T/u/out/file.txt"
  check "no leftovers beside the unreadable OUT" no_leftovers "$T/u"
else
  echo "SKIP: unreadable OUT (running as root, and setpriv cannot run llmc as nobody)"
fi

# ---- the commit, paused between its renames ----------------------------------------------------------------
section "the commit, paused between its renames"
# The shim logs the first rename of the process and sleeps 1.5 s after it; the test looks at OUT
# and sends a signal during the pause.
paused_compile() { # paused_compile LOG [ENV=...]... -- llmc args: starts it in the background, sets $pid
  local log=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$log"
  env "${envs[@]}" LD_PRELOAD="$SHIM" LLMC_SHIM_PAUSE_MS=1500 LLMC_SHIM_LOG="$log" \
    "$LLMC" --plugins "$PLUG" "$@" >/dev/null 2>"$log.err" &
  pid=$!
  wait_for "$log" 100
}
if [ -f "$SHIM" ]; then
  C="$T/commit"
  mkdir -p "$C"
  # RENAME_EXCHANGE: OUT is the complete new output the moment the rename is done
  run compile "$T/tiny.yaml" -o "$C/out" --emit none >/dev/null
  paused_compile "$T/shim.log" -- compile "$T/tiny2.yaml" -o "$C/out" --emit none --force
  check "the commit swapped the directories in one renameat2(RENAME_EXCHANGE)" grep -q "^renameat2 .* 2$" "$T/shim.log"
  check "paused after the exchange: OUT is the complete new output" complete_output "$C/out"
  check "paused after the exchange: OUT is tiny2" test "$(spec_name "$C/out")" = tiny2
  kill -INT $pid
  wait $pid
  code=$?
  check "SIGINT during the commit: it completes, exit 0 (got $code)" test "$code" -eq 0
  check "SIGINT during the commit is reported" grep -q "SIGINT arrived after the new output was complete" "$T/shim.log.err"
  check "after the commit: OUT complete" complete_output "$C/out"
  check "after the commit: no leftovers" no_leftovers "$C"
  # SIGKILL after the exchange: OUT is complete; the old copy waits in the temp dir for the next compile
  paused_compile "$T/shim.log" -- compile "$T/tiny.yaml" -o "$C/out" --emit none --force
  kill -KILL $pid
  wait $pid 2>/dev/null
  check "SIGKILL after the exchange: OUT complete" complete_output "$C/out"
  check "SIGKILL after the exchange: OUT is the new output" test "$(spec_name "$C/out")" = tiny
  expect_err "note: removed '$C/\.out\.tmp-[A-Za-z0-9]{6}', left behind by an llmc compile that was killed" \
    run compile "$T/tiny2.yaml" -o "$C/out" --emit none --force
  check "the next compile cleaned up after SIGKILL" no_leftovers "$C"

  # no RENAME_EXCHANGE (the documented fallback): the old OUT is moved aside, then the new one in
  paused_compile "$T/shim.log" LLMC_SHIM_NO_RENAME_FLAGS=1 -- compile "$T/tiny.yaml" -o "$C/out" --emit none --force
  check "fallback: the old OUT was moved aside first" grep -q "^rename $C/out $C/\.out\.old-" "$T/shim.log"
  kill -INT $pid
  wait $pid
  code=$?
  check "fallback, SIGINT between the renames: the commit completes, exit 0 (got $code)" test "$code" -eq 0
  check "fallback, SIGINT between the renames: OUT complete" complete_output "$C/out"
  check "fallback, SIGINT between the renames: OUT is the new output" test "$(spec_name "$C/out")" = tiny
  check "fallback, SIGINT between the renames: no leftovers" no_leftovers "$C"
  # SIGKILL between the renames: the next compile puts the old OUT back, exactly as it was
  before=$(snapshot "$C/out")
  paused_compile "$T/shim.log" LLMC_SHIM_NO_RENAME_FLAGS=1 -- compile "$T/tiny2.yaml" -o "$C/out" --emit none --force
  kill -KILL $pid
  wait $pid 2>/dev/null
  check "fallback, SIGKILL between the renames: the old copy is beside OUT" compgen -G "$C/.out.old-*" >/dev/null
  expect_err "warning: restored '$C/out' from '$C/\.out\.old-[A-Za-z0-9]{6}'" run compile "$T/tiny2.yaml" -o "$C/out" --emit none
  check "fallback, SIGKILL between the renames: the old OUT is back, unchanged" test "$(snapshot "$C/out")" = "$before"
  check "fallback, SIGKILL between the renames: no leftovers after the next compile" no_leftovers "$C"
  # fallback into an absent OUT (no RENAME_NOREPLACE either)
  expect_exit 0 env LD_PRELOAD="$SHIM" LLMC_SHIM_NO_RENAME_FLAGS=1 "$LLMC" --plugins "$PLUG" \
    compile "$T/tiny.yaml" -o "$C/fresh" --emit none
  check "fallback into an absent OUT: complete" complete_output "$C/fresh"
else
  echo "FAIL: the rename shim '$SHIM' was not built"
  FAILED=$((FAILED + 1))
fi

# ---- SIGINT/SIGTERM at random points of a multi-threaded 100M-parameter compile ------------------------------
section "SIGINT/SIGTERM at random points of a multi-threaded 100M-parameter compile"
S="$T/signals"
mkdir -p "$S"
big=(compile "$T/m100.yaml" -o "$S/out" --emit safetensors --dtype bf16 --threads 2)
expect_exit 0 run "${big[@]}"
t0=$(date +%s%N) # the runs below replace OUT: time one replacement
expect_exit 0 run "${big[@]}" --force
full_ms=$((($(date +%s%N) - t0) / 1000000))
old=$(snapshot "$S/out")
runs=${LLMC_SIGNAL_RUNS:-30}
# a slow build (the CI's ASan pass) gets fewer runs, so that the section stays near a minute
if [ -z "${LLMC_SIGNAL_RUNS:-}" ] && [ "$full_ms" -gt 2500 ]; then
  runs=$((30 * 2500 / full_ms))
  [ "$runs" -lt 10 ] && runs=10
fi
n_old=0 n_new=0 n_bad=0
for i in $(seq "$runs"); do
  sig=INT want=130
  [ $((i % 2)) -eq 0 ] && sig=TERM want=143
  delay=$((RANDOM * full_ms / 32768))
  bg "${big[@]}" --force >/dev/null 2>"$T/sig.err"
  pid=$!
  sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
  kill -$sig $pid 2>/dev/null
  wait $pid
  code=$?
  if [ -n "$(leftovers "$S")" ]; then
    echo "FAIL: run $i (SIG$sig after ${delay} ms, exit $code) left: $(leftovers "$S" | tr '\n' ' ')"
    n_bad=$((n_bad + 1))
  elif [ "$code" -eq "$want" ] && [ "$(snapshot "$S/out")" = "$old" ]; then
    n_old=$((n_old + 1))   # stopped: the old OUT is exactly as it was
  elif [ "$code" -eq 0 ] || [ "$code" -eq "$want" ]; then
    # finished before the signal, or the signal came after the commit: a complete new OUT
    if complete_output "$S/out"; then
      n_new=$((n_new + 1))
      old=$(snapshot "$S/out")
    else
      echo "FAIL: run $i (SIG$sig after ${delay} ms, exit $code): OUT is neither the old output nor a complete new one"
      n_bad=$((n_bad + 1))
    fi
  else
    echo "FAIL: run $i (SIG$sig after ${delay} ms): exit $code"; head -5 "$T/sig.err"
    n_bad=$((n_bad + 1))
  fi
done
echo "signals: $runs runs over 0..$full_ms ms (a full compile with --force took $full_ms ms): $n_old stopped with the old OUT intact, $n_new completed, $n_bad bad"
check "every signalled compile left the old OUT intact or a complete new one, and no leftovers" test "$n_bad" -eq 0
check "some runs were stopped mid-compile" test "$n_old" -gt 0

# ---- SIGKILL leaves a temp dir; the next compile into the same parent removes it -----------------------------
section "SIGKILL leaves a temp dir; the next compile into the same parent removes it"
bg "${big[@]}" --force >/dev/null 2>&1
pid=$!
wait_for "$S/.out.tmp-*/safetensors/model.safetensors" 100
sleep 0.3
kill -KILL $pid
wait $pid 2>/dev/null
check "SIGKILL left a temp dir behind" test -n "$(leftovers "$S" | grep tmp-)"
# a compile into another directory of the same folder removes the temp dir (not the lock file:
# only a compile into the same OUT may remove that)
expect_err "note: removed '$S/\.out\.tmp-[A-Za-z0-9]{6}', left behind by an llmc compile that was killed" \
  run compile "$T/tiny.yaml" -o "$S/sibling" --emit none
check "no temp dir left after the compile that followed SIGKILL" test -z "$(leftovers "$S" | grep -v '^\.out\.lock$')"
expect_exit 0 run compile "$T/tiny.yaml" -o "$S/out" --emit none --force
check "no leftovers after the next compile into the same OUT" no_leftovers "$S"
rm -rf "$S/sibling"
# ... but a live compile's temp dir is never touched, even if its lock file was removed by hand
L="$T/live"
mkdir -p "$L"
"$LLMC" --plugins "$PLUG" --plugins "$FAKES" compile "$T/tiny.yaml" -o "$L/out" --emit slow_emit >/dev/null 2>&1 &
slow=$!
wait_for "$L/.out.tmp-*/slow/partial.txt" 100
live_tmp=$(compgen -G "$L/.out.tmp-*")
# ---- two compiles into one OUT: the second fails at once and says who holds the lock -----------------------
section "two compiles into one OUT: the second fails at once and says who holds the lock"
t0=$(date +%s%N)
expect_err "another llmc compile \(pid $slow\) is writing '$L/out' \(it holds the lock '$L/\.out\.lock'\)" \
  run compile "$T/tiny.yaml" -o "$L/out" --emit none --force
check "the second compile failed at once" test $((($(date +%s%N) - t0) / 1000000)) -lt 2000
expect_exit 4 run compile "$T/tiny.yaml" -o "$L/out" --emit none
rm "$L/.out.lock"
expect_exit 0 run compile "$T/tiny.yaml" -o "$L/out" --emit none
check "a live compile's temp dir was not touched" test -s "$live_tmp/slow/partial.txt"
kill -TERM $slow
wait $slow
code=$?
check "SIGTERM: exit 143 (got $code)" test "$code" -eq 143
check "the compile that ran meanwhile is intact" complete_output "$L/out"
check "no leftovers after SIGTERM" no_leftovers "$L"
# two real compiles started together: one wins, the other fails clearly, OUT complete
bg "${big[@]}" --force >"$T/a.out" 2>"$T/a.err"
a=$!
bg "${big[@]}" --force >"$T/b.out" 2>"$T/b.err"
b=$!
wait $a
ca=$?
wait $b
cb=$?
check "two compiles at once: one succeeded, one exited 4 (got $ca, $cb)" test "$((ca + cb))" -eq 4 -a "$((ca * cb))" -eq 0
check "two compiles at once: the loser names the winner" grep -qh "another llmc compile (pid [0-9]*) is writing" "$T/a.err" "$T/b.err"
check "two compiles at once: OUT complete" complete_output "$S/out"
check "two compiles at once: no leftovers" no_leftovers "$S"

# ---- a full disk: exit 4, no partial OUT, the old OUT intact --------------------------------------------------
section "a full disk: exit 4, no partial OUT, the old OUT intact"
MNT="$T/small-disk"
mkdir -p "$MNT"
if mount -t tmpfs -o size=3m tmpfs "$MNT" 2>/dev/null; then
  cat >"$T/m2.yaml" <<'EOF'
name: m2
dims: {num_layers: 2, hidden_size: 256, num_heads: 4, intermediate_size: 1024}
vocab_size: 1024
context_length: 64
EOF
  expect_exit 0 run compile "$T/tiny.yaml" -o "$MNT/out" --emit safetensors
  before=$(snapshot "$MNT/out")
  expect_exit 4 run compile "$T/m2.yaml" -o "$MNT/out" --emit safetensors --force
  expect_err "No space left on device" run compile "$T/m2.yaml" -o "$MNT/out" --emit safetensors --force
  check "ENOSPC: the old OUT is intact" test "$(snapshot "$MNT/out")" = "$before"
  expect_exit 4 run compile "$T/m2.yaml" -o "$MNT/new" --emit safetensors
  check "ENOSPC: no partial new OUT" test ! -e "$MNT/new"
  check "ENOSPC: no leftovers" no_leftovers "$MNT"
  umount "$MNT" && MNT=""
else
  echo "SKIP: full disk (mount -t tmpfs is not permitted here)"
  MNT=""
fi

finish
