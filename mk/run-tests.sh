#!/bin/sh
# Runs the test programs given, at most JOBS at a time, and prints one line
# per program as it finishes (its Check summary), the logs of the programs
# that failed, every check a program could not run here (a line of its log
# that starts "not run:", e.g. no /dev/sg device), and last one line
# "tests: N passed, N failed, N checks not run" counting test programs and
# those checks: a check that could not run is never hidden in a pass.
# Exit 1 if any failed.
#   sh mk/run-tests.sh [-j JOBS] BUILD TEST...      (JOBS: default nproc)
# TEST_WRAPPER (e.g. valgrind ...), when set, runs in front of each program.
set -u

# One program: its log in BUILD/tests/NAME.log, its verdict in NAME.status.
if [ "${1:-}" = --one ]; then
    build=$2; t=$3
    name=$(basename "$t")
    log="$build/tests/$name.log"
    if ${TEST_WRAPPER:-} "$t" >"$log" 2>&1; then status=ok; else status=FAILED; fi
    echo "$status" >"$build/tests/$name.status"
    summary=$(grep -E '^[0-9]+%: Checks' "$log" | tail -n 1)
    notrun=$(grep -c '^not run:' "$log")
    [ "$notrun" -eq 0 ] || summary="$summary ($notrun not run)"
    # One short write, so lines of programs finishing together do not mix.
    printf '%-28s %-6s %s\n' "$name" "$status" "$summary"
    exit 0
fi

jobs=""
case "${1:-}" in
    -j) jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
esac
[ -n "$jobs" ] || jobs=$(nproc 2>/dev/null || echo 1)
build=$1; shift
for t in "$@"; do rm -f "$build/tests/$(basename "$t").status"; done

printf '%s\n' "$@" | xargs -P "$jobs" -n 1 sh "$0" --one "$build"

pass=0; fail=0; failed=""
for t in "$@"; do
    name=$(basename "$t")
    if [ "$(cat "$build/tests/$name.status" 2>/dev/null)" = ok ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); failed="$failed $name"
    fi
done
for name in $failed; do
    echo "---- $name ($build/tests/$name.log, first 60 lines)"
    sed -n '1,60p' "$build/tests/$name.log" 2>/dev/null | sed 's/^/    /'
done
notrun=0
for t in "$@"; do
    name=$(basename "$t")
    grep '^not run:' "$build/tests/$name.log" 2>/dev/null | while IFS= read -r line; do
        echo "$name: $line"
    done
    notrun=$((notrun + $(grep -c '^not run:' "$build/tests/$name.log" 2>/dev/null || true)))
done
[ "$notrun" -eq 1 ] && checks=check || checks=checks
echo "tests: $pass passed, $fail failed, $notrun $checks not run"
[ "$fail" -eq 0 ] || { echo "failed:$failed (logs in $build/tests/*.log)"; exit 1; }
