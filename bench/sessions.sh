#!/bin/sh
# bench/sessions.sh — SESSIONS concurrent iSCSI sessions (default 1000)
# against `scsisim serve` on loopback: login rate, then 4 KiB random reads with
# one in flight per session for SECONDS (default 5).  See bench_sessions.c.
# Usage: sh bench/sessions.sh [build/scsisim] [SESSIONS] [SECONDS]
set -eu
bin=${1:-build/scsisim}
sessions=${2:-1000}
secs=${3:-5}
bench=$(dirname "$bin")/bench/bench_sessions
[ -x "$bench" ] || { echo "sessions.sh: $bench is missing; run make bench" >&2; exit 2; }
tmp=$(mktemp -d /tmp/bench-sessions.XXXXXX)
serve_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
# Sessions are what is measured: no per-initiator cap.
"$bin" serve --listen 127.0.0.1:0 --max-sessions-per-initiator 0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
i=0
while ! grep -q 'iscsi://' "$tmp/serve.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || { cat "$tmp/serve.err" >&2; exit 1; }
    sleep 0.05
done
url=$(grep -o 'iscsi://[^ ]*' "$tmp/serve.out" | head -n 1)
case $url in */[0-9]*) ;; *) url="$url/0" ;; esac
"$bench" "$url" "$sessions" "$secs"
