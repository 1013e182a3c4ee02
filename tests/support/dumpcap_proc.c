/* tests/support/dumpcap_proc.c — see dumpcap_proc.h. */
#include "tests/support/dumpcap_proc.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

pid_t dumpcap_start(const char *test, const char *file, int port)
{
    if (!proc_tool_present(test, "dumpcap", "apt-get install tshark"))
        return -1;
    char filter[64], errpath[600];
    snprintf(filter, sizeof filter, "tcp port %d", port);
    snprintf(errpath, sizeof errpath, "%s.err", file);
    /* -B 256: a 256 MiB kernel buffer; the default 2 MiB drops packets of a
     * burst of 64 KiB reads and writes, and 64 MiB still did at load 20. */
    const char *argv[] = { "dumpcap", "-q", "-B", "256", "-i", "lo", "-f", filter, "-w", file, NULL };
    FILE *err = fopen(errpath, "w");
    ck_assert_ptr_nonnull(err);
    pid_t pid = proc_spawn(argv, -1, fileno(err), PROC_PATH | PROC_DIE_WITH_US);
    fclose(err);
    /* dumpcap writes the pcapng section header once it captures. */
    struct stat st;
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    while ((stat(file, &st) != 0 || st.st_size == 0) && testutil_wait_nap(&w))
        ck_assert_msg(proc_wait(pid, 0) == -1, "dumpcap exited; see %s", errpath);
    ck_assert_msg(stat(file, &st) == 0 && st.st_size > 0, "dumpcap wrote nothing to %s; see %s", file, errpath);
    proc_sleep_ms(300); /* the filter is attached before the header is written; a margin for the first SYN */
    return pid;
}

unsigned long dumpcap_stop(pid_t pid, const char *file)
{
    proc_sleep_ms(300);
    kill(pid, SIGINT);
    int rc = proc_wait(pid, 20000);
    ck_assert_msg(rc == 0, "dumpcap exited %d", rc);
    /* "Packets received/dropped on interface 'Loopback: lo': 1577/5646 (...)" */
    char errpath[600], line[512];
    snprintf(errpath, sizeof errpath, "%s.err", file);
    FILE *f = fopen(errpath, "r");
    ck_assert_msg(f != NULL, "no dumpcap report %s", errpath);
    unsigned long dropped = 0;
    bool seen = false;
    while (fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "received/dropped on interface");
        const char *colon = at ? strstr(at, "': ") : NULL;
        unsigned long got, lost;
        if (colon && sscanf(colon + 3, "%lu/%lu", &got, &lost) == 2) {
            dropped += lost;
            seen = true;
        }
    }
    fclose(f);
    ck_assert_msg(seen, "dumpcap's report %s has no received/dropped line", errpath);
    return dropped;
}
