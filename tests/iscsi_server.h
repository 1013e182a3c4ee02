/* tests/iscsi_server.h — an iSCSI target for tests: a libuv loop on its own
 * thread, listening on 127.0.0.1 with an ephemeral port, serving the
 * in-memory test disk (host/backend_mem.h) as node ISCSI_TEST_IQN with LUN 0
 * and LUN 1 (8 MiB each, 512-byte blocks).
 *
 * The server is opaque and this header includes no SCSI vocabulary, so tests
 * that use libiscsi (whose headers define the same SCSI names) can use it. */
#ifndef TESTS_ISCSI_SERVER_H
#define TESTS_ISCSI_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "host/iscsi_target.h"

#define ISCSI_TEST_IQN        "iqn.2024-01.org.scsisim:disk"
#define ISCSI_TEST_OTHER_IQN  "iqn.2024-01.org.scsisim:private"
#define ISCSI_TEST_INITIATOR  "iqn.2024-01.org.scsisim:tester"
#define ISCSI_TEST_PRIVILEGED "iqn.2024-01.org.scsisim:privileged"

struct iscsi_test_config {
    struct iscsi_target_options opt;   /* defaults: port 0, timers off, quiet */
    /* CHAP for ISCSI_TEST_IQN (NULL: none). */
    const char *chap_user, *chap_secret;
    const char *mutual_user, *mutual_secret;
    /* Initiators allowed on ISCSI_TEST_IQN (NULL-terminated; empty: all). */
    const char *acl[4];
    /* Adds ISCSI_TEST_OTHER_IQN, open only to ISCSI_TEST_PRIVILEGED. */
    bool private_node;
    /* Adds nodes "iqn.2024-01.org.scsisim:extra-N", N = 0.., open to all. */
    unsigned extra_nodes;
};

struct iscsi_test_server;

void iscsi_test_config_init(struct iscsi_test_config *cfg);
/* Starts a server (cfg NULL: defaults); aborts the test on failure. */
struct iscsi_test_server *iscsi_test_server_start(const struct iscsi_test_config *cfg);
/* Closes the target, joins the thread, frees everything. */
void iscsi_test_server_stop(struct iscsi_test_server *s);

int iscsi_test_server_port(const struct iscsi_test_server *s);
const char *iscsi_test_server_portal(const struct iscsi_test_server *s);
struct iscsi_target_stats iscsi_test_server_stats(struct iscsi_test_server *s);

/* The backend behind the node. */
struct iscsi_test_mem_stats {
    uint64_t commands, reads, writes, syncs, tmfs, aborted, nexus_losses;
    int last_tmf;
};
struct iscsi_test_mem_stats iscsi_test_server_mem_stats(struct iscsi_test_server *s);
int  iscsi_test_server_peek(struct iscsi_test_server *s, unsigned lun, uint64_t off, void *buf, uint64_t len);
void iscsi_test_server_hold(struct iscsi_test_server *s, bool hold);
unsigned iscsi_test_server_held(struct iscsi_test_server *s);
/* Runs held tasks on the calling (test) thread. */
unsigned iscsi_test_server_release(struct iscsi_test_server *s);

#endif
