#!/bin/sh
# bench/serve_vs_tgt.sh — `scsisim serve` (the whole stack: iSCSI front-end ->
# driver core -> simulated controller) against tgt's tgtd (a 512 MiB sparse
# backing file), side by side in one run, with libiscsi's iscsi-perf:
#   4 KiB random reads at queue depth 32, 1 MiB sequential reads at depth 8;
# and `scsisim serve` once more with header digests required
# (--header-digest crc32c, ISA-L's CRC32C) against the same serve without
# digests, for the digests-on / digests-off ratio.  libiscsi (1.19, so
# iscsi-perf) negotiates header digests only: it always offers
# DataDigest=None, so data digests cannot be measured with it, and no other
# initiator on this machine speaks iSCSI from user space.  (iscsi-perf sets
# its own HeaderDigest preference, None first, over a URL's header_digest=,
# so the target is what makes digests happen.)
# Loopback only (127.0.0.1), SECONDS per measurement (default 10), ROUNDS
# alternations (default 2; the best round of each counts, as the machine is
# shared).  Needs root for tgtd; prints a Markdown table and the ratios.
# LOOPS=N runs both serves with --loops N (default: serve's own default, one
# event loop per online CPU); SESSIONS=N runs N iscsi-perf at once, each its
# own session (initiator name), against every target and adds their figures
# (default 1).  One session is one connection, which lives on one loop, so
# --loops only shows with SESSIONS > 1; to compare one loop with two:
#   LOOPS=1 SESSIONS=2 sh bench/serve_vs_tgt.sh; LOOPS=2 SESSIONS=2 sh bench/serve_vs_tgt.sh
# Usage: sh bench/serve_vs_tgt.sh [build/scsisim]
set -eu
bin=${1:-build/scsisim}
secs=${SECONDS_PER_RUN:-10}
rounds=${ROUNDS:-2}
loops=${LOOPS:-}
sessions=${SESSIONS:-1}
tgt_port=${TGT_PORT:-3266}
ctl=${TGT_CONTROL_PORT:-7}
tmp=$(mktemp -d /tmp/serve-vs-tgt.XXXXXX)
serve_pid=""
dig_pid=""
tgt_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    [ -n "$dig_pid" ] && kill -TERM "$dig_pid" 2>/dev/null && wait "$dig_pid" 2>/dev/null || true
    # tgtd does not stop on SIGTERM while it has targets; this one is ours
    # and its backing file is scratch.
    [ -n "$tgt_pid" ] && kill -KILL "$tgt_pid" 2>/dev/null && wait "$tgt_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
for t in iscsi-perf tgtd tgtadm; do
    command -v "$t" >/dev/null 2>&1 || { echo "serve_vs_tgt: $t is not installed (apt-get install libiscsi-bin tgt)" >&2; exit 2; }
done

# start_serve NAME [serve options...]: starts `scsisim serve`, waits for its
# URL, sets NAME_url and NAME_pid.
start_serve() {
    name=$1; shift
    "$bin" serve --listen 127.0.0.1:0 ${loops:+--loops "$loops"} "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    eval "${name}_pid=$!"
    i=0
    while ! grep -q 'iscsi://' "$tmp/$name.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || { cat "$tmp/$name.err" >&2; exit 1; }
        sleep 0.05
    done
    eval "${name}_url=\$(grep -o 'iscsi://[^ ]*' \"\$tmp/$name.out\" | head -n 1)"
}
start_serve serve
start_serve dig --header-digest crc32c

truncate -s 512M "$tmp/tgt.img"
tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$tgt_port" >"$tmp/tgtd.log" 2>&1 &
tgt_pid=$!
i=0
until tgtadm -C "$ctl" --lld iscsi --op show --mode target >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$tmp/tgtd.log" >&2; exit 1; }
    sleep 0.05
done
tgtadm -C "$ctl" --lld iscsi --op new --mode target --tid 1 -T iqn.2025-01.org.tgt:disk
tgtadm -C "$ctl" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$tmp/tgt.img"
tgtadm -C "$ctl" --lld iscsi --op bind --mode target --tid 1 -I ALL
tgt_url="iscsi://127.0.0.1:$tgt_port/iqn.2025-01.org.tgt:disk/1"

# iscsi-perf URL QD BLOCKS [-r] -> "IOPS MBPS" (its final average; with
# SESSIONS > 1 the sum over that many at once); a run that gives no average
# (a failed login, a crash) stops the script.
perf() {
    n=0
    while [ $n -lt "$sessions" ]; do
        n=$((n + 1))
        timeout $((secs + 20)) iscsi-perf -i "iqn.2025-01.org.scsisim:perf$n" -m "$2" -b "$3" -t "$secs" $4 "$1" \
            >"$tmp/perf.$n" 2>&1 &
    done
    wait
    iops=0; mbps=0; n=0
    while [ $n -lt "$sessions" ]; do
        n=$((n + 1))
        r=$(tr '\r' '\n' <"$tmp/perf.$n" | grep 'iops average' | tail -n 1 |
            sed -n 's/.*iops average \([0-9]*\) (\([0-9]*\) MB\/s).*/\1 \2/p')
        [ -n "$r" ] || { echo "serve_vs_tgt: iscsi-perf -m $2 -b $3 $4 $1 gave no result" >&2; exit 1; }
        iops=$((iops + ${r%% *})); mbps=$((mbps + ${r##* }))
    done
    echo "$iops $mbps"
}
best() { # best "IOPS MBPS" of the two arguments, by IOPS
    if [ -z "$1" ]; then echo "$2"; return; fi
    [ "${1%% *}" -ge "${2%% *}" ] && echo "$1" || echo "$2"
}
s_rand=""; t_rand=""; s_seq=""; t_seq=""; d_rand=""; d_seq=""
r=0
while [ $r -lt "$rounds" ]; do
    r=$((r + 1))
    s_rand=$(best "$s_rand" "$(perf "$serve_url" 32 8 -r)")
    t_rand=$(best "$t_rand" "$(perf "$tgt_url" 32 8 -r)")
    s_seq=$(best "$s_seq" "$(perf "$serve_url" 8 2048 '')")
    t_seq=$(best "$t_seq" "$(perf "$tgt_url" 8 2048 '')")
    d_rand=$(best "$d_rand" "$(perf "$dig_url" 32 8 -r)")
    d_seq=$(best "$d_seq" "$(perf "$dig_url" 8 2048 '')")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "serve: ${loops:-default} event loops; $sessions iscsi-perf session(s) at once"
echo
echo "| workload (iscsi-perf, ${secs} s, best of $rounds) | scsisim serve | tgtd 1.0.85 | serve / tgtd |"
echo "|---|---:|---:|---:|"
echo "| 4 KiB random read, QD32 (-m 32 -b 8 -r) | ${s_rand%% *} IOPS | ${t_rand%% *} IOPS | $(ratio "${s_rand%% *}" "${t_rand%% *}") |"
echo "| 1 MiB sequential read, QD8 (-m 8 -b 2048) | ${s_seq##* } MB/s | ${t_seq##* } MB/s | $(ratio "${s_seq##* }" "${t_seq##* }") |"
echo
echo "| workload (scsisim serve, iscsi-perf, ${secs} s, best of $rounds) | header digests off | header digests on (CRC32C) | on / off |"
echo "|---|---:|---:|---:|"
echo "| 4 KiB random read, QD32 | ${s_rand%% *} IOPS | ${d_rand%% *} IOPS | $(ratio "${d_rand%% *}" "${s_rand%% *}") |"
echo "| 1 MiB sequential read, QD8 | ${s_seq##* } MB/s | ${d_seq##* } MB/s | $(ratio "${d_seq##* }" "${s_seq##* }") |"
