#!/bin/sh
# Runs every test binary given, prints each one's Check summary, and ends with
# one line "tests: N passed, N failed" counting test programs.  Exit 1 if any failed.
set -u
build=$1; shift
pass=0; fail=0; failed=""
for t in "$@"; do
    name=$(basename "$t")
    log="$build/tests/$name.log"
    # TEST_WRAPPER (e.g. valgrind ...) runs in front of each program when set.
    if ${TEST_WRAPPER:-} "$t" >"$log" 2>&1; then
        pass=$((pass + 1)); status=ok
    else
        fail=$((fail + 1)); status=FAILED; failed="$failed $name"
    fi
    summary=$(grep -E '^[0-9]+%: Checks' "$log" | tail -n 1)
    printf '%-28s %-6s %s\n' "$name" "$status" "$summary"
    if [ "$status" = FAILED ]; then sed -n '1,60p' "$log" | sed 's/^/    /'; fi
done
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed (logs in $build/tests/*.log)"; exit 1; }
