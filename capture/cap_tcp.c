/* capture/cap_tcp.c — TCP connections of a capture and the reassembly of
 * each direction into the byte stream the iSCSI framer reads.
 *
 * Per direction the next expected sequence number is kept; a segment at it
 * is delivered, one beyond it waits (sorted) until the hole fills, one
 * before it is a retransmission: its bytes are compared with what was
 * delivered (the last CAP_RECENT bytes are kept) and only its new tail is
 * used.  A hole is declared a gap — skipped, with a comment naming the
 * packets — when the waiting segments pass CAP_OOO_MAX_BYTES or
 * CAP_OOO_MAX_SEGS, or at the end of the capture.  Bytes the snap length cut
 * from a segment are skipped the same way ("not captured"). */
#include "capture/cap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool oom(struct cap_ctx *c)
{
    if (!c->rc)
        c->rc = -ENOMEM;
    return false;
}

void cap_conn_free(struct cap_conn *k)
{
    if (!k)
        return;
    for (int d = 0; d < 2; d++) {
        struct cap_half *h = &k->half[d];
        for (size_t i = 0; i < h->n_ooo; i++)
            free(h->ooo[i].data);
        free(h->ooo);
        free(h->recent);
        free(h->dseg);
        free(h->dhave);
    }
    for (size_t i = 0; i < k->n_cmds; i++) {
        free(k->cmds[i]->data);
        free(k->cmds[i]->have);
        free(k->cmds[i]);
    }
    free(k->cmds);
    free(k->tmfs);
    free(k);
}

static size_t alen(int family)
{
    return family == 6 ? 16 : 4;
}

/* The connection of a segment and the direction it travels (0: to the target). */
static struct cap_conn *find(struct cap_ctx *c, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                             uint16_t dport, int *dir)
{
    size_t n = alen(family);
    for (size_t i = 0; i < c->n_conns; i++) {
        struct cap_conn *k = c->conns[i];
        if (k->family != family)
            continue;
        for (int d = 0; d < 2; d++)
            if (k->port[d] == sport && k->port[!d] == dport && !memcmp(k->addr[d], src, n) &&
                !memcmp(k->addr[!d], dst, n)) {
                *dir = d;
                return k;
            }
    }
    return NULL;
}

static struct cap_conn *add(struct cap_ctx *c, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                            uint16_t dport, bool src_is_initiator)
{
    if (c->n_conns == c->conns_cap) {
        size_t cap = c->conns_cap ? c->conns_cap * 2 : 8;
        struct cap_conn **p = realloc(c->conns, cap * sizeof *p);
        if (!p)
            return oom(c), NULL;
        c->conns = p;
        c->conns_cap = cap;
    }
    struct cap_conn *k = calloc(1, sizeof *k);
    if (!k)
        return oom(c), NULL;
    k->family = family;
    int i = src_is_initiator ? 0 : 1;
    memcpy(k->addr[i], src, alen(family));
    memcpy(k->addr[!i], dst, alen(family));
    k->port[i] = sport;
    k->port[!i] = dport;
    k->nexus = -1;
    k->half[0].scan = k->half[1].scan = true;
    c->conns[c->n_conns++] = k;
    return k;
}

/* Remembers delivered bytes for comparing retransmissions. */
static void remember(struct cap_ctx *c, struct cap_half *h, const uint8_t *p, uint32_t n)
{
    if (!h->recent && !(h->recent = malloc(CAP_RECENT))) {
        oom(c);
        return;
    }
    /* A ring: at most two copies (the import's hot path). */
    uint64_t at = h->delivered;
    if (n > CAP_RECENT) {
        at += n - CAP_RECENT;
        p += n - CAP_RECENT;
        n = CAP_RECENT;
    }
    uint32_t pos = (uint32_t)(at % CAP_RECENT), first = CAP_RECENT - pos < n ? CAP_RECENT - pos : n;
    memcpy(h->recent + pos, p, first);
    memcpy(h->recent, p + first, n - first);
}

static void deliver(struct cap_ctx *c, struct cap_conn *k, int dir, const uint8_t *p, uint32_t n, uint64_t pkt)
{
    struct cap_half *h = &k->half[dir];
    h->pkt = pkt;
    remember(c, h, p, n);
    cap_iscsi_feed(c, k, dir, p, n);
    h->delivered += n;
    h->next_seq += n;
}

static void skip(struct cap_ctx *c, struct cap_conn *k, int dir, uint32_t n, uint64_t pkt, const char *why)
{
    struct cap_half *h = &k->half[dir];
    h->pkt = pkt;
    cap_iscsi_skip(c, k, dir, n, why);
    h->delivered += n;
    h->next_seq += n;
}

/* A segment's bytes from stream position `seq` (at or after next_seq... or
 * overlapping it): compares the overlap, delivers the rest, skips what the
 * snap length cut. */
static void take(struct cap_ctx *c, struct cap_conn *k, int dir, uint32_t seq, const uint8_t *p, uint32_t caplen,
                 uint32_t wirelen, uint64_t pkt)
{
    struct cap_half *h = &k->half[dir];
    int32_t before = (int32_t)(h->next_seq - seq); /* bytes of it already delivered */
    if (before > 0) {
        uint32_t old = (uint32_t)before < wirelen ? (uint32_t)before : wirelen;
        uint32_t cmp = old < caplen ? old : caplen;
        if (h->recent && old <= CAP_RECENT && old <= h->delivered) {
            uint64_t at = h->delivered - (uint32_t)before;
            for (uint32_t i = 0; i < cmp; i++)
                if (h->recent[(at + i) % CAP_RECENT] != p[i]) {
                    cap_note(c, "packet %llu retransmits stream bytes %llu.. of connection %u (%s) with different "
                             "contents than first sent (byte %llu: %02x, was %02x); the first copy is kept",
                             (unsigned long long)pkt, (unsigned long long)at, k->idx,
                             dir ? "target to initiator" : "initiator to target", (unsigned long long)(at + i),
                             p[i], h->recent[(at + i) % CAP_RECENT]);
                    break;
                }
        }
        if ((uint32_t)before >= wirelen)
            return;
        p += cmp;
        caplen -= cmp;
        wirelen -= old;
    }
    if (caplen)
        deliver(c, k, dir, p, caplen, pkt);
    if (wirelen > caplen)
        skip(c, k, dir, wirelen - caplen, pkt, "cut by the snap length");
}

/* Delivers the waiting segments that now follow on. */
static void drain(struct cap_ctx *c, struct cap_conn *k, int dir)
{
    struct cap_half *h = &k->half[dir];
    size_t i = 0;
    while (i < h->n_ooo && (int32_t)(h->ooo[i].seq - h->next_seq) <= 0) {
        struct cap_seg *s = &h->ooo[i];
        take(c, k, dir, s->seq, s->data, s->caplen, s->wirelen, s->pkt);
        h->ooo_bytes -= s->caplen;
        free(s->data);
        i++;
    }
    if (i == 0)
        return;
    memmove(h->ooo, h->ooo + i, (h->n_ooo - i) * sizeof *h->ooo);
    h->n_ooo -= i;
}

/* Skips the hole before the first waiting segment. */
static void gap(struct cap_ctx *c, struct cap_conn *k, int dir, const char *why)
{
    struct cap_half *h = &k->half[dir];
    if (!h->n_ooo)
        return;
    uint32_t n = h->ooo[0].seq - h->next_seq;
    char note[160];
    snprintf(note, sizeof note, "a TCP gap of %u bytes before packet %llu (%s)", n,
             (unsigned long long)h->ooo[0].pkt, why);
    skip(c, k, dir, n, h->ooo[0].pkt, note);
    drain(c, k, dir);
}

static void hold(struct cap_ctx *c, struct cap_conn *k, int dir, uint32_t seq, const uint8_t *p, uint32_t caplen,
                 uint32_t wirelen)
{
    struct cap_half *h = &k->half[dir];
    if (h->n_ooo == h->ooo_cap) {
        size_t cap = h->ooo_cap ? h->ooo_cap * 2 : 16;
        struct cap_seg *q = realloc(h->ooo, cap * sizeof *q);
        if (!q) {
            oom(c);
            return;
        }
        h->ooo = q;
        h->ooo_cap = cap;
    }
    uint8_t *copy = malloc(caplen ? caplen : 1);
    if (!copy) {
        oom(c);
        return;
    }
    memcpy(copy, p, caplen);
    size_t at = h->n_ooo;
    while (at > 0 && (int32_t)(h->ooo[at - 1].seq - seq) > 0)
        at--;
    memmove(h->ooo + at + 1, h->ooo + at, (h->n_ooo - at) * sizeof *h->ooo);
    h->ooo[at] = (struct cap_seg){ .seq = seq, .caplen = caplen, .wirelen = wirelen, .pkt = c->pkt, .data = copy };
    h->n_ooo++;
    h->ooo_bytes += caplen;
    if (h->ooo_bytes > CAP_OOO_MAX_BYTES || h->n_ooo > CAP_OOO_MAX_SEGS)
        gap(c, k, dir, "the bytes before it never arrived");
}

/* Which side is the initiator, for a connection not on the target port:
 * the one whose first bytes are an initiator PDU's BHS. */
static int roles_by_shape(const uint8_t *p, uint32_t n)
{
    if (n < CAP_BHS_LEN)
        return -1;
    struct cap_conn probe = { .nexus = -1 };
    if (cap_iscsi_plausible(&probe, 0, p) && (p[0] & 0x3f) <= 0x06)
        return 0;
    if (cap_iscsi_plausible(&probe, 1, p) && ((p[0] & 0x3f) == 0x23 || (p[0] & 0x3f) == 0x20))
        return 1;
    return -1;
}

void cap_tcp_segment(struct cap_ctx *c, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                     uint16_t dport, uint32_t seq, uint8_t flags, const uint8_t *payload, uint32_t caplen,
                     uint32_t wirelen)
{
    enum { FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10 };
    int dir = 0;
    struct cap_conn *k = find(c, family, src, dst, sport, dport, &dir);
    if (k && (flags & SYN) && !(flags & ACK) && k->half[0].started && k->half[0].next_seq != seq + 1) {
        /* The same addresses and ports again: a new connection. */
        cap_iscsi_finish(c, k);
        k->ignored = true;                 /* finished: cap_tcp_finish passes it by */
        k->port[0] = k->port[1] = 0;       /* and find() never returns it again */
        k = NULL;
    }
    if (!k) {
        uint16_t port = c->opt->port ? c->opt->port : CAPTURE_DEFAULT_PORT;
        int initiator; /* 0: the sender, 1: the receiver */
        if (dport == port)
            initiator = 0;
        else if (sport == port)
            initiator = 1;
        else if ((flags & SYN) && !(flags & ACK))
            initiator = caplen ? roles_by_shape(payload, caplen) : -2;
        else
            initiator = roles_by_shape(payload, caplen);
        if (initiator == -1)
            return; /* no iSCSI we can recognise (yet) */
        if (initiator == -2) {
            /* A SYN to another port: an iSCSI connection only if its first data says so. */
            return;
        }
        k = add(c, family, src, dst, sport, dport, initiator == 0);
        if (!k)
            return;
        k->idx = (unsigned)c->n_conns;
        c->stats->connections++;
        dir = initiator == 0 ? 0 : 1;
    }
    if (k->ignored)
        return;
    c->stats->tcp_packets++;
    struct cap_half *h = &k->half[dir];
    if (!h->started) {
        h->started = true;
        h->next_seq = seq + ((flags & SYN) ? 1u : 0u);
        if (flags & SYN)
            h->scan = false; /* the stream starts at a PDU boundary */
    } else if (flags & SYN) {
        seq++;
    }
    if (flags & (FIN | RST))
        h->fin = true;
    if (wirelen == 0)
        return;
    int32_t ahead = (int32_t)(seq - h->next_seq);
    if (ahead > 0) {
        hold(c, k, dir, seq, payload, caplen, wirelen);
        return;
    }
    take(c, k, dir, seq, payload, caplen, wirelen, c->pkt);
    drain(c, k, dir);
}

void cap_tcp_finish(struct cap_ctx *c)
{
    for (size_t i = 0; i < c->n_conns; i++) {
        struct cap_conn *k = c->conns[i];
        if (k->ignored)
            continue;
        for (int d = 0; d < 2; d++)
            while (k->half[d].n_ooo && !c->rc)
                gap(c, k, d, "the bytes before it were not in the capture");
        cap_iscsi_finish(c, k);
    }
}
