/* conformance/remote/remote_priv.h — the remote replay's state, shared by
 * remote*.c: the walk (remote.c) and one backend per kind of target
 * (remote_iscsi.c, remote_sg.c) behind struct remote_ops.  Everything runs
 * on the replay's thread: the iSCSI backend services its sockets while the
 * walk waits; the SG backend completes each command as it is submitted.
 *
 * Only the trace format below: libiscsi's headers declare the SCSI
 * vocabulary (enum scsi_status, ...) under the same names as scsi/scsi.h, so
 * remote_iscsi.c must not see the project's scsi/ headers. */
#ifndef CONFORMANCE_REMOTE_PRIV_H
#define CONFORMANCE_REMOTE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/format/trace.h"

#define REMOTE_NOTE_MAX  256u
#define REMOTE_SENSE_MAX 252u   /* = SCSI_SENSE_MAX (scsi/sense.h) */

/* What happened to one task of the trace (trace->tasks[i]). */
struct remote_task {
    size_t   index;
    bool     submitted, done;
    uint64_t submit_ns, done_ns;
    unsigned status;               /* SCSI status, or TRACE_STATUS_SERVICE_FAILURE */
    uint8_t  sense[REMOTE_SENSE_MAX];
    size_t   sense_len;
    uint8_t *din;                  /* data-in received (malloc) */
    size_t   din_len;
    uint8_t *dout;                 /* data-out sent (malloc; libiscsi reads it until completion) */
    uint32_t len;                  /* the CDB's transfer length (len=) */
    bool     resid_valid;
    uint32_t resid;
    uint64_t xfer;
    enum trace_tmf_resp tmf;
    char     note[REMOTE_NOTE_MAX];
    void    *io;                   /* the backend's handle of the command (libiscsi's scsi_task) */
};

/* One command as the backend sends it. */
struct remote_cmd {
    uint32_t initiator;            /* the trace's host number: one session each */
    uint64_t lun;                  /* the target's LUN (the URL's) */
    const uint8_t *cdb;
    size_t   cdb_len;
    enum trace_data_dir dir;
    uint32_t len;
};

struct remote;

struct remote_ops {
    const char *kind;              /* "iSCSI (libiscsi)", "SCSI generic (sg_pt)" */
    const char *const *features;   /* the @requires features offered, NULL-terminated */
    int  (*open)(struct remote *r, char *err, size_t len);
    void (*close)(struct remote *r);
    /* Sends k (k->dout holds the data-out); what goes wrong is k's note, and
     * k stays not submitted. */
    void (*submit)(struct remote *r, struct remote_task *k, const struct remote_cmd *c);
    /* Sends a task management function; ref is the task abort-task names
     * (NULL otherwise). */
    void (*tmf)(struct remote *r, struct remote_task *k, uint32_t initiator, uint64_t lun, enum trace_tmf_fn fn,
                struct remote_task *ref);
    /* Works until k is done or the clock passes deadline_ns. */
    void (*wait)(struct remote *r, struct remote_task *k, uint64_t deadline_ns);
};

struct remote {
    const struct trace *t;
    const char *target;            /* the --target URL, as given */
    uint64_t command_timeout_ns;   /* a command with no within / @timeout */
    const struct remote_ops *ops;
    void    *be;                   /* the backend's state */
    uint64_t lun;                  /* the URL's LUN */
    bool     probe;                /* remote_preflight: open logs in once and out (iSCSI) */
    struct remote_task *tasks;     /* t->n_tasks */
    char     engine_note[REMOTE_NOTE_MAX];
};

extern const struct remote_ops remote_iscsi_ops;
extern const struct remote_ops remote_sg_ops;

/* The backend for a URL, or NULL (remote_target_check says why). */
const struct remote_ops *remote_ops_for(const char *url);
/* The monotonic clock, ns. */
uint64_t remote_now_ns(void);

#endif
