/* tests/test_iscsi_backend.c — the transport-neutral layer without a
 * network: the in-memory test backend, the LUN map in front of it, SAM LUN
 * encoding, residual bookkeeping, task management and nexus loss; plus AHS
 * parsing of the PDU layer. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <string.h>

#include "tests/support/backend_mem.h"
#include "host/iscsi_pdu.h"
#include "host/scsi_lunmap.h"
#include "scsi/sense.h"

struct probe {
    struct scsi_backend_task t;
    int done;
    uint8_t buf[8192];
};

static void probe_done(struct scsi_backend_task *t)
{
    struct probe *p = (struct probe *)t;
    p->done++;
}

static void probe_init(struct probe *p, uint64_t lun, const uint8_t *cdb, uint8_t cdb_len, enum scsi_data_dir dir,
                       uint64_t len)
{
    memset(p, 0, sizeof(*p));
    p->t.nexus = 1;
    p->t.lun = lun;
    p->t.tag = 42;
    memcpy(p->t.cdb, cdb, cdb_len);
    p->t.cdb_len = cdb_len;
    p->t.dir = dir;
    p->t.expected_len = len;
    if (dir == SCSI_DIR_READ) {
        p->t.data_in = p->buf;
        p->t.data_in_cap = len;
    } else if (dir == SCSI_DIR_WRITE) {
        p->t.data_out = p->buf;
        p->t.data_out_len = len;
    }
    p->t.done = probe_done;
}

static struct backend_mem *mem;
static struct scsi_lunmap *map;

static void setup(void)
{
    struct backend_mem_options o = { .luns = 2, .block_size = 512, .blocks = 1024 };
    ck_assert_int_eq(backend_mem_create(&o, &mem), 0);
    ck_assert_int_eq(scsi_lunmap_create(&map), 0);
    ck_assert_int_eq(scsi_lunmap_add(map, 0, backend_mem_backend(mem), 1), 0);
    ck_assert_int_eq(scsi_lunmap_add(map, 300, backend_mem_backend(mem), 0), 0);
}

static void teardown(void)
{
    scsi_lunmap_destroy(map);
    backend_mem_destroy(mem);
}

static void run(struct scsi_backend *be, struct probe *p)
{
    ck_assert_int_eq(scsi_backend_submit(be, &p->t), 0);
    ck_assert_int_eq(p->done, 1);
}

static struct scsi_sense_info sense_of(const struct probe *p)
{
    struct scsi_sense_info si;
    ck_assert_int_eq(p->t.result.status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert(scsi_sense_parse(p->t.result.sense, p->t.result.sense_len, &si));
    return si;
}

START_TEST(inquiry_and_capacity)
{
    struct probe p;
    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    probe_init(&p, 0, inq, 6, SCSI_DIR_READ, 96);
    run(backend_mem_backend(mem), &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(p.t.result.data_len, 36);
    ck_assert_int_eq(p.t.result.residual_kind, SCSI_RESID_UNDER);
    ck_assert_uint_eq(p.t.result.residual, 60);
    ck_assert(memcmp(p.buf + 16, "MEMDISK (TEST)", 14) == 0);

    uint8_t vpd[6] = { SCSI_OP_INQUIRY, 1, 0x80, 0, 64, 0 };
    probe_init(&p, 1, vpd, 6, SCSI_DIR_READ, 64);
    run(backend_mem_backend(mem), &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(p.buf[1], 0x80);

    uint8_t rc16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be32(rc16 + 10, 32);
    probe_init(&p, 0, rc16, 16, SCSI_DIR_READ, 32);
    run(backend_mem_backend(mem), &p);
    ck_assert_uint_eq(scsi_get_be64(p.buf), 1023);
    ck_assert_uint_eq(scsi_get_be32(p.buf + 8), 512);

    uint8_t rc10[10] = { SCSI_OP_READ_CAPACITY_10 };
    probe_init(&p, 0, rc10, 10, SCSI_DIR_READ, 8);
    run(backend_mem_backend(mem), &p);
    ck_assert_uint_eq(scsi_get_be32(p.buf), 1023);
}
END_TEST

START_TEST(write_then_read)
{
    struct probe w, r;
    uint8_t wcdb[10] = { SCSI_OP_WRITE_10, 0, 0, 0, 0, 10, 0, 0, 4, 0 };
    probe_init(&w, 0, wcdb, 10, SCSI_DIR_WRITE, 2048);
    for (int i = 0; i < 2048; i++)
        w.buf[i] = (uint8_t)(i ^ 0x5a);
    run(backend_mem_backend(mem), &w);
    ck_assert_int_eq(w.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(w.t.result.data_len, 2048);
    uint8_t rcdb[16] = { SCSI_OP_READ_16 };
    scsi_put_be64(rcdb + 2, 10);
    scsi_put_be32(rcdb + 10, 4);
    probe_init(&r, 0, rcdb, 16, SCSI_DIR_READ, 2048);
    run(backend_mem_backend(mem), &r);
    ck_assert_int_eq(r.t.result.status, SCSI_STATUS_GOOD);
    ck_assert(memcmp(r.buf, w.buf, 2048) == 0);
    ck_assert_int_eq(r.t.result.residual_kind, SCSI_RESID_NONE);
    /* A read the initiator expects less of: what fits, with an overflow. */
    probe_init(&r, 0, rcdb, 16, SCSI_DIR_READ, 1024);
    run(backend_mem_backend(mem), &r);
    ck_assert_uint_eq(r.t.result.data_len, 1024);
    ck_assert_int_eq(r.t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(r.t.result.residual, 1024);
}
END_TEST

START_TEST(errors_carry_sense)
{
    struct probe p;
    uint8_t oob[10] = { SCSI_OP_READ_10, 0, 0, 0, 0x03, 0xff, 0, 0, 2, 0 }; /* LBA 1023, 2 blocks */
    probe_init(&p, 0, oob, 10, SCSI_DIR_READ, 1024);
    run(backend_mem_backend(mem), &p);
    struct scsi_sense_info si = sense_of(&p);
    ck_assert_uint_eq(si.key, SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(si.asc, 0x21);

    uint8_t unknown[6] = { 0xc0 };
    probe_init(&p, 0, unknown, 6, SCSI_DIR_NONE, 0);
    run(backend_mem_backend(mem), &p);
    si = sense_of(&p);
    ck_assert_uint_eq(si.asc, 0x20);
    ck_assert_uint_eq(si.ascq, 0x00);

    /* A write with less data than the CDB asks for writes the whole blocks
     * that came; the rest is an overflow residual. */
    uint8_t w[10] = { SCSI_OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
    probe_init(&p, 0, w, 10, SCSI_DIR_WRITE, 700);
    memset(p.buf, 0xee, 700);
    run(backend_mem_backend(mem), &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(p.t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(p.t.result.residual, 8 * 512 - 700);
    uint8_t back[1024];
    ck_assert_int_eq(backend_mem_peek(mem, 0, 0, back, sizeof(back)), 0);
    ck_assert_uint_eq(back[511], 0xee);
    ck_assert_uint_eq(back[512], 0x00);

    uint8_t ms[6] = { SCSI_OP_MODE_SENSE_6, 0, 0x1c, 0, 255, 0 };
    probe_init(&p, 0, ms, 6, SCSI_DIR_READ, 255);
    run(backend_mem_backend(mem), &p);
    si = sense_of(&p);
    ck_assert_uint_eq(si.asc, 0x24);
}
END_TEST

START_TEST(mode_sense_and_sync_cache)
{
    struct probe p;
    uint8_t ms[10] = { SCSI_OP_MODE_SENSE_10, 0x08, SCSI_MODE_PAGE_CACHING, 0, 0, 0, 0, 0, 255, 0 };
    probe_init(&p, 0, ms, 10, SCSI_DIR_READ, 255);
    run(backend_mem_backend(mem), &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(p.t.result.data_len, 8 + 20);
    ck_assert_uint_eq(p.buf[8], SCSI_MODE_PAGE_CACHING);
    ck_assert(p.buf[10] & 0x04); /* WCE */
    uint8_t sc[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    probe_init(&p, 0, sc, 10, SCSI_DIR_NONE, 0);
    run(backend_mem_backend(mem), &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    struct backend_mem_stats st;
    backend_mem_get_stats(mem, &st);
    ck_assert_uint_eq(st.syncs, 1);
}
END_TEST

START_TEST(lun_map_routes_and_reports)
{
    struct scsi_backend *be = scsi_lunmap_backend(map);
    ck_assert(scsi_lunmap_has(map, 300));
    ck_assert_uint_eq(scsi_lunmap_count(map), 2);
    struct probe p;
    uint8_t rl[12] = { SCSI_OP_REPORT_LUNS };
    scsi_put_be32(rl + 6, 256);
    probe_init(&p, 7, rl, 12, SCSI_DIR_READ, 256); /* any LUN answers REPORT LUNS */
    run(be, &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(scsi_get_be32(p.buf), 16);
    ck_assert_uint_eq(scsi_lun_from_sam(p.buf + 8), 0);
    ck_assert_uint_eq(scsi_lun_from_sam(p.buf + 16), 300);
    ck_assert_uint_eq(p.buf[16], 0x41); /* flat space addressing above 255 */

    /* Map LUN 0 is backend LUN 1: a write through the map lands there. */
    uint8_t w[10] = { SCSI_OP_WRITE_10, 0, 0, 0, 0, 5, 0, 0, 1, 0 };
    probe_init(&p, 0, w, 10, SCSI_DIR_WRITE, 512);
    memset(p.buf, 0xab, 512);
    run(be, &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    uint8_t back[512];
    ck_assert_int_eq(backend_mem_peek(mem, 1, 5 * 512, back, 512), 0);
    ck_assert_uint_eq(back[0], 0xab);
    ck_assert_int_eq(backend_mem_peek(mem, 0, 5 * 512, back, 512), 0);
    ck_assert_uint_eq(back[0], 0x00);

    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
    probe_init(&p, 9, inq, 6, SCSI_DIR_READ, 36);
    run(be, &p);
    ck_assert_int_eq(p.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(p.buf[0], 0x7f);
    uint8_t tur[6] = { 0 };
    probe_init(&p, 9, tur, 6, SCSI_DIR_NONE, 0);
    run(be, &p);
    ck_assert_uint_eq(sense_of(&p).asc, 0x25);

    ck_assert_int_eq(scsi_lunmap_add(map, 0, backend_mem_backend(mem), 0), -EEXIST);
    ck_assert_int_eq(scsi_lunmap_add(map, SCSI_LUN_MAX + 1, backend_mem_backend(mem), 0), -EINVAL);
}
END_TEST

START_TEST(sam_lun_encoding)
{
    uint8_t s[8];
    scsi_lun_to_sam(5, s);
    ck_assert_uint_eq(s[0], 0);
    ck_assert_uint_eq(s[1], 5);
    ck_assert_uint_eq(scsi_lun_from_sam(s), 5);
    scsi_lun_to_sam(16383, s);
    ck_assert_uint_eq(s[0], 0x7f);
    ck_assert_uint_eq(scsi_lun_from_sam(s), 16383);
    uint8_t multi[8] = { 0, 1, 0, 2, 0, 0, 0, 0 };
    ck_assert_uint_eq(scsi_lun_from_sam(multi), SCSI_LUN_INVALID);
    uint8_t bus[8] = { 0x01, 1 };
    ck_assert_uint_eq(scsi_lun_from_sam(bus), SCSI_LUN_INVALID);
    uint8_t extended[8] = { 0xc0 };
    ck_assert_uint_eq(scsi_lun_from_sam(extended), SCSI_LUN_INVALID);
}
END_TEST

struct tmf_probe {
    struct scsi_backend_tmf f;
    int done;
};

static void tmf_done(struct scsi_backend_tmf *f)
{
    ((struct tmf_probe *)f)->done++;
}

static void run_tmf(struct scsi_backend *be, struct tmf_probe *tp, enum scsi_tmf_function fn, uint64_t nexus,
                    uint64_t lun, uint64_t tag)
{
    memset(tp, 0, sizeof(*tp));
    tp->f.fn = fn;
    tp->f.nexus = nexus;
    tp->f.lun = lun;
    tp->f.ref_tag = tag;
    tp->f.done = tmf_done;
    scsi_backend_task_mgmt(be, &tp->f);
    ck_assert_int_eq(tp->done, 1);
}

START_TEST(held_tasks_and_task_management)
{
    struct scsi_backend *be = scsi_lunmap_backend(map);
    backend_mem_set_hold(mem, true);
    struct probe p[4];
    uint8_t tur[6] = { 0 };
    for (int i = 0; i < 4; i++) {
        probe_init(&p[i], i < 3 ? 0 : 300, tur, 6, SCSI_DIR_NONE, 0);
        p[i].t.tag = 100 + (uint64_t)i;
        p[i].t.nexus = i == 2 ? 2 : 1;
        ck_assert_int_eq(scsi_backend_submit(be, &p[i].t), 0);
        ck_assert_int_eq(p[i].done, 0);
    }
    ck_assert_uint_eq(backend_mem_held(mem), 4);
    struct tmf_probe tp;
    run_tmf(be, &tp, SCSI_TMF_ABORT_TASK, 1, 0, 100);
    ck_assert_int_eq(tp.f.response, SCSI_TMF_COMPLETE);
    ck_assert_int_eq(p[0].done, 1);
    ck_assert(p[0].t.result.aborted);
    ck_assert_int_eq(p[0].t.result.status, SCSI_STATUS_TASK_ABORTED);
    run_tmf(be, &tp, SCSI_TMF_ABORT_TASK, 1, 0, 100);
    ck_assert_int_eq(tp.f.response, SCSI_TMF_TASK_NOT_FOUND);
    /* ABORT TASK SET is per nexus: nexus 2's task on the same LUN stays. */
    run_tmf(be, &tp, SCSI_TMF_ABORT_TASK_SET, 1, 0, 0);
    ck_assert_int_eq(p[1].done, 1);
    ck_assert_int_eq(p[2].done, 0);
    run_tmf(be, &tp, SCSI_TMF_LUN_RESET, 1, 7, 0);
    ck_assert_int_eq(tp.f.response, SCSI_TMF_LUN_NOT_FOUND);
    /* Nexus loss ends nexus 2's task. */
    scsi_backend_nexus_loss(be, 2);
    ck_assert_int_eq(p[2].done, 1);
    ck_assert(p[2].t.result.aborted);
    /* The LUN 300 task runs when released. */
    ck_assert_uint_eq(backend_mem_release(mem), 1);
    ck_assert_int_eq(p[3].done, 1);
    ck_assert_int_eq(p[3].t.result.status, SCSI_STATUS_GOOD);
    ck_assert(!p[3].t.result.aborted);
    /* A target reset reaches the backend through the map's fan-out. */
    probe_init(&p[0], 0, tur, 6, SCSI_DIR_NONE, 0);
    ck_assert_int_eq(scsi_backend_submit(be, &p[0].t), 0);
    run_tmf(be, &tp, SCSI_TMF_TARGET_WARM_RESET, 1, 0, 0);
    ck_assert_int_eq(tp.f.response, SCSI_TMF_COMPLETE);
    ck_assert_int_eq(p[0].done, 1);
    struct backend_mem_stats st;
    backend_mem_get_stats(mem, &st);
    ck_assert_uint_eq(st.aborted, 4);
    ck_assert_uint_eq(st.nexus_losses, 1);
    ck_assert_uint_eq(st.last_nexus_lost, 2);
}
END_TEST

START_TEST(backend_options_are_validated)
{
    struct backend_mem *m;
    struct backend_mem_options o = { .luns = 1, .block_size = 500, .blocks = 10 };
    ck_assert_int_eq(backend_mem_create(&o, &m), -EINVAL);
    o.block_size = 4096;
    o.blocks = UINT64_MAX / 2;
    ck_assert_int_eq(backend_mem_create(&o, &m), -EINVAL);
}
END_TEST

START_TEST(transfer_bookkeeping)
{
    struct scsi_backend_task t;
    memset(&t, 0, sizeof(t));
    t.expected_len = 100;
    scsi_backend_set_transfer(&t, 100, 100);
    ck_assert_int_eq(t.result.residual_kind, SCSI_RESID_NONE);
    scsi_backend_set_transfer(&t, 40, 40);
    ck_assert_int_eq(t.result.residual_kind, SCSI_RESID_UNDER);
    ck_assert_uint_eq(t.result.residual, 60);
    scsi_backend_set_transfer(&t, 300, 100);
    ck_assert_int_eq(t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(t.result.residual, 200);
}
END_TEST

START_TEST(ahs_parsing)
{
    struct iscsi_ahs_info info;
    /* Extended CDB: AHSLength 5 (reserved + 4 CDB bytes), padded to 8. */
    uint8_t ext[8] = { 0, 5, ISCSI_AHS_EXTENDED_CDB, 0, 1, 2, 3, 4 };
    ck_assert_int_eq(iscsi_ahs_parse(ext, 8, &info), 0);
    ck_assert_uint_eq(info.ext_cdb_len, 4);
    ck_assert_uint_eq(info.ext_cdb[0], 1);
    uint8_t bidi[8] = { 0, 5, ISCSI_AHS_BIDI_READ_LENGTH, 0, 0, 0, 0x10, 0 };
    ck_assert_int_eq(iscsi_ahs_parse(bidi, 8, &info), 0);
    ck_assert(info.has_bidi_read_len);
    ck_assert_uint_eq(info.bidi_read_len, 0x1000);
    uint8_t overrun[4] = { 0, 200, ISCSI_AHS_EXTENDED_CDB, 0 };
    ck_assert_int_eq(iscsi_ahs_parse(overrun, 4, &info), -EPROTO);
    uint8_t unknown[4] = { 0, 1, 0x3f, 0 };
    ck_assert_int_eq(iscsi_ahs_parse(unknown, 4, &info), -EPROTO);
    uint8_t zero[4] = { 0 };
    ck_assert_int_eq(iscsi_ahs_parse(zero, 4, &info), -EPROTO);
    char buf[24];
    ck_assert_str_eq(iscsi_opcode_name(ISCSI_OP_SCSI_CMD | ISCSI_OP_IMMEDIATE, buf, sizeof(buf)), "SCSI Command");
    ck_assert_str_eq(iscsi_opcode_name(0x1b, buf, sizeof(buf)), "opcode 0x1b");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_backend");
    TCase *tc = tcase_create("backend");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, inquiry_and_capacity);
    tcase_add_test(tc, write_then_read);
    tcase_add_test(tc, errors_carry_sense);
    tcase_add_test(tc, mode_sense_and_sync_cache);
    tcase_add_test(tc, lun_map_routes_and_reports);
    tcase_add_test(tc, sam_lun_encoding);
    tcase_add_test(tc, held_tasks_and_task_management);
    tcase_add_test(tc, backend_options_are_validated);
    tcase_add_test(tc, transfer_bookkeeping);
    tcase_add_test(tc, ahs_parsing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
