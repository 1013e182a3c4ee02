/* conformance/remote/remote_sg.c — the SCSI generic backend of `run
 * --target /dev/sgN` (or /dev/bsg/...): libsgutils2's sg_pt pass-through.
 * The kernel's pass-through is synchronous here (do_scsi_pt returns with the
 * command's outcome), so each command completes as it is submitted: the
 * trace's concurrency is not reproduced, and a trace that needs a command
 * held while others run cannot show it (its STATUS still judges).  One
 * initiator (this host), no TMFs: traces with several host numbers or TMF
 * records are skipped (remote.c). */
#include "conformance/remote/remote_priv.h"

#include <errno.h>
#include <scsi/sg_pt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"

struct be {
    int fd;
};

static int be_open(struct remote *r, char *err, size_t len)
{
    int fd = scsi_pt_open_device(r->target, false, 0);
    if (fd < 0) {
        snprintf(err, len, "cannot open the device: %s; a SCSI generic device needs read and write access (root, "
                 "or the disk group)", strerror(-fd));
        return fd;
    }
    struct be *b = malloc(sizeof *b);
    if (!b) {
        scsi_pt_close_device(fd);
        return -ENOMEM;
    }
    b->fd = fd;
    r->be = b;
    r->lun = 0; /* the device node is the logical unit */
    if (r->probe) {
        /* An INQUIRY (which neither reports nor clears a unit attention)
         * tells a pass-through device from any other character device. */
        struct sg_pt_base *pt = construct_scsi_pt_obj();
        uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 }, in[36], sense[32];
        int rc = -ENOMEM;
        if (pt) {
            set_scsi_pt_cdb(pt, cdb, sizeof cdb);
            set_scsi_pt_sense(pt, sense, sizeof sense);
            set_scsi_pt_data_in(pt, in, sizeof in);
            rc = do_scsi_pt(pt, fd, 10, 0);
            if (rc == 0 && get_scsi_pt_result_category(pt) == SCSI_PT_RESULT_OS_ERR)
                rc = -get_scsi_pt_os_err(pt);
            destruct_scsi_pt_obj(pt);
        }
        scsi_pt_close_device(fd);
        free(b);
        r->be = NULL;
        if (rc < 0 || rc > 0) {
            snprintf(err, len, "an INQUIRY through the SCSI pass-through failed (%s); is it a SCSI generic device "
                     "(/dev/sgN, /dev/bsg/H:C:T:L)?", strerror(rc < 0 ? -rc : rc));
            return rc < 0 ? rc : -rc;
        }
    }
    return 0;
}

static void be_close(struct remote *r)
{
    struct be *b = r->be;
    if (!b)
        return;
    scsi_pt_close_device(b->fd);
    free(b);
    r->be = NULL;
}

static void be_submit(struct remote *r, struct remote_task *k, const struct remote_cmd *c)
{
    struct be *b = r->be;
    struct sg_pt_base *pt = construct_scsi_pt_obj();
    if (!pt) {
        snprintf(k->note, sizeof k->note, "out of memory for the pass-through object");
        return;
    }
    uint8_t *in = NULL;
    if (c->dir == TRACE_DATA_IN && c->len && !(in = calloc(c->len, 1))) {
        destruct_scsi_pt_obj(pt);
        snprintf(k->note, sizeof k->note, "out of memory for %u bytes of data-in", c->len);
        return;
    }
    set_scsi_pt_cdb(pt, c->cdb, (int)c->cdb_len);
    set_scsi_pt_sense(pt, k->sense, (int)sizeof k->sense);
    if (in)
        set_scsi_pt_data_in(pt, in, (int)c->len);
    else if (c->dir == TRACE_DATA_OUT && c->len)
        set_scsi_pt_data_out(pt, k->dout, (int)c->len);
    k->submit_ns = remote_now_ns();
    k->submitted = true;
    int timeout_s = (int)(r->command_timeout_ns / 1000000000u);
    int rc = do_scsi_pt(pt, b->fd, timeout_s > 0 ? timeout_s : 10, 0);
    k->done = true;
    k->done_ns = remote_now_ns();
    int cat = rc < 0 ? SCSI_PT_RESULT_OS_ERR : get_scsi_pt_result_category(pt);
    if (cat == SCSI_PT_RESULT_OS_ERR || cat == SCSI_PT_RESULT_TRANSPORT_ERR) {
        char why[160] = "";
        if (cat == SCSI_PT_RESULT_TRANSPORT_ERR)
            get_scsi_pt_transport_err_str(pt, sizeof why, why);
        else
            snprintf(why, sizeof why, "%s", strerror(rc < 0 ? -rc : get_scsi_pt_os_err(pt)));
        snprintf(k->note, sizeof k->note, "pass-through failed: %s", why);
        k->status = TRACE_STATUS_SERVICE_FAILURE;
    } else {
        k->status = (unsigned)get_scsi_pt_status_response(pt);
        int sl = get_scsi_pt_sense_len(pt);
        k->sense_len = sl > 0 && k->status == SCSI_STATUS_CHECK_CONDITION ? (size_t)sl : 0;
        int resid = get_scsi_pt_resid(pt);
        k->resid_valid = true;
        k->resid = resid > 0 && (uint32_t)resid <= c->len ? (uint32_t)resid : 0;
        k->xfer = c->len - k->resid;
        if (in && k->status != SCSI_STATUS_CHECK_CONDITION) {
            k->din = in;
            k->din_len = c->len - k->resid;
            in = NULL;
        }
    }
    free(in);
    destruct_scsi_pt_obj(pt);
}

static void be_wait(struct remote *r, struct remote_task *k, uint64_t deadline_ns)
{
    (void)r, (void)k, (void)deadline_ns; /* every command completed in submit */
}

static const char *const features[] = { NULL };

const struct remote_ops remote_sg_ops = {
    .kind = "SCSI generic (sg_pt)",
    .features = features,
    .open = be_open,
    .close = be_close,
    .submit = be_submit,
    .wait = be_wait,
};
