/* host/iscsi_int.h — the iSCSI target's internal objects, shared by its
 * modules (not a public header).
 *
 *   iscsi_target.c   public API, nodes, listener, event loops, timers, completion queue
 *   iscsi_conn.c     one TCP connection: receive state machine, send queue
 *   iscsi_login.c    login phase: stages, security (CHAP), operational keys
 *   iscsi_session.c  sessions: TSIH, reinstatement, CmdSN window, StatSN
 *   iscsi_task.c     per-connection task pool, ITT lookup, completion entry
 *   iscsi_scsi.c     SCSI Command, Data-Out, R2T, Data-In, SCSI Response
 *   iscsi_tmf.c      task management functions
 *   iscsi_ffp.c      full feature phase dispatch, NOP, Logout, Reject
 *   iscsi_text.c     Text requests: SendTargets, FFP negotiation
 *
 * Ownership: the target owns nodes, connections and its event loops (struct
 * iscsi_loop); a connection lives on one loop and owns its session
 * (MaxConnections=1), its task pool and its send queue.  Locking: the target
 * lock guards all of it (iscsi_target_enter/leave); a connection's handle
 * and send path are touched only on its loop's thread.  A closed
 * connection lives on until its handle is closed AND the backend has finished
 * every task it was given (tasks point into the connection).
 */
#ifndef HOST_ISCSI_INT_H
#define HOST_ISCSI_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "host/iscsi_keys.h"
#include "host/iscsi_pdu.h"
#include "host/iscsi_target.h"
#include "host/scsi_backend.h"
#include "host/scsi_lunmap.h"

#define ISCSI_LOGIN_MAX_DSL   8192        /* data segment limit during login */
#define ISCSI_TEXT_MAX        65536       /* text accumulated over C-bit PDUs */
#define ISCSI_RX_STAGING      65536       /* socket read buffer */
#define ISCSI_DIRECT_MIN      8192        /* read straight into task buffers from here */
#define ISCSI_TX_IOV_MAX      96          /* iovecs per write */
#define ISCSI_TX_QUEUE_PAUSE  4096        /* stop reading with this many PDUs unsent */
#define ISCSI_TX_OWNED_PAUSE  (4u << 20)  /* ... or this many bytes of copied data unsent */
#define ISCSI_TX_FREE_KEEP    512         /* cached send descriptors per connection */
#define ISCSI_IMMEDIATE_EXTRA 8           /* immediate commands beyond the window */
#define ISCSI_ITT_BUCKETS     256

struct iscsi_conn;
struct iscsi_session;

/* ---- nodes -------------------------------------------------------------- */

/* CHAP credentials: of a node, or of discovery sessions (the target's). */
struct iscsi_auth {
    bool chap;
    char chap_user[ISCSI_SECRET_MAX + 1], chap_secret[ISCSI_SECRET_MAX + 1];
    bool mutual;
    char mutual_user[ISCSI_SECRET_MAX + 1], mutual_secret[ISCSI_SECRET_MAX + 1];
};

struct iscsi_node {
    struct iscsi_node *next;
    struct iscsi_target *target;
    char name[ISCSI_NAME_MAX + 1];
    char alias[256];
    struct scsi_lunmap *luns;
    char **acl;
    size_t n_acl;
    struct iscsi_auth auth;
};

bool iscsi_node_admits(const struct iscsi_node *n, const char *initiator);
struct iscsi_node *iscsi_target_find_node(struct iscsi_target *t, const char *name);

/* ---- the target --------------------------------------------------------- */

struct iscsi_stats_atomic {
    atomic_uint_fast64_t v[sizeof(struct iscsi_target_stats) / sizeof(uint64_t)];
};
#define ISCSI_STAT_IDX(field) (offsetof(struct iscsi_target_stats, field) / sizeof(uint64_t))
#define ISCSI_STAT_ADD(t, field, n) \
    atomic_fetch_add_explicit(&(t)->stats.v[ISCSI_STAT_IDX(field)], (n), memory_order_relaxed)
#define ISCSI_STAT_INC(t, field) ISCSI_STAT_ADD(t, field, 1)
#define ISCSI_STAT_DEC(t, field) atomic_fetch_sub_explicit(&(t)->stats.v[ISCSI_STAT_IDX(field)], 1, memory_order_relaxed)

struct iscsi_task;

/* One event loop of the target.  Its handles are touched only on its own
 * thread; everything else in it is guarded by the target lock unless said. */
struct iscsi_loop {
    struct iscsi_target *target;
    unsigned index;
    uv_loop_t *uv;                 /* loop 0: the caller's; others: &own */
    uv_loop_t own;
    uv_thread_t thread;            /* workers (index >= 1) */
    bool thread_started;
    bool exited;                   /* a worker's uv_run returned and its loop is closed */
    bool stopping;                 /* a worker's handles are closing */
    int in_callback;               /* >0 while a target callback runs on this loop (its thread only) */
    uv_timer_t timer;              /* NOP pings and login timeouts of its connections */
    bool timer_on;
    uv_async_t wake;               /* completions and posted work from other threads */
    bool wake_on;
    bool wake_closing;             /* set under remote_lock: send nothing more */
    /* Completions: local (this loop's thread) and remote (remote_lock). */
    struct iscsi_task *done_head, *done_tail;
    pthread_mutex_t remote_lock;
    struct iscsi_task *remote_head, *remote_tail;
    struct iscsi_conn *dirty;      /* connections with PDUs to send */
    /* Dirty connections are written once per turn of the loop (iscsi_flush.c):
     * the check handle runs after the poll phase, the idle handle keeps the
     * poll from blocking while something waits to be sent. */
    uv_check_t flush_check;
    uv_idle_t flush_idle;
    bool flush_on;                 /* both handles initialised and not closing */
    bool flush_armed;              /* both started */
    struct iscsi_conn *posted;     /* connections with work posted from another loop */
    unsigned n_conns;              /* connections living on this loop, not yet freed */
};

struct iscsi_target {
    struct iscsi_target_options opt;
    char host[64];
    struct iscsi_params pref;      /* what the target prefers, per key */
    struct iscsi_node *nodes;
    struct iscsi_auth discovery_auth; /* discovery sessions: CHAP when chap is set */
    struct iscsi_conn *conns;      /* every connection not yet freed */
    unsigned n_conns;
    struct iscsi_session *sessions;
    uint16_t next_tsih;
    uint64_t next_nexus;
    struct iscsi_nexus_id *nexus_ids; /* I_T nexuses seen, most recently used first */
    unsigned n_nexus_ids;
    uint64_t next_conn_id;

    uv_tcp_t listener;
    bool listening;
    int port;
    /* Further portals (multipath): portal p >= 1 is more[p - 1].  Each is a
     * target port of its own: TPGT portal_group_tag + p, and its commands
     * reach the device as target port p (scsi_backend_task.target_port). */
    struct iscsi_portal {
        struct iscsi_target *target;
        unsigned index;            /* p */
        char host[64];
        uint16_t want_port;        /* as asked; 0 = any */
        int port;                  /* bound, -1 before listen */
        uv_tcp_t listener;
        bool listening;
    } more[ISCSI_TARGET_PORTALS_MAX - 1];
    unsigned n_more;
    /* Event loops (issue 14): loop 0 is the caller's (listeners, the close
     * sequence); loops 1..n_loops-1 each run on a thread of their own.  A
     * connection lives its whole life on one loop.  One mutex, the target
     * lock, guards every piece of target state: a loop takes it when its
     * thread enters the outermost target callback (iscsi_target_enter) and
     * drops it on leaving, so the loops read their sockets in parallel and
     * take turns at everything else. */
    struct iscsi_loop loops[ISCSI_TARGET_LOOPS_MAX];
    unsigned n_loops;
    unsigned next_loop;            /* round robin for new connections */
    pthread_mutex_t lock;          /* the target lock */
    uv_thread_t loop_thread;       /* loop 0's thread, learnt at the first accept */
    bool loop_thread_known;
    bool workers_joined;

    bool closing;
    unsigned handles_open;
    void (*closed_cb)(void *arg);
    void *closed_arg;
    struct iscsi_stats_atomic stats;
};

void iscsi_log(struct iscsi_target *t, enum iscsi_target_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t iscsi_now_ms(struct iscsi_target *t);
/* Enter/leave a libuv callback: on leaving the outermost one, pending local
 * completions run and dirty connections are flushed. */
void iscsi_target_enter(struct iscsi_target *t);
void iscsi_target_leave(struct iscsi_target *t);
/* The loop whose thread calls: a worker's, or loop 0 for every other thread. */
struct iscsi_loop *iscsi_loop_current(struct iscsi_target *t);
/* Writes every dirty connection of the loop now (one writev each). */
void iscsi_target_flush_dirty(struct iscsi_loop *L);
/* The once-per-turn flush (iscsi_flush.c).  init adds two handles to
 * t->handles_open; close closes them through closed_cb.  defer arms the
 * handles and returns true, or returns false when they are not there (before
 * listening, while closing): then the caller flushes at once. */
int  iscsi_flush_init(struct iscsi_loop *L);
void iscsi_flush_close(struct iscsi_loop *L, uv_close_cb closed_cb);
bool iscsi_flush_defer(struct iscsi_loop *L);
/* A connection of loop L has been freed (for the close sequence). */
void iscsi_target_conn_gone(struct iscsi_target *t, struct iscsi_loop *L);
/* Hands work on c to its loop's thread (target lock held): the adoption of
 * its socket, a close asked for from another loop. */
void iscsi_loop_post(struct iscsi_conn *c);

/* ---- send descriptors --------------------------------------------------- */

struct iscsi_tx {
    struct iscsi_tx *next;
    struct iscsi_task *task;       /* data belongs to this task (a reference) */
    const uint8_t *data;
    uint8_t *owned;                /* heap data freed once sent */
    uint32_t data_len;
    uint8_t hdr_len, tail_len;
    uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
    uint8_t tail[3 + ISCSI_DIGEST_LEN];
};

/* ---- tasks -------------------------------------------------------------- */

enum iscsi_task_kind { ISCSI_TASK_CMD = 1, ISCSI_TASK_TMF = 2 };
enum iscsi_task_state {
    ISCSI_TASK_FREE = 0,
    ISCSI_TASK_DATA_OUT,   /* collecting write data */
    ISCSI_TASK_BACKEND,    /* given to the backend, done not yet seen */
    ISCSI_TASK_QUEUED,     /* done seen, waiting in the completion queue */
    ISCSI_TASK_RESPONDING, /* response PDUs queued for sending */
};

struct iscsi_task {
    struct scsi_backend_task be;   /* the backend's view (container_of) */
    struct scsi_backend_tmf tmf;
    struct iscsi_conn *conn;
    struct iscsi_task *hash_next;
    struct iscsi_task *done_next;
    struct iscsi_task *free_next;
    uint8_t kind, state;
    bool in_hash;
    bool aborted;                  /* ended by a TMF: send no status */
    bool immediate;
    bool holds_slot;               /* took a CmdSN window slot */
    uint16_t index, gen;           /* Target Transfer Tag = gen << 16 | index */
    uint32_t itt, cmdsn, edtl;
    uint8_t lun_raw[8];
    uint8_t *buf;                  /* the data: lent.data, or the connection's own (malloc) */
    uint32_t buf_cap;
    struct scsi_backend_buf lent;  /* owner set: buf is the backend's DMA buffer (zero copy) */
    bool is_read, is_write;
    /* write side */
    uint32_t received;             /* contiguous data-out bytes in buf */
    uint32_t unsol_limit;          /* end of unsolicited data allowed */
    bool unsol_open;               /* unsolicited Data-Out may still arrive */
    bool r2t_open;                 /* an R2T burst is being filled */
    uint32_t burst_end;
    uint32_t next_datasn;          /* DataSN expected in the current sequence */
    uint32_t r2tsn;                /* R2Ts sent */
    /* read side */
    uint32_t datasn;               /* Data-In PDUs sent */
    uint32_t tx_refs;              /* send descriptors pointing at buf */
    /* TMF */
    uint8_t tmf_function;
    struct iscsi_task *tmf_target; /* ABORT TASK: the task being aborted */
};

static inline uint32_t iscsi_task_ttt(const struct iscsi_task *t)
{
    return (uint32_t)t->gen << 16 | t->index;
}

int  iscsi_tasks_init(struct iscsi_conn *c, unsigned n);
void iscsi_tasks_free(struct iscsi_conn *c);
struct iscsi_task *iscsi_task_alloc(struct iscsi_conn *c, enum iscsi_task_kind kind, uint32_t itt);
struct iscsi_task *iscsi_task_by_itt(struct iscsi_conn *c, uint32_t itt);
struct iscsi_task *iscsi_task_by_ttt(struct iscsi_conn *c, uint32_t ttt);
/* Makes room for len bytes of data for a command to the task's LUN (lun_raw
 * set): a buffer the backend lends when it can (the device then DMAs straight
 * from and into what goes on the wire), else the connection's own memory.
 * -ENOMEM over the connection's budget. */
int  iscsi_task_buffer(struct iscsi_task *t, uint32_t len);
/* Releases the task if nothing refers to it any more. */
void iscsi_task_maybe_free(struct iscsi_task *t);
/* Ends a task that the backend never saw (or whose status is not wanted). */
void iscsi_task_finish(struct iscsi_task *t);
/* scsi_backend done / tmf done entry points. */
void iscsi_task_backend_done(struct scsi_backend_task *bt);
void iscsi_task_tmf_done(struct scsi_backend_tmf *tmf);
/* Runs the loop's queued completions (its thread). */
void iscsi_target_run_completions(struct iscsi_loop *L);

/* ---- sessions ----------------------------------------------------------- */

struct iscsi_session {
    struct iscsi_session *next;
    struct iscsi_target *target;
    struct iscsi_conn *conn;
    struct iscsi_node *node;       /* NULL for discovery */
    bool discovery;
    char initiator[ISCSI_NAME_MAX + 1];
    uint8_t isid[6];
    uint16_t tsih;
    uint64_t nexus;
    unsigned portal;               /* the portal (target port) it logged in on */
    struct iscsi_params params;    /* negotiated */
    unsigned depth;
    uint32_t exp_cmdsn, max_cmdsn;
    uint64_t ahead[4];             /* commands received beyond exp_cmdsn (bit d = exp+d) */
    unsigned active;               /* non-immediate commands holding a window slot */
    unsigned active_immediate;
};

/* I_T nexus identity (SAM-5 4.6.4): the initiator port (iSCSI name + ISID)
 * and the target port (the node).  The backend gets one number per identity,
 * the same for every session of it (a reinstated session, a login after a
 * dropped connection), so state the device keeps per I_T nexus — a pending
 * 29h/07h I_T NEXUS LOSS OCCURRED above all — reaches the initiator that lost
 * it.  At most ISCSI_NEXUS_REMEMBER identities are kept; past that the least
 * recently used one without a session is forgotten (it gets a new number if
 * it comes back). */
#define ISCSI_NEXUS_REMEMBER 4096
struct iscsi_nexus_id {
    struct iscsi_nexus_id *next;
    char initiator[ISCSI_NAME_MAX + 1];
    uint8_t isid[6];
    const struct iscsi_node *node;
    unsigned portal;               /* the target port: another portal, another I_T nexus */
    uint64_t nexus;
    unsigned sessions;             /* sessions of this identity open now */
};
/* The number of an identity (remembered from now on, and counted as having
 * one more session); 0 on allocation failure (never a valid number). */
uint64_t iscsi_nexus_acquire(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                             const struct iscsi_node *node, unsigned portal);
/* The TargetPortalGroupTag of portal p. */
static inline uint16_t iscsi_portal_tpgt(const struct iscsi_target *t, unsigned p)
{
    return (uint16_t)(t->opt.portal_group_tag + p);
}
/* A session of the identity numbered nexus ended. */
void iscsi_nexus_release(struct iscsi_target *t, uint64_t nexus);
void iscsi_nexus_forget_all(struct iscsi_target *t);

enum iscsi_cmdsn_verdict { ISCSI_CMDSN_ACCEPT, ISCSI_CMDSN_DROP };

/* RFC 1982 serial number arithmetic on 32-bit sequence numbers. */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b) { return a != b && (int32_t)(a - b) < 0; }
static inline bool iscsi_sn_gt(uint32_t a, uint32_t b) { return a != b && (int32_t)(a - b) > 0; }

struct iscsi_session *iscsi_session_create(struct iscsi_conn *c);
void iscsi_session_destroy(struct iscsi_session *s);
/* Normal sessions of an initiator name, the one with isid on node (being
 * reinstated) not counted. */
unsigned iscsi_sessions_of(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                           const struct iscsi_node *node);
/* A session is (initiator, ISID, node, portal group) (RFC 7143 4.4.2). */
struct iscsi_session *iscsi_session_find(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                                         const struct iscsi_node *node, bool discovery, unsigned portal);
/* Checks a command's CmdSN against the window and, if accepted and not
 * immediate, takes a window slot (release with iscsi_session_release). */
enum iscsi_cmdsn_verdict iscsi_session_check_cmdsn(struct iscsi_session *s, uint32_t cmdsn, bool immediate);
void iscsi_session_release(struct iscsi_session *s, bool immediate);
void iscsi_session_window(const struct iscsi_session *s, uint8_t exp_cmdsn[4], uint8_t max_cmdsn[4]);

/* ---- connections -------------------------------------------------------- */

enum iscsi_conn_state {
    ISCSI_CONN_LOGIN,
    ISCSI_CONN_FULL_FEATURE,
    ISCSI_CONN_LOGGING_OUT,  /* logout answered: nothing more is read */
    ISCSI_CONN_CLOSED,       /* handle closing or closed */
};

enum iscsi_rx_state { ISCSI_RX_BHS, ISCSI_RX_AHS, ISCSI_RX_HDIGEST, ISCSI_RX_DATA, ISCSI_RX_DDIGEST };
enum iscsi_rx_dst { ISCSI_DST_DISCARD, ISCSI_DST_CTL, ISCSI_DST_TASK };

struct iscsi_login;

struct iscsi_conn {
    struct iscsi_target *target;
    struct iscsi_loop *loop;        /* the loop it lives on */
    struct iscsi_conn *post_next;   /* on loop->posted */
    bool posted;
    int adopt_fd;                   /* >= 0: accepted on loop 0, not yet opened on its loop */
    bool close_posted;              /* closed from another loop: its own finishes the close */
    const char *close_why;
    struct iscsi_conn *next, *prev;
    struct iscsi_conn *dirty_next;
    bool dirty;
    uv_tcp_t tcp;
    enum iscsi_conn_state state;
    bool handle_closed;
    uint64_t id;
    char peer[64];
    char local_host[64];
    int local_port;
    bool local_v6;
    unsigned portal;                /* accepted on portal 0 (opt.host) or t->more[portal - 1] */

    /* Receiving. */
    enum iscsi_rx_state rx;
    uint8_t hdr[ISCSI_BHS_LEN + ISCSI_AHS_MAX + ISCSI_DIGEST_LEN];
    uint32_t hdr_have, ahs_len;
    uint32_t dlen, dpad, dhave;     /* data segment length, its padding, bytes seen */
    enum iscsi_rx_dst dst;
    uint8_t *dst_ptr;
    uint32_t dcrc;
    uint8_t ddig[ISCSI_DIGEST_LEN];
    uint32_t ddig_have;
    struct iscsi_task *rx_task;     /* task the current data segment belongs to */
    uint8_t *staging;
    uint8_t *ctl;                   /* control PDU data segment */
    uint32_t ctl_cap;
    uint32_t max_rx_dsl;            /* data segment limit now */
    bool reading, read_paused;

    /* Negotiated for this connection. */
    bool hdigest, ddigest;
    uint32_t peer_mrdsl;            /* the initiator's MaxRecvDataSegmentLength */
    uint16_t cid;
    uint32_t statsn;

    struct iscsi_login *login;
    struct iscsi_session *sess;
    uint64_t login_started_ms;
    uint64_t pdu_started_ms;        /* a PDU is part-way in since then; 0 = between PDUs */

    /* Text negotiation and long answers across PDUs. */
    struct tbuf text_in;            /* a Text request gathered over C-bit PDUs */
    uint8_t *text_out;
    uint32_t text_out_len, text_out_sent, text_ttt, text_itt;

    /* Tasks. */
    struct iscsi_task *tasks;
    unsigned n_tasks;
    struct iscsi_task *task_free;
    struct iscsi_task *itt_hash[ISCSI_ITT_BUCKETS];
    unsigned live_tasks;            /* not FREE */
    uint64_t buf_bytes;             /* task buffers allocated */

    /* Sending. */
    struct iscsi_tx *txq_head, *txq_tail;
    unsigned txq_count;
    uint64_t tx_owned_bytes;        /* copied data (echoes, text) not yet sent */
    struct iscsi_tx *inflight;      /* given to uv_write */
    bool writing;
    uv_write_t wreq;
    uv_buf_t iov[ISCSI_TX_IOV_MAX];
    struct iscsi_tx *tx_free;
    unsigned tx_free_count;
    bool close_when_sent;           /* draining: nothing more is read */
    bool direct_read;               /* the last read buffer was a task buffer */

    /* Liveness. */
    uint64_t last_rx_ms;
    bool ping_out;
    uint32_t ping_ttt;
    uint64_t ping_sent_ms;
    uint32_t next_ping_ttt;
};

/* From the listener: accept one connection (loop 0), onto the next loop. */
void iscsi_conn_accept(struct iscsi_target *t, unsigned portal);
/* On its own loop: opens a connection accepted on loop 0 (adopt_fd). */
void iscsi_conn_adopt(struct iscsi_conn *c);
/* Ends the connection now (queued PDUs are dropped).  why is logged. */
void iscsi_conn_close(struct iscsi_conn *c, const char *why);
/* Stops reading; ends the connection once everything queued is sent. */
void iscsi_conn_close_after_send(struct iscsi_conn *c);
/* A protocol error: count it, log it, end the connection after sending. */
void iscsi_conn_protocol_error(struct iscsi_conn *c, const char *what);
/* Frees a closed connection once nothing refers to it any more. */
void iscsi_conn_maybe_free(struct iscsi_conn *c);
/* Whether the connection still reads and answers PDUs. */
static inline bool iscsi_conn_alive(const struct iscsi_conn *c)
{
    return (c->state == ISCSI_CONN_LOGIN || c->state == ISCSI_CONN_FULL_FEATURE) && !c->close_when_sent &&
           !c->close_posted;
}

struct iscsi_tx *iscsi_tx_get(struct iscsi_conn *c);
void iscsi_tx_put(struct iscsi_conn *c, struct iscsi_tx *tx);
/* Seals (dlength, digests, padding) and queues a PDU; the connection is
 * flushed at the end of the current callback. */
void iscsi_tx_queue(struct iscsi_conn *c, struct iscsi_tx *tx);
/* Queues a PDU whose data segment is a heap copy of data. */
int  iscsi_tx_queue_copy(struct iscsi_conn *c, struct iscsi_tx *tx, const void *data, uint32_t len);
void iscsi_conn_flush(struct iscsi_conn *c);
/* The next StatSN; advance says the PDU consumes it. */
uint32_t iscsi_conn_statsn(struct iscsi_conn *c, bool advance);
/* Fills StatSN (advancing), ExpCmdSN and MaxCmdSN at offsets 24/28/32. */
void iscsi_conn_stamp(struct iscsi_conn *c, uint8_t *bhs, bool advance_statsn);

/* Receive-side dispatch, implemented by login / ffp: *_header runs when the
 * header is in (it chooses where the data segment goes), *_pdu when the data
 * segment and its digest are in.  A negative return ends the connection. */
int iscsi_login_header(struct iscsi_conn *c);
int iscsi_login_pdu(struct iscsi_conn *c);
void iscsi_login_free(struct iscsi_conn *c);
int iscsi_ffp_header(struct iscsi_conn *c);
int iscsi_ffp_pdu(struct iscsi_conn *c);
/* A full-feature PDU whose data digest was wrong (the PDU is dropped). */
void iscsi_ffp_data_digest_error(struct iscsi_conn *c);

/* Helpers for handlers: the header is in c->hdr; a data segment sent to
 * the control buffer is in c->ctl once *_pdu runs. */
/* Data segment goes to the control buffer (allocated to dlen). */
int  iscsi_rx_to_ctl(struct iscsi_conn *c);
void iscsi_rx_to_task(struct iscsi_conn *c, struct iscsi_task *t, uint32_t offset);

/* PDUs sent by several modules. */
void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bad_bhs);
/* A SCSI Response for a command that never became a task (refused early). */
void iscsi_send_scsi_status(struct iscsi_conn *c, uint32_t itt, uint32_t edtl, uint8_t status,
                            const struct scsi_sense_reason *r);
void iscsi_send_nop_ping(struct iscsi_conn *c);

/* SCSI (iscsi_scsi.c), TMF (iscsi_tmf.c), Text (iscsi_text.c). */
int  iscsi_scsi_cmd_header(struct iscsi_conn *c);
int  iscsi_scsi_cmd_pdu(struct iscsi_conn *c);
int  iscsi_data_out_header(struct iscsi_conn *c);
int  iscsi_data_out_pdu(struct iscsi_conn *c);
void iscsi_scsi_complete(struct iscsi_task *t);
/* Ends a command still collecting data with CHECK CONDITION (ABORTED COMMAND
 * and the given ASC/ASCQ) without running it. */
void iscsi_scsi_fail(struct iscsi_task *t, uint16_t asc_ascq);
int  iscsi_tmf_pdu(struct iscsi_conn *c);
void iscsi_tmf_complete(struct iscsi_task *t);
int  iscsi_text_pdu(struct iscsi_conn *c);

/* Case-insensitive comparison of iSCSI names (names are case-folded). */
bool iscsi_name_eq(const char *a, const char *b);

#endif
