/* tests/support/iscsi_client_raw.c — the raw-socket initiator (see
 * iscsi_client.h). */
#include "tests/support/iscsi_client.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "host/iscsi_crc32c.h"
#include "scsi/scsi.h"

void raw_connect(struct raw_conn *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(c->fd, 0);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    c->cmdsn = 1000;
    c->itt = 1;
    uint8_t isid[6] = { 0x80, 0x00, 0x00, 0x12, 0x34, (uint8_t)(rand() & 0xff) };
    memcpy(c->isid, isid, 6);
}

void raw_close(struct raw_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

bool raw_send_bytes(struct raw_conn *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool raw_send_pdu(struct raw_conn *c, uint8_t *bhs, const void *ahs, size_t ahs_len, const void *data, uint32_t dlen)
{
    bhs[4] = (uint8_t)(ahs_len / 4);
    scsi_put_be24(bhs + 5, dlen);
    size_t pad = (4 - (dlen & 3)) & 3;
    size_t total = RAW_BHS + ahs_len + (c->hdigest ? 4 : 0) + dlen + pad + (c->ddigest && dlen ? 4 : 0);
    uint8_t *buf = calloc(1, total);
    ck_assert_ptr_nonnull(buf);
    size_t at = 0;
    memcpy(buf, bhs, RAW_BHS);
    at += RAW_BHS;
    if (ahs_len) {
        memcpy(buf + at, ahs, ahs_len);
        at += ahs_len;
    }
    if (c->hdigest) {
        iscsi_digest_put(buf + at, iscsi_crc32c(buf, at));
        at += 4;
    }
    if (dlen) {
        memcpy(buf + at, data, dlen);
        size_t dstart = at;
        at += dlen + pad;
        if (c->ddigest) {
            iscsi_digest_put(buf + at, iscsi_crc32c(buf + dstart, dlen + pad));
            at += 4;
        }
    }
    bool ok = raw_send_bytes(c, buf, total);
    free(buf);
    return ok;
}

static bool recv_all(struct raw_conn *c, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = recv(c->fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool raw_recv_pdu(struct raw_conn *c, struct raw_pdu *p)
{
    memset(p, 0, sizeof(*p));
    uint8_t hdr[RAW_BHS + 1020 + 4];
    if (!recv_all(c, hdr, RAW_BHS))
        return false;
    size_t ahs = (size_t)hdr[4] * 4;
    if (ahs && !recv_all(c, hdr + RAW_BHS, ahs))
        return false;
    if (c->hdigest) {
        if (!recv_all(c, hdr + RAW_BHS + ahs, 4))
            return false;
        if (iscsi_crc32c(hdr, RAW_BHS + ahs) != iscsi_digest_get(hdr + RAW_BHS + ahs))
            return false;
    }
    memcpy(p->bhs, hdr, RAW_BHS);
    p->dlen = scsi_get_be24(hdr + 5);
    size_t pad = (4 - (p->dlen & 3)) & 3;
    p->data = calloc(1, p->dlen + pad + 1);
    if (!p->data)
        return false;
    if (p->dlen + pad && !recv_all(c, p->data, p->dlen + pad)) {
        raw_pdu_free(p);
        return false;
    }
    if (c->ddigest && p->dlen) {
        uint8_t d[4];
        if (!recv_all(c, d, 4) || iscsi_crc32c(p->data, p->dlen + pad) != iscsi_digest_get(d)) {
            raw_pdu_free(p);
            return false;
        }
    }
    p->data[p->dlen] = 0;
    uint8_t op = p->bhs[0] & 0x3f;
    /* Track StatSN on status-bearing PDUs (tests never rely on more). */
    if (op == 0x21 || op == 0x22 || op == 0x24 || op == 0x26 || op == 0x3f || (op == 0x25 && (p->bhs[1] & 1)))
        c->exp_statsn = scsi_get_be32(p->bhs + 24) + 1;
    if (op != 0x23 && op != 0x25)
        c->max_cmdsn = scsi_get_be32(p->bhs + 32);
    return true;
}

void raw_pdu_free(struct raw_pdu *p)
{
    free(p->data);
    p->data = NULL;
}

bool raw_recv_opcode(struct raw_conn *c, uint8_t opcode, struct raw_pdu *p)
{
    for (int i = 0; i < 1000; i++) {
        if (!raw_recv_pdu(c, p))
            return false;
        if ((p->bhs[0] & 0x3f) == opcode)
            return true;
        raw_pdu_free(p);
    }
    return false;
}

bool raw_wait_closed(struct raw_conn *c)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET;
    }
}

/* ---- builders ------------------------------------------------------------------ */

void raw_bhs_scsi_cmd(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint32_t edtl, uint8_t flags, const uint8_t *cdb,
                      size_t cdb_len, uint8_t lun)
{
    memset(b, 0, RAW_BHS);
    b[0] = 0x01;
    b[1] = flags;
    b[9] = lun;
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 20, edtl);
    scsi_put_be32(b + 24, cmdsn);
    memcpy(b + 32, cdb, cdb_len > 16 ? 16 : cdb_len);
}

void raw_bhs_data_out(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t offset, bool final,
                      uint8_t lun)
{
    memset(b, 0, RAW_BHS);
    b[0] = 0x05;
    b[1] = final ? 0x80 : 0;
    b[9] = lun;
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 20, ttt);
    scsi_put_be32(b + 36, datasn);
    scsi_put_be32(b + 40, offset);
}

void raw_bhs_nop_out(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t cmdsn, bool immediate)
{
    memset(b, 0, RAW_BHS);
    b[0] = (uint8_t)(0x00 | (immediate ? 0x40 : 0));
    b[1] = 0x80;
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 20, ttt);
    scsi_put_be32(b + 24, cmdsn);
}

void raw_bhs_logout(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint8_t reason)
{
    memset(b, 0, RAW_BHS);
    b[0] = 0x46;
    b[1] = (uint8_t)(0x80 | reason);
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 24, cmdsn);
}

void raw_bhs_text(uint8_t *b, uint32_t itt, uint32_t ttt, uint32_t cmdsn, uint8_t flags)
{
    memset(b, 0, RAW_BHS);
    b[0] = 0x04;
    b[1] = flags;
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 20, ttt);
    scsi_put_be32(b + 24, cmdsn);
}

void raw_bhs_tmf(uint8_t *b, uint32_t itt, uint32_t cmdsn, uint8_t function, uint32_t rtt, uint8_t lun)
{
    memset(b, 0, RAW_BHS);
    b[0] = 0x42;
    b[1] = (uint8_t)(0x80 | function);
    b[9] = lun;
    scsi_put_be32(b + 16, itt);
    scsi_put_be32(b + 20, rtt);
    scsi_put_be32(b + 24, cmdsn);
    scsi_put_be32(b + 32, cmdsn); /* RefCmdSN: only meaningful for ABORT TASK */
}

/* ---- login ----------------------------------------------------------------------- */

int raw_login_keys(struct raw_conn *c, const char *keys, size_t keys_len)
{
    uint8_t b[RAW_BHS] = { 0 };
    b[0] = 0x43;
    b[1] = 0x80 | (1 << 2) | 3; /* T, CSG operational, NSG full feature */
    memcpy(b + 8, c->isid, 6);
    scsi_put_be16(b + 14, c->tsih);
    scsi_put_be32(b + 16, c->itt);
    scsi_put_be32(b + 24, c->cmdsn);
    scsi_put_be32(b + 28, c->exp_statsn);
    bool hd = c->hdigest, dd = c->ddigest;
    c->hdigest = c->ddigest = false; /* never during login */
    if (!raw_send_pdu(c, b, NULL, 0, keys, (uint32_t)keys_len))
        return -1;
    struct raw_pdu p;
    if (!raw_recv_pdu(c, &p))
        return -1;
    int status = scsi_get_be16(p.bhs + 36);
    if ((p.bhs[0] & 0x3f) != 0x23) {
        raw_pdu_free(&p);
        return -1;
    }
    c->exp_statsn = scsi_get_be32(p.bhs + 24) + 1;
    c->max_cmdsn = scsi_get_be32(p.bhs + 32);
    c->tsih = scsi_get_be16(p.bhs + 14);
    if (status == 0) {
        for (uint32_t i = 0; i + 1 < p.dlen; i++)
            if (p.data[i] == 0)
                p.data[i] = '\n';
        c->hdigest = strstr((char *)p.data, "HeaderDigest=CRC32C") != NULL && hd;
        c->ddigest = strstr((char *)p.data, "DataDigest=CRC32C") != NULL && dd;
        if (hd && !c->hdigest)
            status = -1;
        if (dd && !c->ddigest)
            status = -1;
        c->itt++;
    }
    raw_pdu_free(&p);
    return status;
}

/* Whether "key=" starts one of extra's '\n'-separated pairs. */
static bool has_key(const char *extra, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = extra; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            return true;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return false;
}

int raw_login(struct raw_conn *c, const char *target, const char *extra)
{
    char keys[4096];
    size_t len = 0;
    char item[512];
    const char *defaults[][2] = {
        { "InitiatorName", ISCSI_TEST_INITIATOR },
        { "SessionType", target ? "Normal" : "Discovery" },
        { "TargetName", target },
        { "HeaderDigest", c->hdigest ? "CRC32C" : "None" },
        { "DataDigest", c->ddigest ? "CRC32C" : "None" },
        { "ImmediateData", "Yes" },
        { "InitialR2T", "No" },
        { "MaxRecvDataSegmentLength", "65536" },
        { "FirstBurstLength", "65536" },
        { "MaxBurstLength", "262144" },
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (!defaults[i][1] || (extra && has_key(extra, defaults[i][0])))
            continue;
        int n = snprintf(item, sizeof(item), "%s=%s", defaults[i][0], defaults[i][1]);
        ck_assert(n > 0 && len + (size_t)n + 1 < sizeof(keys));
        memcpy(keys + len, item, (size_t)n + 1);
        len += (size_t)n + 1;
    }
    if (extra) {
        /* extra uses '\n' between pairs for convenience. */
        size_t el = strlen(extra);
        ck_assert(len + el + 1 < sizeof(keys));
        for (size_t i = 0; i < el; i++)
            keys[len + i] = extra[i] == '\n' ? '\0' : extra[i];
        len += el;
        keys[len++] = '\0';
    }
    return raw_login_keys(c, keys, len);
}

int raw_tur_status(struct raw_conn *c)
{
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    uint32_t itt = c->itt++;
    raw_bhs_scsi_cmd(b, itt, c->cmdsn++, 0, 0x80, cdb, sizeof(cdb), 0);
    scsi_put_be32(b + 28, c->exp_statsn);
    if (!raw_send_pdu(c, b, NULL, 0, NULL, 0))
        return -1;
    struct raw_pdu p;
    if (!raw_recv_opcode(c, 0x21, &p))
        return -1;
    int status = scsi_get_be32(p.bhs + 16) == itt && p.bhs[2] == 0 ? p.bhs[3] : -1;
    c->exp_statsn = scsi_get_be32(p.bhs + 24) + 1;
    raw_pdu_free(&p);
    return status;
}

bool raw_tur_ok(struct raw_conn *c)
{
    return raw_tur_status(c) == 0;
}

bool raw_healthy_session(int port)
{
    struct raw_conn c;
    raw_connect(&c, port);
    bool ok = raw_login(&c, ISCSI_TEST_IQN, NULL) == 0 && raw_tur_ok(&c);
    uint8_t data[4096], back[4096];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    if (ok) {
        /* WRITE(10) 8 blocks at LBA 100, all as immediate data. */
        uint8_t b[RAW_BHS], cdb[10] = { 0x2a, 0, 0, 0, 0, 100, 0, 0, 8, 0 };
        uint32_t itt = c.itt++;
        raw_bhs_scsi_cmd(b, itt, c.cmdsn++, sizeof(data), 0x80 | 0x20, cdb, sizeof(cdb), 0);
        struct raw_pdu p;
        ok = raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)) && raw_recv_opcode(&c, 0x21, &p);
        if (ok) {
            ok = p.bhs[3] == 0 && scsi_get_be32(p.bhs + 16) == itt;
            raw_pdu_free(&p);
        }
    }
    if (ok) {
        uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, 100, 0, 0, 8, 0 };
        uint32_t itt = c.itt++;
        raw_bhs_scsi_cmd(b, itt, c.cmdsn++, sizeof(back), 0x80 | 0x40, cdb, sizeof(cdb), 0);
        ok = raw_send_pdu(&c, b, NULL, 0, NULL, 0);
        uint32_t got = 0;
        bool status = false;
        while (ok && !status) {
            struct raw_pdu p;
            ok = raw_recv_pdu(&c, &p);
            if (!ok)
                break;
            uint8_t op = p.bhs[0] & 0x3f;
            if (op == 0x25) {
                uint32_t off = scsi_get_be32(p.bhs + 40);
                ok = off + p.dlen <= sizeof(back);
                if (ok)
                    memcpy(back + off, p.data, p.dlen);
                got += p.dlen;
                if (p.bhs[1] & 1)
                    status = true, ok = ok && p.bhs[3] == 0;
            } else if (op == 0x21) {
                status = true;
                ok = p.bhs[3] == 0;
            }
            raw_pdu_free(&p);
        }
        ok = ok && got == sizeof(back) && memcmp(data, back, sizeof(back)) == 0;
    }
    if (ok) {
        uint8_t b[RAW_BHS];
        raw_bhs_logout(b, c.itt++, c.cmdsn, 0);
        struct raw_pdu p;
        ok = raw_send_pdu(&c, b, NULL, 0, NULL, 0) && raw_recv_opcode(&c, 0x26, &p);
        if (ok) {
            ok = p.bhs[2] == 0;
            raw_pdu_free(&p);
            ok = ok && raw_wait_closed(&c);
        }
    }
    raw_close(&c);
    return ok;
}
