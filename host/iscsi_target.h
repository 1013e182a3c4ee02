/* host/iscsi_target.h — the iSCSI target front-end (RFC 7143) on libuv.
 *
 * One struct iscsi_target listens on HOST:PORT (127.0.0.1:3260 by default;
 * never all addresses unless asked) and serves any number of target NODES,
 * each an iSCSI name with a LUN map onto scsi_backends (host/scsi_backend.h),
 * an access list of initiator names, and optional CHAP (one-way or mutual).
 * Discovery sessions answer SendTargets=All with the nodes an initiator may
 * see.  Sessions have one connection (MaxConnections=1) and ErrorRecoveryLevel
 * 0: any transport error ends the connection and its session, and only that
 * one.
 *
 * Threading: the listeners, the close sequence and (with opt.loops 1, the
 * default) everything else run on the libuv loop given at creation; the
 * configuration calls are made before iscsi_target_listen (or from the loop
 * thread).  With opt.loops n > 1 the target starts n - 1 threads of its own
 * at listen, each with a loop, and iscsi_target_close joins them; backends
 * are then called from those threads too, one call at a time (the target
 * lock).  Backends may complete tasks on any thread.  Statistics may be read
 * from any thread.  The process must ignore SIGPIPE: libuv writes with
 * write(2), and an initiator that hangs up would otherwise kill it.
 */
#ifndef HOST_ISCSI_TARGET_H
#define HOST_ISCSI_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Only a pointer is needed here, so SCSI vocabulary headers stay out (they
 * clash with libiscsi's, which tests and tools include next to this one). */
struct scsi_backend;

#define ISCSI_NAME_MAX   223 /* RFC 7143 4.2.7.1 */
#define ISCSI_SECRET_MAX 255
#define ISCSI_TARGET_PORTALS_MAX 4 /* opt.host:opt.port and up to 3 more (multipath) */
#define ISCSI_TARGET_LOOPS_MAX 16  /* event loops: the caller's and up to 15 threads */

enum iscsi_digest_policy {
    ISCSI_DIGEST_POLICY_ANY = 0,     /* CRC32C or None, as the initiator prefers */
    ISCSI_DIGEST_POLICY_NONE = 1,    /* never digests */
    ISCSI_DIGEST_POLICY_CRC32C = 2,  /* digests required */
};

enum iscsi_target_log_level { ISCSI_TLOG_ERROR = 0, ISCSI_TLOG_WARN = 1, ISCSI_TLOG_INFO = 2, ISCSI_TLOG_DEBUG = 3 };
typedef void (*iscsi_target_log_fn)(void *arg, enum iscsi_target_log_level level, const char *msg);

struct iscsi_target_options {
    const char *host;             /* listen address; default "127.0.0.1" */
    uint16_t port;                /* default 3260; 0 = any free port */
    uint16_t portal_group_tag;    /* default 1 */
    /* Target's side of the negotiation. */
    uint32_t max_recv_dsl;        /* MaxRecvDataSegmentLength we accept: 262144 */
    uint32_t first_burst;         /* FirstBurstLength: 262144 */
    uint32_t max_burst;           /* MaxBurstLength: 1048576 */
    bool     initial_r2t;         /* InitialR2T: false (No) */
    bool     immediate_data;      /* ImmediateData: true (Yes) */
    enum iscsi_digest_policy header_digest, data_digest;
    uint16_t default_time2wait;   /* 2 */
    uint16_t default_time2retain; /* 20 */
    /* Resources. */
    unsigned queue_depth;         /* commands in the CmdSN window per session: 128 */
    uint32_t max_io_bytes;        /* largest Expected Data Transfer Length: 16 MiB */
    uint64_t conn_buffer_bytes;   /* data buffers one connection may hold: 64 MiB */
    unsigned max_connections;     /* open connections, all kinds: 4160 */
    unsigned max_sessions_per_initiator; /* normal sessions one initiator name may hold at
                                            once (0: no limit): 16 */
    /* Timers (0 disables). */
    uint32_t nop_interval_ms;     /* ping a connection idle this long: 15000 */
    uint32_t nop_timeout_ms;      /* close when a ping is not answered: 30000 */
    uint32_t login_timeout_ms;    /* close a login that takes longer: 15000 */
    uint32_t pdu_timeout_ms;      /* close a connection whose PDU, once begun, takes
                                     longer to arrive (a slow or stalled peer): 30000 */
    /* Event loops: 1 (the default) runs everything on the loop given at
     * creation; n > 1 adds n - 1 loops on threads of their own and spreads
     * connections over all n, round robin (at most ISCSI_TARGET_LOOPS_MAX). */
    unsigned loops;
    iscsi_target_log_fn log;             /* NULL: quiet */
    void *log_arg;
    enum iscsi_target_log_level log_level;
};

struct iscsi_target_stats {
    uint64_t connections_accepted;
    uint64_t connections_open;
    uint64_t connections_refused;  /* over max_connections */
    uint64_t logins_ok;
    uint64_t logins_failed;
    uint64_t sessions_open;
    uint64_t sessions_reinstated;
    uint64_t logins_out_of_resources; /* refused: per-initiator limit or no I_T nexus id left */
    uint64_t commands;             /* SCSI commands executed */
    uint64_t rejects;              /* Reject PDUs sent */
    uint64_t protocol_errors;      /* connections closed for a protocol error */
    uint64_t digest_errors;
    uint64_t commands_dropped;     /* CmdSN outside the window */
    uint64_t nop_pings;            /* NOP-In pings sent */
    uint64_t nop_timeouts;
    uint64_t pdu_timeouts;         /* connections closed: a PDU took longer than pdu_timeout_ms */
    uint64_t tmfs;
    uint64_t tx_writes;            /* writev calls that sent PDUs (one per connection per loop turn) */
    uint64_t tx_pdus;              /* PDUs they carried */
};

struct iscsi_target;
struct iscsi_node;

void iscsi_target_options_init(struct iscsi_target_options *o);

/* Creates a target on loop (nothing listens yet).  0, -EINVAL, -ENOMEM. */
int  iscsi_target_create(uv_loop_t *loop, const struct iscsi_target_options *opt, struct iscsi_target **out);
/* Adds a node named iqn (an iqn./eui./naa. name, at most 223 bytes). */
int  iscsi_target_add_node(struct iscsi_target *t, const char *iqn, const char *alias, struct iscsi_node **out);
/* Maps the node's LUN lun to be's be_lun. */
int  iscsi_node_add_lun(struct iscsi_node *n, uint64_t lun, struct scsi_backend *be, uint64_t be_lun);
/* Makes the node one whole SCSI target device: every LUN, REPORT LUNS and
 * every TMF go to be with LUN numbers unchanged (host/scsi_lunmap.h); the
 * front-end answers nothing itself.  Instead of iscsi_node_add_lun. */
int  iscsi_node_set_device(struct iscsi_node *n, struct scsi_backend *be);
/* Allows an initiator name; a node with an empty list admits everyone. */
int  iscsi_node_allow_initiator(struct iscsi_node *n, const char *initiator);
/* Requires CHAP: the initiator proves it knows user/secret. */
int  iscsi_node_set_chap(struct iscsi_node *n, const char *user, const char *secret);
/* Lets the target prove itself (mutual CHAP) as user/secret when asked. */
int  iscsi_node_set_mutual_chap(struct iscsi_node *n, const char *user, const char *secret);
/* The same for discovery sessions (SendTargets): without it discovery needs
 * no authentication. */
int  iscsi_target_set_discovery_chap(struct iscsi_target *t, const char *user, const char *secret);
int  iscsi_target_set_discovery_mutual_chap(struct iscsi_target *t, const char *user, const char *secret);

/* Another portal (multipath), before iscsi_target_listen: portal p (1, 2, ...)
 * listens on host:port (0: any free port) with TargetPortalGroupTag
 * opt.portal_group_tag + p, and is a target port of its own: the commands of
 * its sessions reach the backend with target_port p (opt.host:opt.port is
 * port 0), and an initiator logged in through two portals holds two I_T
 * nexuses.  SendTargets lists every portal.  0, -EINVAL (bad host, too many:
 * ISCSI_TARGET_PORTALS_MAX in all), -EBUSY (already listening). */
int  iscsi_target_add_portal(struct iscsi_target *t, const char *host, uint16_t port);
/* Binds and listens on opt.host:opt.port and every added portal.  0 or a
 * negative libuv error. */
int  iscsi_target_listen(struct iscsi_target *t);
/* The bound port (useful with port 0), or -1 before listen. */
int  iscsi_target_port(const struct iscsi_target *t);
/* The same for portal p (0: opt.host's); -1 for no such portal. */
int  iscsi_target_portal_port(const struct iscsi_target *t, unsigned p);
/* Stops listening, ends every connection, waits for backends to finish the
 * tasks in flight, then calls closed(arg) on the loop.  Loop thread only. */
void iscsi_target_close(struct iscsi_target *t, void (*closed)(void *arg), void *arg);
/* Frees a target that was never listened on, or whose close has finished. */
void iscsi_target_destroy(struct iscsi_target *t);

/* A snapshot of the counters; any thread. */
void iscsi_target_get_stats(struct iscsi_target *t, struct iscsi_target_stats *out);
/* The number of event loops, and the connections open on loop i now (0 for
 * no such loop); any thread. */
unsigned iscsi_target_loops(const struct iscsi_target *t);
unsigned iscsi_target_loop_connections(struct iscsi_target *t, unsigned i);

#endif
