/* tests/support/tgtd_proc.h — tgt's tgtd as a real iSCSI target for the
 * interop tests (as bench/serve_vs_tgt.sh starts it): a private control
 * port, a free loopback iSCSI port, one target iqn.2025-01.org.tgt:disk
 * with LUN 1 on a sparse scratch file.  tgtd needs root; a missing tgtd or
 * tgtadm fails the test with "not installed" (never a quiet pass). */
#ifndef TESTS_SUPPORT_TGTD_PROC_H
#define TESTS_SUPPORT_TGTD_PROC_H

#include <sys/types.h>

struct tgtd_proc {
    pid_t pid;
    int   control;       /* tgtd -C N */
    int   port;          /* the iSCSI portal's port on 127.0.0.1 */
    char  url[256];      /* iscsi://127.0.0.1:PORT/iqn.2025-01.org.tgt:disk/1 */
    char  dir[256];      /* scratch folder: the backing file and tgtd's log */
};

/* Starts tgtd with a backing file of `mib` MiB and waits until the target
 * is set up (bounded).  Fails the test when it cannot. */
void tgtd_start(struct tgtd_proc *p, const char *test, unsigned mib);
/* Kills it (tgtd does not stop on SIGTERM while it has targets) and removes
 * its files. */
void tgtd_stop(struct tgtd_proc *p);

#endif
