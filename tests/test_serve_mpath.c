/* tests/test_serve_mpath.c — `scsisim serve` with two portals (multipath),
 * driven by libiscsi sessions in this process: one URL per portal; through
 * each, VPD 83h names the same logical unit (NAA) and the relative target
 * port and target port group of that portal, and REPORT TARGET PORT GROUPS
 * lists both groups active/optimized; data written through one path reads
 * back through the other; SendTargets through the first portal names the
 * second with its tag; and the option errors (too many portals, a bad second
 * address).  That each path is an I_T nexus of its own (a LUN reset through
 * one is a unit attention on both) is libiscsi's MultipathIO.Reset, run by
 * tests/test_serve_cu.c. */
#include "tests/support/testutil.h"

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

#define MP_INITIATOR "iqn.2025-01.org.example:mpath"

struct path {
    char portal[64];
    struct iscsi_context *ctx;
};

/* "iscsi://HOST:PORT/IQN/0" -> "HOST:PORT". */
static void portal_of(const char *url, char *out, size_t cap)
{
    const char *hp = url + strlen("iscsi://");
    const char *slash = strchr(hp, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(out, cap, "%.*s", (int)(slash - hp), hp);
}

static void path_login(struct path *p, const char *iqn, int isid)
{
    p->ctx = iscsi_create_context(MP_INITIATOR);
    ck_assert_ptr_nonnull(p->ctx);
    iscsi_set_isid_random(p->ctx, isid, 0);
    iscsi_set_targetname(p->ctx, iqn);
    iscsi_set_session_type(p->ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_timeout(p->ctx, 10);
    ck_assert_int_eq(iscsi_full_connect_sync(p->ctx, p->portal, 0), 0);
}

static void path_logout(struct path *p)
{
    iscsi_logout_sync(p->ctx);
    iscsi_destroy_context(p->ctx);
}

/* A data-in command; returns the task (GOOD asserted). */
static struct scsi_task *data_in(struct iscsi_context *ctx, const uint8_t *cdb, int len, int alloc)
{
    struct scsi_task *t = scsi_create_task(len, (unsigned char *)cdb, SCSI_XFER_READ, alloc);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(iscsi_scsi_command_sync(ctx, 0, t, NULL));
    ck_assert_msg(t->status == SCSI_STATUS_GOOD, "status %d: %s", t->status, iscsi_get_error(ctx));
    return t;
}

/* The value of the target-port designator `type` in VPD 83h data; -1 if absent.
 * *naa gets the 16 bytes of the LU's NAA designator. */
static int port_designator(const uint8_t *p, int n, int type, uint8_t naa[16])
{
    int found = -1;
    for (int at = 4; at + 4 <= n && at + 4 + p[at + 3] <= n; at += 4 + p[at + 3]) {
        int assoc = (p[at + 1] >> 4) & 3, t = p[at + 1] & 0x0f;
        if (assoc == 1 && t == type)
            found = p[at + 6] << 8 | p[at + 7];
        if (assoc == 0 && t == 3 && p[at + 3] == 16)
            memcpy(naa, p + at + 4, 16);
    }
    return found;
}

START_TEST(two_portals_one_lu_two_ports)
{
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--listen", "127.0.0.1:0", "--drive", "0:0,capacity=8M", NULL });
    char url2[512];
    serve_next_url(&srv, url2, sizeof url2);
    struct path p[2];
    snprintf(p[0].portal, sizeof p[0].portal, "%s", srv.portal);
    portal_of(url2, p[1].portal, sizeof p[1].portal);
    ck_assert_str_ne(p[0].portal, p[1].portal);
    for (int i = 0; i < 2; i++)
        path_login(&p[i], srv.iqn, 0x1000 + i);

    uint8_t naa[2][16];
    memset(naa, 0, sizeof naa);
    for (int i = 0; i < 2; i++) {
        uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
        struct scsi_task *t = data_in(p[i].ctx, inq, 6, 96);
        ck_assert_int_eq(t->datain.data[5] & 0x30, 0x10);     /* TPGS 01b */
        scsi_free_scsi_task(t);
        uint8_t vpd[6] = { 0x12, 1, 0x83, 0, 255, 0 };
        t = data_in(p[i].ctx, vpd, 6, 255);
        ck_assert_int_eq(port_designator(t->datain.data, t->datain.size, 4, naa[i]), i + 1);
        ck_assert_int_eq(port_designator(t->datain.data, t->datain.size, 5, naa[i]), i + 1);
        scsi_free_scsi_task(t);
        uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0 };
        t = data_in(p[i].ctx, rtpg, 12, 64);
        ck_assert_int_eq(t->datain.size, 28);
        ck_assert_int_eq(t->datain.data[4 + 3], 1);           /* group 1 ... */
        ck_assert_int_eq(t->datain.data[16 + 3], 2);          /* ... and group 2 */
        ck_assert_int_eq(t->datain.data[4] & 0x0f, 0);        /* active/optimized */
        ck_assert_int_eq(t->datain.data[16] & 0x0f, 0);
        scsi_free_scsi_task(t);
    }
    ck_assert_mem_eq(naa[0], naa[1], 16);                     /* one logical unit */
    uint8_t zero[16] = { 0 };
    ck_assert_mem_ne(naa[0], zero, 16);

    /* Written through path 1, read through path 2. */
    uint8_t buf[512];
    memset(buf, 0xc3, sizeof buf);
    struct scsi_task *w = iscsi_write10_sync(p[0].ctx, 0, 9, buf, sizeof buf, 512, 0, 0, 1, 0, 0);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(w->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(w);
    struct scsi_task *r = iscsi_read10_sync(p[1].ctx, 0, 9, 512, 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->status, SCSI_STATUS_GOOD);
    ck_assert_mem_eq(r->datain.data, buf, 512);
    scsi_free_scsi_task(r);

    for (int i = 0; i < 2; i++)
        path_logout(&p[i]);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

/* SendTargets through portal 1 names portal 2 as well, with its tag. */
START_TEST(send_targets_lists_both_portals)
{
    if (!proc_tool_present("serve_mpath", "iscsi-ls", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--listen", "127.0.0.1:0", NULL });
    char url2[512], portal2[64], want[96];
    serve_next_url(&srv, url2, sizeof url2);
    portal_of(url2, portal2, sizeof portal2);
    char disc[128];
    snprintf(disc, sizeof disc, "iscsi://%s", srv.portal);
    char *out;
    /* Its exit status is not the point: after discovery it logs in and
     * stops at the new nexus's power-on unit attention (exit 10). */
    int rc = proc_tool((const char *const[]){ "iscsi-ls", "-s", disc, NULL }, 30, &out);
    snprintf(want, sizeof want, "Portal:%s,2", portal2);
    ck_assert_msg(strstr(out, want), "iscsi-ls exit %d: expected '%s' in: %s", rc, want, out);
    free(out);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(portal_option_errors)
{
    struct proc_result r;
    proc_scsisim((const char *const[]){ "serve", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--listen",
                                        "127.0.0.1:0", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", NULL },
                 &r);
    ck_assert_msg(r.status == 2 && strstr(r.err, "at most 4 portals"), "exit %d: %s", r.status, r.err);
    proc_result_free(&r);
    proc_scsisim((const char *const[]){ "serve", "--listen", "127.0.0.1:0", "--listen", "nowhere:1", NULL }, &r);
    ck_assert_msg(r.status == 2 && strstr(r.err, "--listen nowhere:1"), "exit %d: %s", r.status, r.err);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_mpath");
    TCase *tc = tcase_create("mpath");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_portals_one_lu_two_ports);
    tcase_add_test(tc, send_targets_lists_both_portals);
    tcase_add_test(tc, portal_option_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
