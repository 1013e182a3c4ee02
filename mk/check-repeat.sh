#!/bin/sh
# Runs `make check` N times in a row, niced, optionally beside a load
# generator, and stops at the first run that fails: it names the run, the
# test programs that failed (run-tests.sh's "failed:" line), the traces or
# mutants that went wrong (mutants.sh), and where the whole log is.  A flake
# hunt, not a benchmark: each run's time and the load average are printed
# only so a report can say how loaded the machine was.  docs/testing.md.
#
#   sh mk/check-repeat.sh [--load none|build|busy] [--jobs J] N
#     --load none   nothing added (default): for a machine already loaded
#     --load build  a parallel build (make -j2) of a scratch copy of the tree
#                   (git archive HEAD), rebuilt from clean in a loop: the
#                   "parallel build running" of issue 12
#     --load busy   two busy loops (one per core of a 2-core machine)
#     --jobs J      make -jJ check (default 2)
#   make check-repeat N=20 LOAD=build
#
# The load generator runs in its own process group and is ended, by that
# group's id, when the script exits (done, failed or interrupted).
# Logs: build/check-repeat/run-I.log (BUILD=... to move them).
set -u

load=none
jobs=2
while [ $# -gt 1 ]; do
    case "$1" in
        --load) load=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        *) break ;;
    esac
done
n=${1:-}
case "$n" in
    ''|*[!0-9]*|0)
        echo "check-repeat: how many runs? a positive number, e.g. sh mk/check-repeat.sh --load build 20" >&2
        exit 2 ;;
esac
case "$load" in
    none|build|busy) ;;
    *) echo "check-repeat: --load $load: one of none, build, busy" >&2; exit 2 ;;
esac

# Called from `make check-repeat`: the runs are make's own, not sub-makes.
unset MAKEFLAGS MFLAGS MAKELEVEL
build=${BUILD:-build}
dir=$build/check-repeat
mkdir -p "$dir"
gens=""

stop_load() {
    for g in $gens; do
        kill -s TERM -- "-$g" 2>/dev/null
    done
    for g in $gens; do
        wait "$g" 2>/dev/null
    done
    gens=""
}
trap 'stop_load' EXIT
trap 'stop_load; exit 130' INT TERM

# Each generator is started by setsid (its own process group, so it and the
# make it runs end together) and recorded by pid; it runs at the same nice
# level as the checks, so it competes with them and not with other work.
case "$load" in
    build)
        scratch=$dir/scratch
        rm -rf "$scratch"
        mkdir -p "$scratch"
        git archive HEAD | tar -x -C "$scratch" || { echo "check-repeat: cannot copy the tree to $scratch" >&2; exit 2; }
        setsid nice -n 10 sh -c 'while :; do make -C "$1" -j2 BUILD=build-load all >/dev/null 2>&1; rm -rf "$1/build-load"; done' \
            sh "$scratch" &
        gens=$!
        ;;
    busy)
        for _ in 1 2; do
            setsid nice -n 10 sh -c 'while :; do :; done' &
            gens="$gens $!"
        done
        ;;
esac

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "check-repeat: $n runs of make -j$jobs check, niced, load generator: $load; load average now $(loadavg)"
started=$(date +%s)
i=1
while [ "$i" -le "$n" ]; do
    log=$dir/run-$i.log
    t0=$(date +%s)
    nice -n 10 make -j"$jobs" BUILD="$build" check >"$log" 2>&1
    rc=$?
    t1=$(date +%s)
    tests=$(grep -E '^tests: [0-9]+ passed' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        echo "check-repeat: run $i of $n FAILED (make exit $rc, $((t1 - t0)) s, load average $(loadavg)); log: $log"
        grep -E '^(tests: |failed:)' "$log" | sed 's/^/    /'
        # mutants.sh's complaints: a trace the real build failed, a mutant no trace caught, a run that broke
        grep -E -A 6 'does not pass the suite' "$log" | sed 's/^/    /'
        grep -E '^mutant .*(NOT CAUGHT|RUN FAILED)' "$log" | sed 's/^/    /'
        [ -n "$tests" ] || tail -n 15 "$log" | sed 's/^/    /'
        exit 1
    fi
    mut=$(grep -E '^mutants: [0-9]+ traces' "$log" | tail -n 1)
    caught=$(grep -c '^mutant .* caught ' "$log")
    echo "check-repeat: run $i of $n ok ($((t1 - t0)) s, load average $(loadavg)): $tests; $caught mutants caught; $mut"
    i=$((i + 1))
done
echo "check-repeat: $n of $n runs passed in $(( $(date +%s) - started )) s (load generator: $load; load average now $(loadavg))"
