#!/bin/sh
# mk/mutants.sh BUILD MUTANT... — `make mutants`: replays the bundled suite
# with the real build (every trace must pass) and with each mutant's driver
# core BUILD/mutants/core-<NAME>.so loaded by the real build
# (`scsisim run --driver-core`; some trace must fail), and prints the table
# mutant x traces that caught it.  Exit 1 when the real build fails or skips a trace,
# a mutant is caught by no trace, or a run could not be done.
# MUTANTS_DOC=FILE also writes the table as FILE (docs/mutants.md).
# Platform mutants (not in the core, so not a .so): the real build run with
# SCSISIM_PLATFORM_MUTANT=<NAME> (platform/bus.c reads it); each must be
# caught like a core mutant.
set -u
PLATFORM_MUTANTS="NOINV"
platform_describe() {
    case $1 in
    NOINV) echo "(platform, not core) unmap clears the IOMMU table but queues no IOTLB invalidation: DMA through a stale translation lands in a freed buffer" ;;
    esac
}
build=$1; shift
out=$build/mutants
mkdir -p "$out"
status=0
# Two traces at a time per run, not run's default (4 per CPU): thirteen runs
# side by side keep the CPUs busy already, and more threads only add switches
# (docs/benchmarks.md: 9.6 s at -j2, 12.4 s at -j1, 14.4 s at the default).
jobs=-j2
started=$(date +%s)
# Each mutant run keeps to one CPU, the runs spread over the CPUs this script may
# use: a run's threads (its replays, each trace's driver core and simulated
# controller) then hand commands to each other without cross-CPU wake-ups,
# and no run's memory unmapping has to stop another CPU (docs/benchmarks.md:
# a third less CPU).  MUTANTS_CPU_PIN=0 leaves them to the scheduler.
cpu_list=$(awk '/^Cpus_allowed_list:/ {
        n = split($2, part, ",")
        for (i = 1; i <= n; i++) {
            if (split(part[i], r, "-") == 2) { for (c = r[1]; c <= r[2]; c++) printf "%d ", c }
            else printf "%d ", part[i]
        }
    }' /proc/self/status 2>/dev/null)
ncpu=$(echo $cpu_list | wc -w)
[ "${MUTANTS_CPU_PIN:-1}" = 0 ] && ncpu=0
run_index=0
# pin_next: $pin becomes the command prefix that keeps the next run on the
# next CPU of the list (empty when there is no list or no taskset).
pin_next() {
    pin=
    if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
        pin="taskset -c $(echo $cpu_list | cut -d' ' -f$((run_index % ncpu + 1)))"
        run_index=$((run_index + 1))
    fi
}

# A mutant's description: its entry in core/drv_mutant.h's list
# (" *   F1   text", continued on more deeply indented lines), on one line.
describe() {
    awk -v m="$1" '
        $0 ~ "^ [*]   " m "  " { on = 1; sub("^ [*]   " m " +", ""); text = $0; next }
        on && /^ [*]      +[^ ]/ { sub("^ [*] +", ""); text = text " " $0; next }
        on { exit }
        END { print text }' core/drv_mutant.h
}
# Paths of the failed traces in a TAP report.
failed_traces() {
    sed -n 's/^not ok [0-9]* - \([^ ]*\).*/\1/p' "$1"
}

# --strict: the bundled suite must run whole against the real build; a
# skipped trace would be a check nobody runs (issue 12).
# Every run at once: a replay mostly waits (on the simulated controller's
# timings), so the runs overlap well; the table is then read in order.
# The mutant runs are niced: thirteen runs on two cores starve each other,
# and a command starved past the driver's 1 s timeout ends in a reset; the
# real build, which must pass every trace, goes first for the CPU (a mutant
# run only ever gains a spurious catch, never loses one, from such a reset:
# it still must be caught by the traces written for it).
# The real build is not pinned (nor are its slots: --no-cpu-pin): it must
# pass every trace, and free its threads take whichever CPU is free.  (A
# controller reset in a file-media trace under `make check-repeat`'s load was
# first put down to pinning; it came back unpinned: docs/testing.md.)
"$build/scsisim" run $jobs --no-cpu-pin --strict --tap >"$out/real.tap" 2>"$out/real.log" &
real_pid=$!
for m in "$@"; do
    pin_next
    $pin nice -n 5 "$build/scsisim" run $jobs --driver-core "$out/core-$m.so" --tap >"$out/$m.tap" 2>"$out/$m.log" &
    eval "pid_$m=\$!"   # mutant names are [A-Za-z0-9_] (core/drv_mutant.h)
done
for m in $PLATFORM_MUTANTS; do
    pin_next
    SCSISIM_PLATFORM_MUTANT=$m $pin nice -n 5 "$build/scsisim" run $jobs --tap >"$out/platform-$m.tap" 2>"$out/platform-$m.log" &
    eval "pid_platform_$m=\$!"
done
wait "$real_pid"
rc=$?
total=$(grep -c '^\(not \)\{0,1\}ok [0-9]' "$out/real.tap")
if [ "$rc" -ne 0 ] || [ "$total" -eq 0 ]; then
    echo "mutants: the real build does not pass the suite (exit $rc, $total traces):"
    failed_traces "$out/real.tap" | sed 's/^/    /'
    tail -n 3 "$out/real.log" | sed 's/^/    /'
    status=1
fi

table=$out/table.md
{
    echo "| mutant | what the broken core (or platform) does | traces that catch it | which |"
    echo "|---|---|---:|---|"
} >"$table"
# verdict NAME PID_VAR TAP LOG DESCRIPTION: one row of the table.
verdict_row() {
    eval "wait \$$2"
    rc=$?
    caught=$(failed_traces "$3")
    n=$(printf '%s' "$caught" | grep -c .)
    names=$(printf '%s\n' "$caught" | grep . | sed 's|.*/||; s|\.trace$||' | head -n 6 | paste -sd, - | sed 's/,/, /g')
    [ "$n" -gt 6 ] && names="$names, +$((n - 6)) more"
    verdict=caught
    if [ "$rc" -eq 2 ] || [ "$rc" -gt 3 ]; then
        verdict="RUN FAILED (exit $rc, see $4)"; status=1
    elif [ "$n" -eq 0 ]; then
        verdict="NOT CAUGHT"; names="-"; status=1
    fi
    printf '| %s | %s | %s / %s | %s |\n' "$1" "$5" "$n" "$total" "$names" >>"$table"
    printf 'mutant %-5s %-12s %3s of %s traces fail\n' "$1" "$verdict" "$n" "$total"
}
for m in "$@"; do
    verdict_row "$m" "pid_$m" "$out/$m.tap" "$out/$m.log" "$(describe "$m")"
done
for m in $PLATFORM_MUTANTS; do
    verdict_row "$m" "pid_platform_$m" "$out/platform-$m.tap" "$out/platform-$m.log" "$(platform_describe "$m")"
done
elapsed=$(( $(date +%s) - started ))
echo
cat "$table"
echo
echo "mutants: $total traces, $# core mutants + $(echo $PLATFORM_MUTANTS | wc -w) platform, ${elapsed} s"

if [ -n "${MUTANTS_DOC:-}" ]; then
    {
        echo "# Mutants: the suite has teeth"
        echo
        echo "Each mutant is the driver core with one field bug put back (core/drv_mutant.h),"
        echo "built as a loadable driver core, \`build/mutants/core-<NAME>.so\` (only the core,"
        echo "\`core/\`, recompiled with \`-DDRV_MUTANT_<NAME>=1\`; see docs/porting.md for the"
        echo "driver-core ABI), and loaded by the real build with \`--driver-core\`.  \`make mutants\`"
        echo "replays the bundled suite (\`traces/\`) with the real build, which must pass every"
        echo "trace, and with each mutant, which at least one trace must fail.  Platform mutants are not"
        echo "in the core: the real build runs with \`SCSISIM_PLATFORM_MUTANT=<NAME>\` (read by"
        echo "\`platform/bus.c\`; NOINV skips the IOMMU's IOTLB invalidation on unmap)."
        echo
        echo "Generated by:"
        echo
        echo "    make mutants MUTANTS_DOC=docs/mutants.md"
        echo
        echo "One mutant by hand: \`build/scsisim run --mutant F1\` (or \`build/scsisim run --driver-core build/mutants/core-F1.so\`)."
        echo "How long \`make mutants\` takes, and where the time goes: docs/benchmarks.md."
        echo "Generated bugs the suite was not written for (operator mutants of the firmware,"
        echo "store, controller and driver core) and the suite's mutation score: docs/mutation.md."
        echo
        echo "Suite: $total traces.  Last generated: $(date -u +%Y-%m-%d)."
        echo
        cat "$table"
    } >"$MUTANTS_DOC"
    echo "mutants: wrote $MUTANTS_DOC"
fi
[ "$status" -eq 0 ] || echo "mutants: FAILED"
exit "$status"
