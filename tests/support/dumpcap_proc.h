/* tests/support/dumpcap_proc.h — dumpcap (Debian tshark) recording the
 * loopback for the tests that make their own captures.  dumpcap on "lo"
 * needs root or the wireshark group; a missing dumpcap fails the test with
 * "not installed". */
#ifndef TESTS_SUPPORT_DUMPCAP_PROC_H
#define TESTS_SUPPORT_DUMPCAP_PROC_H

#include <sys/types.h>

/* Starts dumpcap on lo for TCP port `port`, writing pcapng to file;
 * returns once it captures (bounded wait). */
pid_t dumpcap_start(const char *test, const char *file, int port);
/* Lets it read what the kernel still holds, stops it (SIGINT) and checks it
 * exited 0.  Returns how many packets the capture lost (the kernel's buffer
 * overflowed: "received/dropped" in dumpcap's report, file.err); a test
 * that needs every packet takes its session again. */
unsigned long dumpcap_stop(pid_t pid, const char *file);

#endif
