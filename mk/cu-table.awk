# mk/cu-table.awk — iscsi-test-cu's verbose output (-v, stderr dropped) as a
# Markdown table: per suite, the tests that passed, failed, and were skipped
# (passed after printing "[SKIPPED]": the target lacks the feature).
# Usage: iscsi-test-cu -v -t ALL -d URL 2>/dev/null | awk -f mk/cu-table.awk
function flush_test() {
    if (!intest) return
    if (result == "FAILED") failed[suite]++
    else if (skipped) skip[suite]++
    else passed[suite]++
    intest = 0
}
/^Suite: / { flush_test(); suite = substr($0, 8); order[++n] = suite; next }
/^  Test: / {
    flush_test(); intest = 1; result = ""
    rest = substr($0, index($0, " ...") + 4)  # what the test printed on its own line
    if (rest ~ /^passed/) { result = "passed"; skipped = 0; flush_test(); next }  # later text: the next suite's setup
    if (rest ~ /^FAILED/) { result = "FAILED"; flush_test(); next }
    skipped = (rest ~ /\[SKIPPED\]/)
    next
}
intest && /^passed/ { result = "passed"; flush_test(); next }
intest && /^FAILED/ { result = "FAILED"; flush_test(); next }
intest && /\[SKIPPED\]/ { skipped = 1 }
END {
    print "| suite | passed | failed | skipped |"
    print "|---|---:|---:|---:|"
    for (i = 1; i <= n; i++) {
        s = order[i]
        printf "| %s | %d | %d | %d |\n", s, passed[s], failed[s], skip[s]
        tp += passed[s]; tf += failed[s]; ts += skip[s]
    }
    printf "| **all %d suites** | **%d** | **%d** | **%d** |\n", n, tp, tf, ts
}
