# Sourced by scripts/test.sh and scripts/engines.sh: the pass/fail tally of test logs, and `bounded`.
passed=0
failed=0
last=0

# Adds the counts of every "test result: ..." (cargo) or "# pass/# fail/# cancelled" (node: a test
# that timed out is "cancelled", a failure here) line in $1 to $passed and $failed; $last is the
# passed count of $1 alone.
count() {
  local p f
  p=$(grep -hoE '(test result: [a-zA-Z]+\. [0-9]+ passed|^# pass [0-9]+)' "$1" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  f=$(grep -hoE '([0-9]+ failed;|^# (fail|cancelled) [0-9]+)' "$1" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p))
  failed=$((failed + f))
  last=$p
}

# Runs "$@" for at most $1 seconds (then SIGTERM, SIGKILL 20 s later): a wedged browser or server
# ends its step instead of hanging the whole run. A cut run prints "# fail 1" (count adds it).
# Returns its status.
bounded() {
  local limit="$1" rc=0
  shift
  timeout -k 20 "$limit" "$@" || rc=$?
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "bounded: '$*' did not finish within $limit s and was stopped"
    echo "# fail 1"
  fi
  return "$rc"
}
