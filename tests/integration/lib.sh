# Tiny assertion helpers for the integration tests (sourced). Each check prints one line;
# `finish` exits non-zero if any failed.
FAILED=0
PASSED=0

check() { # check "what" command...
  local what=$1; shift
  if "$@"; then PASSED=$((PASSED + 1)); else echo "FAIL: $what"; FAILED=$((FAILED + 1)); fi
}

expect_exit() { # expect_exit CODE command...
  local want=$1; shift
  "$@" >/dev/null 2>&1
  local got=$?
  if [ "$got" -eq "$want" ]; then PASSED=$((PASSED + 1))
  else echo "FAIL: exit $got (expected $want): $*"; FAILED=$((FAILED + 1)); fi
}

expect_out() { # expect_out REGEX command...   (stdout matches)
  local re=$1; shift
  local out; out=$("$@" 2>/dev/null)
  if grep -qE -- "$re" <<<"$out"; then PASSED=$((PASSED + 1))
  else echo "FAIL: stdout of '$*' does not match /$re/:"; echo "$out" | head -20; FAILED=$((FAILED + 1)); fi
}

expect_err() { # expect_err REGEX command...   (stderr matches)
  local re=$1; shift
  local err; err=$("$@" 2>&1 >/dev/null)
  if grep -qE -- "$re" <<<"$err"; then PASSED=$((PASSED + 1))
  else echo "FAIL: stderr of '$*' does not match /$re/:"; echo "$err" | head -20; FAILED=$((FAILED + 1)); fi
}

expect_fail() { # expect_fail CODE REGEX command...   (exit code and stderr of one run, which must end within 10 s)
  local want=$1 re=$2; shift 2
  local err got
  err=$(timeout 10 "$@" 2>&1 >/dev/null)
  got=$?
  if [ "$got" -eq "$want" ] && grep -qE -- "$re" <<<"$err"; then PASSED=$((PASSED + 1))
  else echo "FAIL: exit $got (expected $want, 124 = timed out), stderr /$re/ expected: $*"; echo "$err" | head -10
    FAILED=$((FAILED + 1)); fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
