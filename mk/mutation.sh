#!/bin/sh
# mk/mutation.sh [--sample N] [--seed S] [--jobs J] [--timeout SECONDS]
#                [--doc FILE] [--check] [--report] BUILD
# mk/mutation.sh --one BUILD SECONDS INDEX ID   (one mutant; xargs runs these)
# `make mutation` and the sampled run of `make check` (docs/mutation.md).
#
# Lists the operator mutants of four layers with the generator
# (BUILD/tools/mutate list: the firmware sim/fw, the store and cache
# sim/store, the controller sim/ctrl + sim/iommu, the driver core core/),
# N/4 of each picked by the seed; builds each from a mutated copy under
# BUILD/mutation/m/ (check/ for --check; never the sources; compile and link lines from
# BUILD/mutation/build.sh, which the Makefile writes) and runs the bundled
# suite with it, `scsisim run` alone, under a time limit.  A mutant is
#   killed      the run failed a trace, crashed, or refused the mutant's
#               core at its preflight (exit 2; the real build passes first)
#   timeout     the run did not end within the limit (killed, counted apart)
#   survived    every trace passed
#   stillborn   it did not compile or link (not counted)
# Survivors marked in tools/mutate/equivalent.txt (ID reason) are
# equivalent and leave the score: killed / (killed + survived - equivalent).
#
# --report: no build and no run; the report (and --doc) again from the
# results of the last run in BUILD/mutation/ (after marking survivors).
# --check (make check): exit 1 only if the tool broke (no mutant listed,
# one that cannot be applied, none of the sample built, a run that could not
# be done) or the suite killed none of the sample.  A sampled survivor that
# is neither equivalent nor listed in tools/mutate/known-survivors.txt is
# named, not failed: the sample follows the sources, so every change draws
# another one.  Without --check: exit 0 (the figure is the result), 1 if the
# tool broke.
set -u
sample=240 seed=12 jobs=2 limit=180 doc="" check=0 report=0
while [ $# -gt 1 ]; do
    case $1 in
        --sample) sample=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --timeout) limit=$2; shift 2 ;;
        --doc) doc=$2; shift 2 ;;
        --check) check=1; shift ;;
        --report) report=1; shift ;;
        --one) break ;;
        *) echo "mutation: unknown option $1" >&2; exit 2 ;;
    esac
done

# --one BUILD LIMIT INDEX ID: build and run one mutant (xargs runs these).
if [ "${1:-}" = --one ]; then
    build=$2 limit=$3 n=$4 id=$5
    dir=$build/mutation/${MUTATION_RUN:-m}/$n
    rm -rf "$dir" && mkdir -p "$dir"
    file=${id%:*:*:*}
    base=$(basename "$file" .c)
    # shellcheck disable=SC1091
    . "$build/mutation/build.sh"
    result() { echo "$1" >"$dir/result"; }
    if ! "$build/tools/mutate" apply "$id" "$dir/$base.c" 2>"$dir/apply.log"; then
        result broken; exit 0
    fi
    case $file in
        core/*)
            if ! mut_cc_core "$dir/$base.c" "$dir/$base.o" >"$dir/build.log" 2>&1 ||
               ! mut_link_core "$dir/core.so" "$dir/$base.o" "$build/obj/${file%.c}.o" >>"$dir/build.log" 2>&1; then
                result stillborn; exit 0
            fi
            set -- "$build/scsisim" run --tap --driver-core "$dir/core.so" ;;
        *)
            if ! mut_cc_sim "$dir/$base.c" "$(dirname "$file")" "$dir/$base.o" >"$dir/build.log" 2>&1 ||
               ! mut_link_sim "$dir/scsisim" "$dir/$base.o" >>"$dir/build.log" 2>&1; then
                result stillborn; exit 0
            fi
            set -- "$dir/scsisim" run --tap ;;
    esac
    # The mutant's own scsisim is not next to traces/: name the suite.  Exit
    # 2 (unusable input) is a kill too: the real build passes this very
    # suite with these very options (checked before any mutant runs).
    SCSISIM_TRACES=$(pwd)/traces timeout -k 10 "$limit" "$@" >"$dir/run.tap" 2>"$dir/run.log"
    rc=$?
    case $rc in
        0) result survived ;;
        1) result killed ;;
        124|137) result timeout ;;
        2) result "killed (exit 2: the suite refused the mutant's input handling)" ;;
        *) result "killed (crash, exit $rc)" ;;
    esac
    # A survivor's objects are kept for a look; others are removed.
    [ "$rc" -eq 0 ] || rm -f "$dir/scsisim" "$dir/core.so" "$dir/$base.o"
    exit 0
fi

build=${1:?usage: mk/mutation.sh [--sample N] [--seed S] [--jobs J] [--timeout S] [--doc FILE] [--check] BUILD}
tool=$build/tools/mutate
out=$build/mutation
started=$(date +%s)
# The sampled run of make check and the full run keep their results apart.
run=m
[ "$check" -eq 1 ] && run=check
export MUTATION_RUN=$run
[ -x "$tool" ] && [ -f "$out/build.sh" ] || { echo "mutation: $tool or $out/build.sh missing: run make first"; exit 1; }
command -v timeout >/dev/null || { echo "mutation: timeout (coreutils) not installed: apt-get install coreutils"; exit 1; }

# The four layers.  The firmware plug-in loader (sim/fw/fw_plugin*.c) is
# left out: `scsisim run` loads no plug-in without --firmware, so its
# mutants say nothing about the suite (tests/test_fw_plugin*.c cover it).
fw=$(ls sim/fw/*.c | grep -v '/fw_plugin')
store=$(ls sim/store/*.c)
ctrl=$(ls sim/ctrl/*.c sim/iommu/*.c)
core=$(ls core/*.c)
per=$(( (sample + 3) / 4 ))
list=$out/$run.tsv
if [ "$report" -eq 0 ]; then
    : >"$list"
    all=0
    for layer in fw store ctrl core; do
        eval "files=\$$layer"
        # shellcheck disable=SC2154,SC2086
        if ! "$tool" list --seed "$seed" --sample "$per" $files >"$out/list-$layer.tsv"; then
            echo "mutation: the generator failed on the $layer layer"; exit 1
        fi
        sed "s/^/$layer	/" "$out/list-$layer.tsv" >>"$list" && rm -f "$out/list-$layer.tsv"
        # shellcheck disable=SC2086
        all=$(( all + $("$tool" list $files | wc -l) ))
    done
    echo "$all" >"$out/$run.all"
fi
[ -s "$list" ] || { echo "mutation: the generator listed no mutant ($list)"; exit 1; }
total=$(wc -l <"$list")
all=$(cat "$out/$run.all")
echo "mutation: $total mutants (seed $seed) of $all generated, $jobs at a time, limit ${limit}s each"

if [ "$report" -eq 0 ]; then
    # The real build first: it must pass the suite with the options the
    # mutants get, or a failing mutant would prove nothing.
    if ! SCSISIM_TRACES=$(pwd)/traces "$build/scsisim" run --tap >"$out/real.tap" 2>"$out/real.log"; then
        echo "mutation: FAILED: the real build does not pass the suite ($out/real.tap)"; exit 1
    fi
    rm -rf "${out:?}/$run"
    awk -F '\t' '{ print NR, $2 }' "$list" | xargs -P "$jobs" -L 1 sh mk/mutation.sh --one "$build" "$limit"
    echo $(( $(date +%s) - started )) >"$out/$run/elapsed"
fi

# The marks: ID reason, '#' comments.
marked() { # FILE ID -> the reason, or nothing
    awk -v id="$2" '$1 == id { $1 = ""; sub(/^ +/, ""); print; found = 1; exit } END { exit !found }' "$1"
}
equiv=tools/mutate/equivalent.txt known=tools/mutate/known-survivors.txt
killed=0 timeouts=0 survived=0 equivalent=0 stillborn=0 broken=0 unexpected=0
survivors=$out/survivors.md
: >"$survivors"
layers_md=$out/layers.md
: >"$layers_md"
for layer in fw store ctrl core; do eval "k_$layer=0 s_$layer=0 e_$layer=0 b_$layer=0"; done
n=0
while IFS='	' read -r layer id before after; do
    n=$((n + 1))
    r=$(cat "$out/$run/$n/result" 2>/dev/null || echo "broken (no result)")
    case $r in
        killed*) killed=$((killed + 1)); eval "k_$layer=\$((k_$layer + 1))" ;;
        timeout) killed=$((killed + 1)); timeouts=$((timeouts + 1)); eval "k_$layer=\$((k_$layer + 1))" ;;
        stillborn) stillborn=$((stillborn + 1)); eval "b_$layer=\$((b_$layer + 1))" ;;
        survived)
            survived=$((survived + 1)); eval "s_$layer=\$((s_$layer + 1))"
            if why=$(marked "$equiv" "$id"); then
                equivalent=$((equivalent + 1)); eval "e_$layer=\$((e_$layer + 1))"
                mark="equivalent: $why"
            elif why=$(marked "$known" "$id"); then
                mark="known survivor: $why"
            else
                mark="**not marked**"; unexpected=$((unexpected + 1))
            fi
            printf '| `%s` | `%s` | `%s` | %s |\n' "$id" "$before" "$after" "$mark" >>"$survivors"
            echo "mutation: survived $id: $after ($mark)" ;;
        *) broken=$((broken + 1)); echo "mutation: $id: $r (see $out/$run/$n/)" ;;
    esac
done <"$list"
counted=$((killed + survived - equivalent))
score=$(awk -v k="$killed" -v c="$counted" 'BEGIN { if (c > 0) printf "%.1f%%", 100 * k / c; else print "n/a" }')
for layer in fw store ctrl core; do
    eval "k=\$k_$layer s=\$s_$layer e=\$e_$layer b=\$b_$layer"
    # shellcheck disable=SC2154
    ls=$(awk -v k="$k" -v c="$((k + s - e))" 'BEGIN { if (c > 0) printf "%.1f%%", 100 * k / c; else print "n/a" }')
    case $layer in
        fw) name="firmware (sim/fw)" ;; store) name="store and cache (sim/store)" ;;
        ctrl) name="controller (sim/ctrl, sim/iommu)" ;; core) name="driver core (core/)" ;;
    esac
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$k" "$s" "$e" "$b" "$ls" >>"$layers_md"
done
elapsed=$(cat "$out/$run/elapsed" 2>/dev/null || echo "?")
echo "mutation: $total mutants: $killed killed ($timeouts by timeout), $survived survived ($equivalent equivalent), $stillborn stillborn, $broken broken; score $killed / $counted = $score; ${elapsed} s"

if [ -n "$doc" ]; then
    {
        echo "# Mutation score of \`scsisim run\`"
        echo
        echo "How many generated bugs the bundled suite catches on its own.  The tool and"
        echo "its operators: [How it works](#how-it-works) below; the built-in field-bug"
        echo "mutants are a different thing (docs/mutants.md)."
        echo
        echo "Generated by:"
        echo
        echo "    make mutation        # MUTATION_N=$sample MUTATION_SEED=$seed MUTATION_JOBS=$jobs MUTATION_TIMEOUT=$limit"
        echo
        echo "Last run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), ${elapsed} s, a machine shared with other builds."
        echo
        echo "**Mutation score: $killed / $counted = $score** of the non-equivalent mutants"
        echo "($total sampled of $all generated; $killed killed, $timeouts of them by the time limit;"
        echo "$survived survived, $equivalent of them equivalent; $stillborn stillborn, not counted)."
        echo
        echo "| layer | killed | survived | equivalent | stillborn | score |"
        echo "|---|---:|---:|---:|---:|---:|"
        cat "$layers_md"
        echo
        echo "## Survivors"
        echo
        if [ -s "$survivors" ]; then
            echo "| mutant | original | mutated | mark |"
            echo "|---|---|---|---|"
            cat "$survivors"
        else
            echo "None."
        fi
        echo
        cat tools/mutate/how.md
        if [ -f tools/mutate/history.md ]; then echo; cat tools/mutate/history.md; fi
    } >"$doc"
    echo "mutation: wrote $doc"
fi

if [ "$total" -gt 0 ] && [ $((killed + survived)) -eq 0 ]; then
    echo "mutation: FAILED: none of the $total mutants built (see $out/$run/*/build.log)"; exit 1
fi
if [ "$broken" -gt 0 ]; then
    echo "mutation: FAILED: $broken mutant(s) could not be applied or run"; exit 1
fi
if [ "$check" -eq 1 ] && [ $((killed + survived)) -gt 0 ] && [ "$killed" -eq 0 ]; then
    echo "mutation: FAILED: the suite killed none of the $((killed + survived)) sampled mutants that built"; exit 1
fi
if [ "$check" -eq 1 ] && [ "$unexpected" -gt 0 ]; then
    echo "mutation: note: $unexpected sampled mutant(s) survived the suite and are neither equivalent"
    echo "    ($equiv) nor known survivors ($known): a trace that kills them is wanted (docs/mutation.md)"
fi
exit 0
