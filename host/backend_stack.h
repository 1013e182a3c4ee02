/* host/backend_stack.h — the scsi_backend that runs every command through the
 * whole storage stack: front-end -> HOST (this) -> DRIVER CORE -> CONTROLLER.
 * What `scsisim serve` exports to real iSCSI initiators.
 *
 * One backend_stack serves one stack (stack/stack.h); each controller target
 * it exports is one SCSI target device, a scsi_backend of its own
 * (backend_stack_target) meant for a device-mode LUN map
 * (scsi_lunmap_set_device / iscsi_node_set_device).  NOTHING is answered
 * here: REPORT LUNS, INQUIRY of a missing LUN, unknown opcodes, commands to
 * LUNs nobody configured — all go to the controller and its firmware answers
 * them.  The only translation: a LUN the controller cannot even select
 * (HBA_CS_INVALID_TARGET: beyond its LUN range, or a multi-level LUN the HBA
 * cannot address) completes CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT
 * NOT SUPPORTED (05h/25h/00h), which is what SAM has a target say for it.
 *
 * Nexus.  The controller knows initiators by I_T nexus ids 0..4095
 * (HBA_MAX_INITIATORS in hw/hba.h); 63 is left to host-side probes, as the
 * replay engine uses it, and the other 4095 serve front-end nexuses.  Each
 * front-end nexus number gets an id on its first command and keeps it while
 * it lives; after its nexus loss the id stays reserved for it (a session that
 * comes back meets its 29h/07h) until the id is needed for a new nexus, least
 * recently used first.  A 4096th nexus with commands in flight at once gets
 * -EBUSY (the iSCSI front-end refuses such a login before it comes to that).
 *
 * Data.  The core DMAs only buffers of the stack's OS layer.  A front-end may
 * borrow them (scsi_backend_buf_get: zero copy, the iSCSI target does); any
 * other task's data goes through a pooled DMA buffer (copied in before a
 * write, out after a read).  Buffers are kept in power-of-two size classes and
 * reused, so the hot path allocates nothing but what the core allocates.
 *
 * Residuals.  The HBA reports the bytes moved; SAM residuals need what the CDB
 * asked for.  For READ and WRITE (6/10/12/16) that is blocks x the LUN's
 * block size, which the backend reads once per LUN at creation (REPORT LUNS +
 * READ CAPACITY(16) on nexus 63); for other commands the bytes moved.  A WRITE
 * that brings less data than its CDB asks for goes down cut to the whole
 * blocks that came (the transport's overflow rule; see trim_write).
 *
 * Task management goes to drv_core_task_mgmt: ABORT TASK, ABORT TASK SET,
 * CLEAR TASK SET, LUN RESET as themselves; TARGET WARM RESET as a target
 * reset; TARGET COLD RESET as a controller reset (the other targets' commands
 * are re-issued by the core); CLEAR ACA is not supported (the controller has
 * no ACA).  Nexus loss: the nexus's tasks are aborted and HBA_ADM_NEXUS_LOSS
 * sent.  Tasks a function ends complete with result.aborted set before the
 * function's done.
 *
 * Threading: submit, task management and nexus loss from any thread;
 * completions run on the stack's dispatch queue.  backend_stack_destroy waits
 * for the functions under way; the front-end must have finished its tasks. */
#ifndef HOST_BACKEND_STACK_H
#define HOST_BACKEND_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "hw/hba.h"
#include "stack/stack.h"
#include "host/scsi_backend.h"

#define BACKEND_STACK_PROBE_INITIATOR 63u  /* nexus id of the creation probe */
#define BACKEND_STACK_INITIATORS      (HBA_MAX_INITIATORS - 1u) /* ids for front-end nexuses */

struct backend_stack;

struct backend_stack_options {
    uint32_t timeout_ms;          /* per command; 0: the core's default */
    uint64_t pool_bytes;          /* idle DMA buffers kept for reuse; 0: 64 MiB */
};

/* What the observer is told of. */
enum backend_stack_event_kind {
    BACKEND_STACK_COMMAND = 0,    /* a command completed (the fields below) */
    BACKEND_STACK_TMF = 1,        /* a task management function ended: tmf_fn, tmf_response,
                                     nexus, initiator (0xffff: none yet), target, lun, tag = ref_tag */
    BACKEND_STACK_NEXUS_LOSS = 2, /* the controller took a nexus loss: nexus, initiator, target */
    BACKEND_STACK_SUBMIT = 3,     /* a command is about to go down (its BACKEND_STACK_COMMAND, or
                                     BACKEND_STACK_REFUSED, follows): the fields below but result,
                                     data_in and done_ns; on the submitting thread */
    BACKEND_STACK_REFUSED = 4,    /* the stack refused a command after its BACKEND_STACK_SUBMIT (the
                                     front-end answers BUSY): its identity fields only */
    BACKEND_STACK_TMF_SUBMIT = 5, /* a task management function is about to act (its BACKEND_STACK_TMF
                                     follows, and so do the completions of the tasks it ends): tmf_fn,
                                     nexus, initiator, target, lun, tag = ref_tag; on the calling thread */
};

/* One command as it went down and came back (or a TMF or nexus loss), for
 * recorders. */
struct backend_stack_event {
    enum backend_stack_event_kind kind;
    enum scsi_tmf_function tmf_fn;
    enum scsi_tmf_response tmf_response;
    uint64_t nexus, tag;                /* the front-end's */
    uint16_t initiator, target, lun;    /* the HBA's nexus */
    const uint8_t *cdb;                 /* as sent down */
    uint8_t  cdb_len;
    enum scsi_data_dir dir;
    uint8_t  attr;                      /* enum scsi_task_attr, as the front-end received it */
    uint64_t expected_len;              /* the front-end's (iSCSI EDTL) */
    uint64_t down_len;                  /* bytes the HBA was asked to move */
    const uint8_t *data_out;            /* dir WRITE: data_out_len (= down_len) bytes sent down */
    uint64_t data_out_len;
    const uint8_t *data_in;             /* dir READ: result->data_len bytes that came back */
    const struct scsi_backend_result *result;
    uint64_t submit_ns, done_ns;        /* CLOCK_MONOTONIC */
    const void *tmf_key;                /* TMF_SUBMIT and TMF: the same for one function */
};
/* Runs on the dispatch queue before the front-end learns of the completion
 * (or of the TMF's answer); BACKEND_STACK_SUBMIT and _REFUSED run on the
 * thread that submits, so a recorder sees each command where the target
 * received it and each completion where it completed. */
typedef void (*backend_stack_observer)(void *arg, const struct backend_stack_event *ev);

struct backend_stack_stats {
    uint64_t commands, completed;
    uint64_t zero_copy;                 /* tasks whose data was a lent buffer */
    uint64_t copied;                    /* tasks whose data went through a pool buffer */
    uint64_t aborted;                   /* tasks ended by task management or nexus loss */
    uint64_t tmfs, nexus_losses;
    uint64_t busy;                      /* refused: no nexus id, buffer or task memory */
    uint64_t nexus_refused;             /* nexuses refused at their start: every id held */
    unsigned nexuses;                   /* nexus ids held now (live or kept after a loss) */
    unsigned tmfs_pending;              /* task management and nexus losses not finished yet */
};

/* st must outlive the backend.  o NULL: defaults.  0, or -errno with err. */
int  backend_stack_create(struct stack *st, const struct backend_stack_options *o, struct backend_stack **out,
                          char *err, size_t errlen);
void backend_stack_destroy(struct backend_stack *b);
/* Controller target `target` as a SCSI target device (created and probed on
 * first call, from outside the dispatch queue; owned by b).  NULL on ENOMEM. */
struct scsi_backend *backend_stack_target(struct backend_stack *b, uint16_t target);
/* The observer (NULL to remove); set it before commands flow. */
void backend_stack_set_observer(struct backend_stack *b, backend_stack_observer fn, void *arg);
void backend_stack_get_stats(struct backend_stack *b, struct backend_stack_stats *out);
/* The HBA nexus id the front-end nexus has now, or -1. */
int  backend_stack_initiator_of(struct backend_stack *b, uint64_t nexus);

#endif
