#!/bin/sh
# bench/record_mixed.sh — a recording of concurrent mixed I/O through
# `scsisim serve --record`, replayed: SECONDS (default 60) of rounds of two
# qemu-img bench runs in parallel on the same 1 MiB region (1500 4 KiB writes
# with a round's fill pattern, 16 in flight; 1500 4 KiB reads, 16 in flight:
# 32 in flight together), a pause of 0.5 s between rounds; then `scsisim run`
# on the recording, which must pass (reads that raced writes are judged by
# the orders SAM allows, docs/replay.md "Concurrency"), and once more with one
# read's data changed to a pattern nobody wrote, which must fail on exactly
# that read.  Prints the commands recorded and both replays' times.
# Usage: sh bench/record_mixed.sh [build/scsisim] [SECONDS] [PORT]
set -eu
bin=${1:-build/scsisim}
secs=${2:-60}
port=${3:-3321}
command -v qemu-img >/dev/null 2>&1 || { echo "record_mixed: qemu-img is not installed (apt-get install qemu-utils qemu-block-extra)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/record-mixed.XXXXXX)
srv=""
cleanup() {
    [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null && wait "$srv" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"$bin" serve --listen 127.0.0.1:"$port" --record "$tmp/rec.trace" >"$tmp/serve.out" 2>"$tmp/serve.err" &
srv=$!
i=0
while ! grep -q 'iscsi://' "$tmp/serve.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || { cat "$tmp/serve.err" >&2; exit 1; }
    sleep 0.05
done
url=$(grep -o 'iscsi://[^ ]*' "$tmp/serve.out" | head -n 1)
start=$(date +%s); round=0
while [ $(( $(date +%s) - start )) -lt "$secs" ]; do
    off=$(( (round % 8) * 1048576 )); pat=$(( (round % 200) + 1 ))
    qemu-img bench -f raw -t none -n -w -d 16 -c 1500 -s 4096 -S 4096 -o $off --pattern=$pat "$url" >"$tmp/w.log" 2>&1 & w=$!
    qemu-img bench -f raw -t none -n -d 16 -c 1500 -s 4096 -S 4096 -o $off "$url" >"$tmp/r.log" 2>&1 & r=$!
    wait $w || { cat "$tmp/w.log" >&2; exit 1; }
    wait $r || { cat "$tmp/r.log" >&2; exit 1; }
    round=$((round + 1))
    sleep 0.5
done
kill -TERM "$srv"; wait "$srv" || true; srv=""
echo "recorded: $round rounds in $(( $(date +%s) - start )) s, $(grep -c ' CMD ' "$tmp/rec.trace") commands, $(wc -c <"$tmp/rec.trace") bytes"
"$bin" run "$tmp/rec.trace" | tail -n 1
# One read's data changed to 0xEE, a pattern no round writes (1..200): that read must fail.
n=$(grep -n ' DIN [0-9a-f][0-9a-f]\*4096$' "$tmp/rec.trace" | awk -F: 'NR % 1000 == 0 { l = $1 } END { print l }')
sed "${n}s/ DIN [0-9a-f][0-9a-f]\*4096\$/ DIN ee*4096/" "$tmp/rec.trace" >"$tmp/bad.trace"
if "$bin" run "$tmp/bad.trace" >"$tmp/bad.out"; then
    echo "record_mixed: a read changed at line $n was not noticed" >&2; exit 1
fi
grep -c '\[FAILED\]' "$tmp/bad.out" | sed "s/^/changed read at line $n: failed checks: /"
tail -n 1 "$tmp/bad.out"
