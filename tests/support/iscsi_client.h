/* tests/support/iscsi_client.h — the iSCSI side of the tests: a test target
 * and the two ways tests talk to it.
 *  - The target: a libuv loop on its own thread, listening on 127.0.0.1 with
 *    an ephemeral port, serving the in-memory test disk
 *    (tests/support/backend_mem.h) as node ISCSI_TEST_IQN with LUN 0 and
 *    LUN 1 (8 MiB each, 512-byte blocks).
 *  - client_*: sessions through libiscsi's synchronous API, for tests that
 *    behave like a real initiator.
 *  - raw_*: a tiny initiator over a plain socket with its own PDU builder,
 *    for tests that must send PDUs no real initiator would.
 *
 * This header includes no SCSI vocabulary and not libiscsi's headers (whose
 * scsi-lowlevel.h defines the same SCSI names as scsi/scsi.h): a test includes
 * whichever of the two it speaks. */
#ifndef TESTS_SUPPORT_ISCSI_CLIENT_H
#define TESTS_SUPPORT_ISCSI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/iscsi_target.h"

/* ---- the test target ---------------------------------------------------- */

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
    /* Non-NULL: LUN 0 of ISCSI_TEST_IQN is this backend's LUN 0 (a driver
     * stack, say) instead of the memory disk's; the caller owns it. */
    struct scsi_backend *lun0;
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
/* Connections open on the target's event loop `loop` (cfg.opt.loops). */
unsigned iscsi_test_server_loop_connections(struct iscsi_test_server *s, unsigned loop);

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

/* ---- sessions through libiscsi ------------------------------------------ */

struct iscsi_context; /* <iscsi/iscsi.h> */

/* A context for initiator name `initiator` (NULL: ISCSI_TEST_INITIATOR)
 * aimed at target (NULL: ISCSI_TEST_IQN); not connected yet. */
struct iscsi_context *client_new(const char *initiator, const char *target);
/* Full connect (login) to the test server; 0 or libiscsi's error. */
int client_login(struct iscsi_context *ctx, struct iscsi_test_server *s);
/* client_new + client_login, asserting success. */
struct iscsi_context *client_connect(struct iscsi_test_server *s);
/* Logs out when logged in, and destroys. */
void client_free(struct iscsi_context *ctx);

/* Runs the context's event loop until *flag becomes nonzero or timeout_ms
 * passes; returns whether the flag was set. */
bool client_service_until(struct iscsi_context *ctx, const int *flag, int timeout_ms);
/* Runs the context's event loop for about ms milliseconds. */
void client_service_for(struct iscsi_context *ctx, int ms);
/* Polls cond(arg) every few milliseconds for up to timeout_ms. */
bool wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Fills buf with a pattern that depends on seed and position. */
void client_pattern(unsigned char *buf, size_t len, unsigned seed);

/* ---- the raw-socket initiator ------------------------------------------- */

#define RAW_BHS 48

struct raw_conn {
    int fd;
    bool hdigest, ddigest;    /* digests on what we send and expect */
    uint32_t cmdsn, exp_statsn, itt;
    uint8_t isid[6];
    uint16_t tsih;
    uint32_t max_cmdsn;
};

/* A received PDU. */
struct raw_pdu {
    uint8_t bhs[RAW_BHS];
    uint8_t *data;            /* malloc'd, NUL-terminated for convenience */
    uint32_t dlen;
};

/* Connects to 127.0.0.1:port with a 5 s receive timeout; aborts the test on failure. */
void raw_connect(struct raw_conn *c, int port);
void raw_close(struct raw_conn *c);

/* Sends raw bytes; false when the peer is gone. */
bool raw_send_bytes(struct raw_conn *c, const void *buf, size_t len);
/* Sends a PDU: bhs (DataSegmentLength is set from dlen), padding, digests
 * when enabled.  ahs/ahs_len may be NULL/0 (TotalAHSLength is set too). */
bool raw_send_pdu(struct raw_conn *c, uint8_t *bhs, const void *ahs, size_t ahs_len, const void *data, uint32_t dlen);
/* Receives one PDU; false on EOF, error or timeout. */
bool raw_recv_pdu(struct raw_conn *c, struct raw_pdu *p);
void raw_pdu_free(struct raw_pdu *p);
/* Receives until a PDU with this opcode arrives (others are dropped). */
bool raw_recv_opcode(struct raw_conn *c, uint8_t opcode, struct raw_pdu *p);
/* True once the target has closed the connection (EOF within the timeout),
 * skipping any PDUs it sends first. */
bool raw_wait_closed(struct raw_conn *c);

/* Logs in with the given key=value pairs ("\0"-separated, "\0\0"-ended is not
 * needed: pass the byte count).  Does a single operational-stage request
 * with T=1 NSG=3.  Returns the login status (class << 8 | detail), or -1. */
int raw_login_keys(struct raw_conn *c, const char *keys, size_t keys_len);
/* Normal session to target (NULL: a discovery session) with sensible keys;
 * extra ('\n'-separated pairs, NULL-able) is appended and replaces the
 * defaults it names.  Returns the login status. */
int raw_login(struct raw_conn *c, const char *target, const char *extra);

/* Builders: zero the BHS and fill the common fields. */
void raw_bhs_scsi_cmd(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint32_t edtl, uint8_t flags, const uint8_t *cdb,
                      size_t cdb_len, uint8_t lun);
void raw_bhs_data_out(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t offset, bool final,
                      uint8_t lun);
void raw_bhs_nop_out(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t cmdsn, bool immediate);
void raw_bhs_logout(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint8_t reason);
void raw_bhs_text(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t cmdsn, uint8_t flags);
void raw_bhs_tmf(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint8_t function, uint32_t rtt, uint8_t lun);

/* TEST UNIT READY on LUN 0: the SCSI status byte (the real controller's
 * first answer is a unit attention), or -1 when no response came; the
 * response's StatSN is acknowledged (exp_statsn). */
int raw_tur_status(struct raw_conn *c);
/* Convenience for a healthy exchange: TEST UNIT READY on LUN 0 answered GOOD. */
bool raw_tur_ok(struct raw_conn *c);

/* A full healthy session check used after every malformed-PDU case: a new
 * connection logs in, runs TEST UNIT READY and a 4 KiB write/read, logs out. */
bool raw_healthy_session(int port);

#endif
