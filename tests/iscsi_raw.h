/* tests/iscsi_raw.h — a tiny iSCSI initiator over a plain socket, for tests
 * that must send PDUs no real initiator would: its own PDU builder, blocking
 * send/receive with a timeout, and a login helper. */
#ifndef TESTS_ISCSI_RAW_H
#define TESTS_ISCSI_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Convenience for a healthy exchange: TEST UNIT READY on LUN 0 answered GOOD. */
bool raw_tur_ok(struct raw_conn *c);

/* A full healthy session check used after every malformed-PDU case: a new
 * connection logs in, runs TEST UNIT READY and a 4 KiB write/read, logs out. */
bool raw_healthy_session(int port);

#endif
