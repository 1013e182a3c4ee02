/* host/iscsi_conn.c — one TCP connection: the receive state machine over
 * partial reads, and the send queue.
 *
 * Receiving: bytes arrive in a staging buffer and are fed through a state
 * machine BHS -> AHS -> header digest -> data (+padding) -> data digest.  When
 * a header is complete the login or full-feature handler chooses where the
 * data segment goes: a task's buffer (write data lands where the backend will
 * read it), the control buffer, or nowhere.  Long data segments for a task
 * are read straight into its buffer (no staging copy).
 *
 * Sending: PDUs are queued as descriptors (header, data pointer, padding +
 * digest) and written in batches: a connection queued to in a callback is
 * flushed once per turn of the loop (host/iscsi_flush.c) with one writev via
 * uv_try_write, the rest with uv_write.  Data-In points into the task buffer
 * — the DMA buffer the backend lent, when it lends — so nothing is copied;
 * the task (and with it the buffer) lives until the write has completed
 * (tx->task holds a reference).
 * With too many PDUs unsent (an initiator that stopped reading) the
 * connection stops reading until the queue drains, so memory stays bounded.
 */
#include "host/iscsi_crc32c.h"
#include "host/iscsi_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- send descriptors ------------------------------------------------------ */

struct iscsi_tx *iscsi_tx_get(struct iscsi_conn *c)
{
    struct iscsi_tx *tx = c->tx_free;
    if (tx) {
        c->tx_free = tx->next;
        c->tx_free_count--;
    } else {
        tx = malloc(sizeof(*tx));
        if (!tx)
            return NULL;
    }
    tx->next = NULL;
    tx->task = NULL;
    tx->data = NULL;
    tx->owned = NULL;
    tx->data_len = 0;
    tx->hdr_len = ISCSI_BHS_LEN;
    tx->tail_len = 0;
    memset(tx->hdr, 0, ISCSI_BHS_LEN);
    return tx;
}

void iscsi_tx_put(struct iscsi_conn *c, struct iscsi_tx *tx)
{
    struct iscsi_task *task = tx->task;
    tx->task = NULL;
    if (tx->owned)
        c->tx_owned_bytes -= tx->data_len;
    free(tx->owned);
    tx->owned = NULL;
    if (c->tx_free_count < ISCSI_TX_FREE_KEEP) {
        tx->next = c->tx_free;
        c->tx_free = tx;
        c->tx_free_count++;
    } else {
        free(tx);
    }
    /* Last: freeing the task may free a closed connection, c included. */
    if (task) {
        task->tx_refs--;
        iscsi_task_maybe_free(task);
    }
}

static void mark_dirty(struct iscsi_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->loop->dirty;
    c->loop->dirty = c;
}

static void unmark_dirty(struct iscsi_conn *c)
{
    if (!c->dirty)
        return;
    for (struct iscsi_conn **pp = &c->loop->dirty; *pp; pp = &(*pp)->dirty_next) {
        if (*pp == c) {
            *pp = c->dirty_next;
            break;
        }
    }
    c->dirty = false;
}

void iscsi_tx_queue(struct iscsi_conn *c, struct iscsi_tx *tx)
{
    if (c->state == ISCSI_CONN_CLOSED) {
        tx->task = NULL; /* no reference was taken */
        free(tx->owned); /* nor was its copy counted */
        tx->owned = NULL;
        iscsi_tx_put(c, tx);
        return;
    }
    iscsi_bhs_set_dlength(tx->hdr, tx->data_len);
    tx->hdr_len = ISCSI_BHS_LEN;
    if (c->hdigest) {
        iscsi_digest_put(tx->hdr + ISCSI_BHS_LEN, iscsi_crc32c(tx->hdr, ISCSI_BHS_LEN));
        tx->hdr_len += ISCSI_DIGEST_LEN;
    }
    uint32_t pad = iscsi_pad4(tx->data_len);
    memset(tx->tail, 0, pad);
    tx->tail_len = (uint8_t)pad;
    if (c->ddigest && tx->data_len) {
        uint32_t crc = iscsi_crc32c_update(ISCSI_CRC32C_INIT, tx->data, tx->data_len);
        crc = iscsi_crc32c_update(crc, tx->tail, pad);
        iscsi_digest_put(tx->tail + pad, iscsi_crc32c_final(crc));
        tx->tail_len += ISCSI_DIGEST_LEN;
    }
    if (tx->task)
        tx->task->tx_refs++;
    tx->next = NULL;
    if (c->txq_tail)
        c->txq_tail->next = tx;
    else
        c->txq_head = tx;
    c->txq_tail = tx;
    c->txq_count++;
    if (tx->owned)
        c->tx_owned_bytes += tx->data_len;
    if ((c->txq_count >= ISCSI_TX_QUEUE_PAUSE || c->tx_owned_bytes >= ISCSI_TX_OWNED_PAUSE) && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        c->read_paused = true;
    }
    mark_dirty(c);
    if (!c->loop->in_callback) {
        unmark_dirty(c);
        iscsi_conn_flush(c);
    }
}

int iscsi_tx_queue_copy(struct iscsi_conn *c, struct iscsi_tx *tx, const void *data, uint32_t len)
{
    if (len) {
        tx->owned = malloc(len);
        if (!tx->owned) {
            iscsi_tx_put(c, tx);
            return -ENOMEM;
        }
        memcpy(tx->owned, data, len);
    }
    tx->data = tx->owned;
    tx->data_len = len;
    iscsi_tx_queue(c, tx);
    return 0;
}

static void release_inflight(struct iscsi_conn *c)
{
    struct iscsi_tx *tx = c->inflight;
    c->inflight = NULL;
    while (tx) {
        struct iscsi_tx *next = tx->next;
        iscsi_tx_put(c, tx);
        tx = next;
    }
}

static void resume_reading(struct iscsi_conn *c);
static void on_write(uv_write_t *req, int status);

/* The writev, outside the target lock when other loops could use it
 * meanwhile: only this loop's thread touches the connection's send queue,
 * its iovecs and its handle, and the data written stays put (each
 * descriptor holds its task), so the other loops may run while the kernel
 * copies. */
static int try_write(struct iscsi_conn *c, unsigned niov)
{
    struct iscsi_target *t = c->target;
    bool unlock = t->n_loops > 1 && c->loop->in_callback > 0;
    if (unlock)
        pthread_mutex_unlock(&t->lock);
    int r = uv_try_write((uv_stream_t *)&c->tcp, c->iov, niov);
    if (unlock)
        pthread_mutex_lock(&t->lock);
    return r;
}

void iscsi_conn_flush(struct iscsi_conn *c)
{
    while (!c->writing && c->state != ISCSI_CONN_CLOSED && c->txq_head) {
        unsigned niov = 0, npdu = 0;
        size_t total = 0;
        struct iscsi_tx **tail = &c->inflight;
        while (c->txq_head && niov + 3 <= ISCSI_TX_IOV_MAX) {
            struct iscsi_tx *tx = c->txq_head;
            c->txq_head = tx->next;
            c->txq_count--;
            npdu++;
            c->iov[niov++] = uv_buf_init((char *)tx->hdr, tx->hdr_len);
            total += tx->hdr_len;
            if (tx->data_len) {
                c->iov[niov++] = uv_buf_init((char *)tx->data, tx->data_len);
                total += tx->data_len;
            }
            if (tx->tail_len) {
                c->iov[niov++] = uv_buf_init((char *)tx->tail, tx->tail_len);
                total += tx->tail_len;
            }
            tx->next = NULL;
            *tail = tx;
            tail = &tx->next;
        }
        if (!c->txq_head)
            c->txq_tail = NULL;
        ISCSI_STAT_INC(c->target, tx_writes);
        ISCSI_STAT_ADD(c->target, tx_pdus, npdu);
        int r = try_write(c, niov);
        if (r == UV_EAGAIN || r == UV_ENOSYS)
            r = 0;
        if (r < 0) {
            release_inflight(c);
            iscsi_conn_close(c, "write failed");
            return;
        }
        if ((size_t)r == total) {
            release_inflight(c);
            continue;
        }
        /* Partly written: hand the rest to uv_write (it copies the array). */
        size_t skip = (size_t)r;
        unsigned first = 0;
        while (skip >= c->iov[first].len) {
            skip -= c->iov[first].len;
            first++;
        }
        c->iov[first].base += skip;
        c->iov[first].len -= skip;
        c->writing = true;
        r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->iov + first, niov - first, on_write);
        if (r < 0) {
            c->writing = false;
            release_inflight(c);
            iscsi_conn_close(c, "write failed");
            return;
        }
    }
    if (c->state == ISCSI_CONN_CLOSED)
        return;
    if (!c->writing && c->close_when_sent && !c->txq_head)
        iscsi_conn_close(c, "finished");
    else if (!c->writing)
        resume_reading(c);
}

static void on_write(uv_write_t *req, int status)
{
    struct iscsi_conn *c = req->handle->data;
    struct iscsi_target *t = c->target;
    iscsi_target_enter(t);
    c->writing = false;
    release_inflight(c);
    if (status < 0) {
        if (c->state != ISCSI_CONN_CLOSED)
            iscsi_conn_close(c, "write failed");
    } else {
        iscsi_conn_flush(c);
    }
    iscsi_conn_maybe_free(c);
    iscsi_target_leave(t);
}

/* ---- sequence numbers ------------------------------------------------------- */

uint32_t iscsi_conn_statsn(struct iscsi_conn *c, bool advance)
{
    uint32_t v = c->statsn;
    if (advance)
        c->statsn++;
    return v;
}

void iscsi_conn_stamp(struct iscsi_conn *c, uint8_t *bhs, bool advance_statsn)
{
    scsi_put_be32(bhs + 24, iscsi_conn_statsn(c, advance_statsn));
    if (c->sess)
        iscsi_session_window(c->sess, bhs + 28, bhs + 32);
}

/* ---- closing ---------------------------------------------------------------- */

static void conn_free(struct iscsi_conn *c)
{
    struct iscsi_target *t = c->target;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    unmark_dirty(c);
    if (c->posted) {
        for (struct iscsi_conn **pp = &c->loop->posted; *pp; pp = &(*pp)->post_next)
            if (*pp == c) {
                *pp = c->post_next;
                break;
            }
    }
    struct iscsi_loop *L = c->loop;
    iscsi_tasks_free(c);
    while (c->tx_free) {
        struct iscsi_tx *tx = c->tx_free;
        c->tx_free = tx->next;
        free(tx);
    }
    iscsi_login_free(c);
    free(c->staging);
    free(c->ctl);
    tbuf_free(&c->text_in);
    free(c->text_out);
    free(c);
    iscsi_target_conn_gone(t, L);
}

void iscsi_conn_maybe_free(struct iscsi_conn *c)
{
    if (c->state == ISCSI_CONN_CLOSED && c->handle_closed && !c->writing && c->live_tasks == 0)
        conn_free(c);
}

static void on_closed(uv_handle_t *h)
{
    struct iscsi_conn *c = h->data;
    struct iscsi_target *t = c->target;
    iscsi_target_enter(t);
    c->handle_closed = true;
    iscsi_conn_maybe_free(c);
    iscsi_target_leave(t);
}

/* Closed from another loop's thread (session reinstatement, a cold reset,
 * the target closing): what is target state ends now, under the target lock
 * the caller holds — the session and with it the I_T nexus, so a session
 * that reinstates this one starts after it ended — and the rest, which
 * touches the socket, the tasks' buffers and the send queue, is posted to
 * the connection's own loop.  Until then the connection reads nothing more
 * (iscsi_conn_alive is false). */
static void close_from_elsewhere(struct iscsi_conn *c, const char *why)
{
    if (c->close_posted)
        return;
    c->close_posted = true;
    c->close_why = why;
    if (c->sess) {
        iscsi_session_destroy(c->sess);
        c->sess = NULL;
    }
    iscsi_loop_post(c);
}

void iscsi_conn_close(struct iscsi_conn *c, const char *why)
{
    if (c->state == ISCSI_CONN_CLOSED)
        return;
    struct iscsi_target *t = c->target;
    if (c->loop != iscsi_loop_current(t)) {
        close_from_elsewhere(c, why);
        return;
    }
    iscsi_log(t, ISCSI_TLOG_INFO, "connection %llu (%s) closed: %s", (unsigned long long)c->id, c->peer, why);
    c->state = ISCSI_CONN_CLOSED;
    unmark_dirty(c);
    ISCSI_STAT_DEC(t, connections_open);
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    /* Unsent PDUs go now; those in a pending write come back through on_write
     * (cancelled) once the handle closes. */
    while (c->txq_head) {
        struct iscsi_tx *tx = c->txq_head;
        c->txq_head = tx->next;
        iscsi_tx_put(c, tx);
    }
    c->txq_tail = NULL;
    c->txq_count = 0;
    /* Tasks still collecting data end here; those in the backend end when
     * their completion arrives (the session's nexus loss hurries them). */
    for (unsigned i = 0; i < c->n_tasks; i++) {
        struct iscsi_task *task = &c->tasks[i];
        if (task->state == ISCSI_TASK_DATA_OUT)
            iscsi_task_finish(task);
    }
    if (c->sess) {
        iscsi_session_destroy(c->sess);
        c->sess = NULL;
    }
    iscsi_login_free(c);
    if (c->adopt_fd >= 0) {
        /* Closed before its loop opened it: a handle to close all the same. */
        close(c->adopt_fd);
        c->adopt_fd = -1;
        uv_tcp_init(c->loop->uv, &c->tcp);
        c->tcp.data = c;
    }
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void iscsi_conn_close_after_send(struct iscsi_conn *c)
{
    if (c->state == ISCSI_CONN_CLOSED)
        return;
    if (c->loop != iscsi_loop_current(c->target)) {
        close_from_elsewhere(c, "closed from another loop");
        return;
    }
    c->close_when_sent = true;
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->read_paused = false;
    mark_dirty(c);
    if (!c->loop->in_callback) {
        unmark_dirty(c);
        iscsi_conn_flush(c);
    }
}

void iscsi_conn_protocol_error(struct iscsi_conn *c, const char *what)
{
    ISCSI_STAT_INC(c->target, protocol_errors);
    iscsi_log(c->target, ISCSI_TLOG_WARN, "connection %llu (%s): protocol error: %s", (unsigned long long)c->id,
              c->peer, what);
    iscsi_conn_close_after_send(c);
}

/* ---- receiving -------------------------------------------------------------- */

int iscsi_rx_to_ctl(struct iscsi_conn *c)
{
    if (c->dlen > c->ctl_cap) {
        uint32_t cap = c->dlen < 8192 ? 8192 : c->dlen;
        uint8_t *p = realloc(c->ctl, cap);
        if (!p)
            return -ENOMEM;
        c->ctl = p;
        c->ctl_cap = cap;
    }
    c->dst = ISCSI_DST_CTL;
    c->dst_ptr = c->ctl;
    return 0;
}

void iscsi_rx_to_task(struct iscsi_conn *c, struct iscsi_task *t, uint32_t offset)
{
    c->dst = ISCSI_DST_TASK;
    c->dst_ptr = t->buf + offset;
    c->rx_task = t;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct iscsi_conn *c = h->data;
    if (c->rx == ISCSI_RX_DATA && c->dst == ISCSI_DST_TASK && c->dhave < c->dlen &&
        c->dlen - c->dhave >= ISCSI_DIRECT_MIN) {
        *buf = uv_buf_init((char *)c->dst_ptr + c->dhave, c->dlen - c->dhave);
        c->direct_read = true;
        return;
    }
    *buf = uv_buf_init((char *)c->staging, ISCSI_RX_STAGING);
    c->direct_read = false;
}

static void pdu_done(struct iscsi_conn *c)
{
    c->rx = ISCSI_RX_BHS;
    c->hdr_have = 0;
    int r = c->state == ISCSI_CONN_LOGIN ? iscsi_login_pdu(c) : iscsi_ffp_pdu(c);
    c->rx_task = NULL;
    if (r < 0 && iscsi_conn_alive(c))
        iscsi_conn_close(c, "PDU handling failed");
}

/* Checks a BHS before anything that follows it is read: a PDU whose framing
 * is wrong ends the connection at once instead of waiting for bytes that a
 * broken or hostile peer may never send.  Returns false if it ended. */
static bool bhs_acceptable(struct iscsi_conn *c)
{
    uint8_t op = iscsi_bhs_opcode(c->hdr);
    const char *bad = NULL;
    if (c->state == ISCSI_CONN_LOGIN && op != ISCSI_OP_LOGIN_REQ && !c->login)
        bad = "first PDU is not a Login Request";
    else if (c->hdr[4] && op != ISCSI_OP_SCSI_CMD)
        bad = "additional header segments on a PDU that has none";
    else if (iscsi_bhs_dlength(c->hdr) > c->max_rx_dsl)
        bad = c->state == ISCSI_CONN_LOGIN ? "login data segment too long"
                                           : "data segment longer than MaxRecvDataSegmentLength";
    if (!bad)
        return true;
    if (c->state == ISCSI_CONN_LOGIN) {
        ISCSI_STAT_INC(c->target, protocol_errors);
        iscsi_conn_close(c, bad);
    } else {
        iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
        iscsi_conn_protocol_error(c, bad);
    }
    return false;
}

static void header_done(struct iscsi_conn *c)
{
    c->dlen = iscsi_bhs_dlength(c->hdr);
    c->dpad = iscsi_pad4(c->dlen);
    c->dhave = 0;
    c->ddig_have = 0;
    c->dcrc = ISCSI_CRC32C_INIT;
    c->dst = ISCSI_DST_DISCARD;
    c->dst_ptr = NULL;
    c->rx_task = NULL;
    int r = c->state == ISCSI_CONN_LOGIN ? iscsi_login_header(c) : iscsi_ffp_header(c);
    if (r < 0) {
        if (iscsi_conn_alive(c))
            iscsi_conn_close(c, "PDU header handling failed");
        return;
    }
    if (!iscsi_conn_alive(c))
        return;
    if (c->dlen == 0)
        pdu_done(c); /* no data segment, so no data digest either */
    else
        c->rx = ISCSI_RX_DATA;
}

static void after_bhs_or_ahs(struct iscsi_conn *c)
{
    if (c->hdigest)
        c->rx = ISCSI_RX_HDIGEST;
    else
        header_done(c);
}

static void data_complete(struct iscsi_conn *c)
{
    if (c->ddigest) {
        c->rx = ISCSI_RX_DDIGEST;
        return;
    }
    pdu_done(c);
}

/* Moves n data-segment bytes (data then padding) from p to their destination. */
static void take_data(struct iscsi_conn *c, const uint8_t *p, uint32_t n)
{
    if (c->dhave < c->dlen) {
        uint32_t d = c->dlen - c->dhave;
        if (d > n)
            d = n;
        if (c->dst != ISCSI_DST_DISCARD)
            memcpy(c->dst_ptr + c->dhave, p, d);
    }
    if (c->ddigest)
        c->dcrc = iscsi_crc32c_update(c->dcrc, p, n);
    c->dhave += n;
}

static void digest_mismatch(struct iscsi_conn *c, bool header)
{
    ISCSI_STAT_INC(c->target, digest_errors);
    if (header) {
        /* The lengths in a damaged header cannot be trusted: nothing after it can be parsed. */
        iscsi_conn_close(c, "header digest error");
        return;
    }
    /* The header was sound, so framing holds: the PDU is discarded (its
     * command, if any, fails) and the connection carries on. */
    c->rx = ISCSI_RX_BHS;
    c->hdr_have = 0;
    iscsi_ffp_data_digest_error(c);
    c->rx_task = NULL;
}

static void consume(struct iscsi_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && iscsi_conn_alive(c)) {
        uint32_t want, take;
        switch (c->rx) {
        case ISCSI_RX_BHS:
            want = ISCSI_BHS_LEN - c->hdr_have;
            take = n < want ? (uint32_t)n : want;
            memcpy(c->hdr + c->hdr_have, p, take);
            c->hdr_have += take;
            p += take;
            n -= take;
            if (c->hdr_have == ISCSI_BHS_LEN) {
                if (!bhs_acceptable(c))
                    return;
                c->ahs_len = (uint32_t)c->hdr[4] * 4;
                if (c->ahs_len)
                    c->rx = ISCSI_RX_AHS;
                else
                    after_bhs_or_ahs(c);
            }
            break;
        case ISCSI_RX_AHS:
            want = ISCSI_BHS_LEN + c->ahs_len - c->hdr_have;
            take = n < want ? (uint32_t)n : want;
            memcpy(c->hdr + c->hdr_have, p, take);
            c->hdr_have += take;
            p += take;
            n -= take;
            if (c->hdr_have == ISCSI_BHS_LEN + c->ahs_len)
                after_bhs_or_ahs(c);
            break;
        case ISCSI_RX_HDIGEST:
            want = ISCSI_BHS_LEN + c->ahs_len + ISCSI_DIGEST_LEN - c->hdr_have;
            take = n < want ? (uint32_t)n : want;
            memcpy(c->hdr + c->hdr_have, p, take);
            c->hdr_have += take;
            p += take;
            n -= take;
            if (take == want) {
                uint32_t hl = ISCSI_BHS_LEN + c->ahs_len;
                if (iscsi_crc32c(c->hdr, hl) != iscsi_digest_get(c->hdr + hl))
                    digest_mismatch(c, true);
                else
                    header_done(c);
            }
            break;
        case ISCSI_RX_DATA:
            want = c->dlen + c->dpad - c->dhave;
            take = n < want ? (uint32_t)n : want;
            take_data(c, p, take);
            p += take;
            n -= take;
            if (take == want)
                data_complete(c);
            break;
        case ISCSI_RX_DDIGEST:
            want = ISCSI_DIGEST_LEN - c->ddig_have;
            take = n < want ? (uint32_t)n : want;
            memcpy(c->ddig + c->ddig_have, p, take);
            c->ddig_have += take;
            p += take;
            n -= take;
            if (take == want) {
                if (iscsi_crc32c_final(c->dcrc) != iscsi_digest_get(c->ddig))
                    digest_mismatch(c, false);
                else
                    pdu_done(c);
            }
            break;
        }
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct iscsi_conn *c = s->data;
    struct iscsi_target *t = c->target;
    iscsi_target_enter(t);
    if (nread < 0) {
        iscsi_conn_close(c, nread == UV_EOF ? "initiator closed the connection" : uv_strerror((int)nread));
    } else if (nread > 0 && iscsi_conn_alive(c)) {
        c->last_rx_ms = iscsi_now_ms(t);
        if (c->direct_read && buf->base != (char *)c->staging) {
            /* Straight into a task buffer: only data bytes were asked for. */
            if (c->ddigest)
                c->dcrc = iscsi_crc32c_update(c->dcrc, buf->base, (size_t)nread);
            c->dhave += (uint32_t)nread;
            if (c->dhave == c->dlen + c->dpad)
                data_complete(c);
        } else {
            consume(c, (const uint8_t *)buf->base, (size_t)nread);
        }
        /* The per-PDU clock (pdu_timeout_ms): runs while a PDU is part-way in. */
        if (iscsi_conn_alive(c)) {
            bool between = c->rx == ISCSI_RX_BHS && c->hdr_have == 0;
            if (between)
                c->pdu_started_ms = 0;
            else if (!c->pdu_started_ms)
                c->pdu_started_ms = c->last_rx_ms;
        }
    }
    iscsi_target_leave(t);
}

static void resume_reading(struct iscsi_conn *c)
{
    if (!c->read_paused || c->txq_count > ISCSI_TX_QUEUE_PAUSE / 2 || c->tx_owned_bytes > ISCSI_TX_OWNED_PAUSE / 2 ||
        !iscsi_conn_alive(c))
        return;
    c->read_paused = false;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
        c->reading = true;
}

/* ---- accepting -------------------------------------------------------------- */

static void format_addr(const struct sockaddr_storage *ss, char *host, size_t hl, int *port, bool *v6)
{
    host[0] = '\0';
    *port = 0;
    *v6 = ss->ss_family == AF_INET6;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, host, hl);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, host, hl);
        *port = ntohs(a->sin6_port);
    }
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

/* Takes the connection off the backlog and hangs up. */
static void refuse(struct iscsi_target *t, uv_stream_t *server)
{
    uv_tcp_t *tmp = malloc(sizeof(*tmp));
    if (tmp && uv_tcp_init(t->loops[0].uv, tmp) == 0) {
        if (uv_accept(server, (uv_stream_t *)tmp) == 0)
            ISCSI_STAT_INC(t, connections_refused);
        uv_close((uv_handle_t *)tmp, on_refused_closed);
    } else {
        free(tmp);
    }
    iscsi_log(t, ISCSI_TLOG_WARN, "connection refused (limit of %u connections, or out of memory)",
              t->opt.max_connections);
}

/* A handle cannot move between loops, so a connection for another loop is
 * accepted into a handle of loop 0, its socket duplicated, and the handle
 * closed; the connection's own loop opens the duplicate (uv_tcp_open).
 * Returns the descriptor, or a negative libuv error. */
static int accept_for_other_loop(struct iscsi_target *t, uv_stream_t *server)
{
    uv_tcp_t *tmp = malloc(sizeof(*tmp));
    if (!tmp)
        return UV_ENOMEM;
    int r = uv_tcp_init(t->loops[0].uv, tmp);
    if (r < 0) {
        free(tmp);
        return r;
    }
    r = uv_accept(server, (uv_stream_t *)tmp);
    uv_os_fd_t fd;
    if (r == 0 && (r = uv_fileno((uv_handle_t *)tmp, &fd)) == 0) {
        r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (r < 0)
            r = -errno;
    }
    uv_close((uv_handle_t *)tmp, on_refused_closed);
    return r;
}

/* The part of accepting done on the connection's own loop. */
static void conn_start(struct iscsi_conn *c)
{
    struct iscsi_target *t = c->target;
    ISCSI_STAT_INC(t, connections_accepted);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[48];
    int port;
    bool v6;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        format_addr(&ss, host, sizeof(host), &port, &v6);
        snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
    }
    len = sizeof(ss);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, c->local_host, sizeof(c->local_host), &c->local_port, &c->local_v6);
    c->login_started_ms = c->last_rx_ms = iscsi_now_ms(t);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) < 0) {
        iscsi_conn_close(c, "cannot read");
        return;
    }
    c->reading = true;
    iscsi_log(t, ISCSI_TLOG_INFO, "connection %llu from %s on loop %u", (unsigned long long)c->id, c->peer,
              c->loop->index);
}

void iscsi_conn_accept(struct iscsi_target *t, unsigned portal)
{
    uv_stream_t *server = (uv_stream_t *)(portal ? &t->more[portal - 1].listener : &t->listener);
    if (t->closing || t->n_conns >= t->opt.max_connections) {
        refuse(t, server);
        return;
    }
    struct iscsi_loop *L = &t->loops[t->next_loop++ % t->n_loops];
    struct iscsi_conn *c = calloc(1, sizeof(*c));
    uint8_t *staging = malloc(ISCSI_RX_STAGING);
    if (!c || !staging) {
        free(c);
        free(staging);
        refuse(t, server);
        return;
    }
    int fd = -1;
    if (L->index != 0 && (fd = accept_for_other_loop(t, server)) < 0) {
        free(c);
        free(staging);
        iscsi_log(t, ISCSI_TLOG_WARN, "accept failed: %s", uv_strerror(fd));
        return;
    }
    c->target = t;
    c->loop = L;
    c->portal = portal;
    c->staging = staging;
    c->adopt_fd = -1;
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    t->n_conns++;
    L->n_conns++;
    c->id = ++t->next_conn_id;
    c->state = ISCSI_CONN_LOGIN;
    c->rx = ISCSI_RX_BHS;
    c->max_rx_dsl = ISCSI_LOGIN_MAX_DSL;
    c->peer_mrdsl = 8192;
    c->statsn = 1;
    c->login_started_ms = c->last_rx_ms = iscsi_now_ms(t);
    c->next_ping_ttt = 1;
    c->text_ttt = ISCSI_RESERVED_TAG;
    ISCSI_STAT_INC(t, connections_open);
    if (L->index != 0) {
        c->adopt_fd = fd;
        iscsi_loop_post(c);
        return;
    }
    uv_tcp_init(L->uv, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        iscsi_conn_close(c, "accept failed");
        return;
    }
    conn_start(c);
}

void iscsi_conn_adopt(struct iscsi_conn *c)
{
    int fd = c->adopt_fd;
    c->adopt_fd = -1;
    uv_tcp_init(c->loop->uv, &c->tcp);
    c->tcp.data = c;
    int r = uv_tcp_open(&c->tcp, fd);
    if (r < 0) {
        close(fd);
        iscsi_conn_close(c, uv_strerror(r));
        return;
    }
    conn_start(c);
}
