/* tests/test_stack_twoproc_cmds.c — every SCSI command the controller implements,
 * through the whole stack (stack -> driver core -> osal_user -> bus ->
 * controller firmware and back), in four flavours: in one process and with
 * the controller in a process of its own (`scsisim controller`, spawned by
 * the stack), each with interrupts and polled.  The same assertions hold in
 * every flavour: two-process mode must be indistinguishable from above.
 *
 * INQUIRY (standard, VPD 00h 80h 83h B0h B1h B2h, a bad page), TEST UNIT
 * READY, REQUEST SENSE, REPORT LUNS, READ CAPACITY(10)/(16), READ/WRITE
 * 6/10/12/16 (and FUA, and a transfer the core must split), VERIFY(10)/(16)
 * with and without BYTCHK (and a miscompare), SYNCHRONIZE CACHE(10)/(16)
 * (then a power cut: the oracle finds nothing durable lost), MODE SENSE(6)/(10)
 * and MODE SELECT(6)/(10) of the caching page, START STOP UNIT, REPORT
 * SUPPORTED OPERATION CODES, SEND DIAGNOSTIC; errors: LBA out of range, an
 * unknown opcode, a missing LUN, a reserved CDB bit.  No run may leave an
 * IOMMU fault behind. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

static struct stack *ST;

static void open_flavour(int f)
{
    ST = s2_open(f, NULL, NULL);
}

static void close_stack(void)
{
    struct hba_log_header hdr;
    struct hba_iommu_fault fault;
    ck_assert_int_eq(stack_fault_log(ST, 0, &fault, 1, &hdr), 0);
    ck_assert_msg(hdr.total == 0, "IOMMU fault at IOVA 0x%llx reason %u", (unsigned long long)fault.iova,
                  fault.reason);
    ck_assert_uint_eq(stack_outstanding(ST), 0);
    stack_close(ST);
    ST = NULL;
}

/* A command that must end GOOD. */
static struct drv_completion good(const uint8_t *cdb, uint8_t len, enum drv_dir dir, void *buf, uint64_t n)
{
    struct drv_completion c;
    sf_exec(ST, cdb, len, dir, buf, n, &c);
    ck_assert_msg(c.scsi_status == SCSI_STATUS_GOOD, "opcode %02xh: status %02xh sense %06x", cdb[0], c.scsi_status,
                  sf_sense(&c));
    return c;
}

/* A command that must end CHECK CONDITION with key/asc/ascq `want`. */
static void check(const uint8_t *cdb, uint8_t len, enum drv_dir dir, void *buf, uint64_t n, uint32_t want)
{
    struct drv_completion c;
    sf_exec(ST, cdb, len, dir, buf, n, &c);
    ck_assert_msg(c.scsi_status == SCSI_STATUS_CHECK_CONDITION, "opcode %02xh: status %02xh, expected CHECK",
                  cdb[0], c.scsi_status);
    ck_assert_msg(sf_sense(&c) == want, "opcode %02xh: sense %06x, expected %06x", cdb[0], sf_sense(&c), want);
}

#define SENSE(k, ascq) ((uint32_t)(k) << 16 | (ascq))

START_TEST(inquiry_standard_and_vpd)
{
    open_flavour(_i);
    uint8_t b[255];
    uint8_t std[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    struct drv_completion c = good(std, 6, DRV_DIR_FROM_TARGET, b, 96);
    ck_assert_uint_ge(c.bytes_transferred, 36);
    ck_assert_uint_eq(b[0], SCSI_PDT_DISK);
    ck_assert(memcmp(b + 8, "SCSISIM ", 8) == 0);
    ck_assert(memcmp(b + 16, "SIM DISK", 8) == 0);

    uint8_t vpd[6] = { SCSI_OP_INQUIRY, 1, 0x00, 0, 255, 0 };
    c = good(vpd, 6, DRV_DIR_FROM_TARGET, b, 255);
    ck_assert_uint_eq(b[1], 0x00);
    const uint8_t want[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
    ck_assert_uint_eq(scsi_get_be16(b + 2), sizeof(want));
    ck_assert(memcmp(b + 4, want, sizeof(want)) == 0);
    for (size_t i = 1; i < sizeof(want); i++) {
        vpd[2] = want[i];
        memset(b, 0, sizeof(b));
        c = good(vpd, 6, DRV_DIR_FROM_TARGET, b, 255);
        ck_assert_uint_eq(b[1], want[i]);
        ck_assert_uint_gt(scsi_get_be16(b + 2), 0);
        ck_assert_uint_eq(c.bytes_transferred, 4u + scsi_get_be16(b + 2));
    }
    vpd[2] = 0x83; /* first designator: NAA, binary, logical unit */
    good(vpd, 6, DRV_DIR_FROM_TARGET, b, 255);
    ck_assert_uint_eq(b[4] & 0x0f, 0x01);
    ck_assert_uint_eq(b[5] & 0x0f, 0x03);
    ck_assert_uint_eq(b[8] >> 4, 0x6);

    vpd[2] = 0x42; /* not a page it has */
    check(vpd, 6, DRV_DIR_FROM_TARGET, b, 255, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB));
    uint8_t page_no_evpd[6] = { SCSI_OP_INQUIRY, 0, 0x80, 0, 255, 0 };
    check(page_no_evpd, 6, DRV_DIR_FROM_TARGET, b, 255,
          SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB));
    close_stack();
}
END_TEST

START_TEST(tur_request_sense_report_luns)
{
    open_flavour(_i);
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    good(tur, 6, DRV_DIR_NONE, NULL, 0);

    uint8_t b[256];
    uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    memset(b, 0xEE, sizeof(b));
    struct drv_completion c = good(rs, 6, DRV_DIR_FROM_TARGET, b, 252);
    ck_assert_uint_ge(c.bytes_transferred, 8);
    ck_assert_uint_eq(b[0] & 0x7f, 0x70);        /* fixed format, current */
    ck_assert_uint_eq(b[2] & 0x0f, SCSI_SK_NO_SENSE);
    rs[1] = 1; /* descriptor format */
    good(rs, 6, DRV_DIR_FROM_TARGET, b, 252);
    ck_assert_uint_eq(b[0] & 0x7f, 0x72);

    uint8_t rl[12] = { SCSI_OP_REPORT_LUNS, 0, 0, 0, 0, 0 };
    scsi_put_be32(rl + 6, sizeof(b));
    c = good(rl, 12, DRV_DIR_FROM_TARGET, b, sizeof(b));
    ck_assert_uint_eq(scsi_get_be32(b), 8); /* one LUN */
    ck_assert_uint_eq(c.bytes_transferred, 16);
    ck_assert_uint_eq(b[8], 0);
    ck_assert_uint_eq(b[9], 0);

    /* LUN 5 does not exist: TUR is refused, REQUEST SENSE says why with GOOD. */
    struct drv_completion cc;
    ck_assert_int_eq(stack_exec(ST, 0, 5, tur, 6, DRV_DIR_NONE, NULL, 0, &cc), 0);
    ck_assert_int_eq(cc.response, DRV_SR_TASK_COMPLETE);
    ck_assert_uint_eq(cc.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sf_sense(&cc), SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED));
    rs[1] = 0;
    ck_assert_int_eq(stack_exec(ST, 0, 5, rs, 6, DRV_DIR_FROM_TARGET, b, 252, &cc), 0);
    ck_assert_uint_eq(cc.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(b[2] & 0x0f, SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(b[12], 0x25);
    /* A target beyond the controller's limit: selection timeout. */
    ck_assert_int_eq(stack_exec(ST, 999, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &cc), 0);
    ck_assert_int_ne(cc.response, DRV_SR_TASK_COMPLETE);
    close_stack();
}
END_TEST

START_TEST(read_capacity_10_and_16)
{
    open_flavour(_i);
    uint8_t b[32];
    uint8_t rc10[10] = { SCSI_OP_READ_CAPACITY_10 };
    good(rc10, 10, DRV_DIR_FROM_TARGET, b, 8);
    ck_assert_uint_eq(scsi_get_be32(b), S2_BLOCKS - 1);
    ck_assert_uint_eq(scsi_get_be32(b + 4), S2_BLOCK);
    uint8_t rc16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be32(rc16 + 10, 32);
    good(rc16, 16, DRV_DIR_FROM_TARGET, b, 32);
    ck_assert_uint_eq(scsi_get_be64(b), S2_BLOCKS - 1);
    ck_assert_uint_eq(scsi_get_be32(b + 8), S2_BLOCK);
    rc10[8] = 1; /* PMI without an LBA is fine; a reserved bit is not */
    rc10[1] = 0x02;
    check(rc10, 10, DRV_DIR_FROM_TARGET, b, 8, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB));
    close_stack();
}
END_TEST

/* READ/WRITE CDBs of every length. */
static uint8_t rw_cdb(uint8_t *cdb, int len, bool write, uint64_t lba, uint32_t blocks)
{
    memset(cdb, 0, 16);
    switch (len) {
    case 6:
        cdb[0] = write ? SCSI_OP_WRITE_6 : SCSI_OP_READ_6;
        scsi_put_be24(cdb + 1, (uint32_t)lba & 0x1fffff);
        cdb[4] = (uint8_t)blocks;
        break;
    case 10:
        cdb[0] = write ? SCSI_OP_WRITE_10 : SCSI_OP_READ_10;
        scsi_put_be32(cdb + 2, (uint32_t)lba);
        scsi_put_be16(cdb + 7, (uint16_t)blocks);
        break;
    case 12:
        cdb[0] = write ? SCSI_OP_WRITE_12 : SCSI_OP_READ_12;
        scsi_put_be32(cdb + 2, (uint32_t)lba);
        scsi_put_be32(cdb + 6, blocks);
        break;
    default:
        cdb[0] = write ? SCSI_OP_WRITE_16 : SCSI_OP_READ_16;
        scsi_put_be64(cdb + 2, lba);
        scsi_put_be32(cdb + 10, blocks);
        break;
    }
    return (uint8_t)len;
}

static void write_blocks(int len, uint64_t lba, uint32_t blocks, unsigned seed, bool fua)
{
    size_t n = (size_t)blocks * S2_BLOCK;
    uint8_t *p = malloc(n), cdb[16];
    ck_assert_ptr_nonnull(p);
    sf_fill(p, n, seed);
    uint8_t cl = rw_cdb(cdb, len, true, lba, blocks);
    if (fua)
        cdb[1] |= 0x08;
    struct drv_completion c = good(cdb, cl, DRV_DIR_FROM_INITIATOR, p, n);
    ck_assert_uint_eq(c.bytes_transferred, n);
    free(p);
}

static void read_and_compare(int len, uint64_t lba, uint32_t blocks, unsigned seed)
{
    size_t n = (size_t)blocks * S2_BLOCK;
    uint8_t *want = malloc(n), *got = malloc(n), cdb[16];
    ck_assert(want && got);
    sf_fill(want, n, seed);
    memset(got, 0xEE, n);
    uint8_t cl = rw_cdb(cdb, len, false, lba, blocks);
    struct drv_completion c = good(cdb, cl, DRV_DIR_FROM_TARGET, got, n);
    ck_assert_uint_eq(c.bytes_transferred, n);
    ck_assert_msg(memcmp(got, want, n) == 0, "READ(%d) at %llu: data differs", len, (unsigned long long)lba);
    free(want);
    free(got);
}

START_TEST(read_write_6_10_12_16)
{
    open_flavour(_i);
    const int lens[] = { 6, 10, 12, 16 };
    for (unsigned w = 0; w < 4; w++)
        write_blocks(lens[w], 100u + 40u * w, 8 + w, 10 + w, w == 3);
    /* Every write read back with every READ length. */
    for (unsigned w = 0; w < 4; w++)
        for (unsigned r = 0; r < 4; r++)
            read_and_compare(lens[r], 100u + 40u * w, 8 + w, 10 + w);
    /* Longer than one command may carry (512 KiB): the core splits it. */
    uint32_t big = (768u << 10) / S2_BLOCK;
    write_blocks(16, 2048, big, 77, false);
    read_and_compare(10, 2048, big, 77);
    struct drv_core_stats cs;
    drv_core_get_stats(stack_core(ST), &cs);
    ck_assert_uint_ge(cs.split_tasks, 2);

    uint8_t cdb[16], b[2 * S2_BLOCK];
    memset(b, 0, sizeof(b));
    rw_cdb(cdb, 10, false, S2_BLOCKS, 1); /* one past the end */
    check(cdb, 10, DRV_DIR_FROM_TARGET, b, S2_BLOCK, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    rw_cdb(cdb, 16, true, S2_BLOCKS - 1, 2); /* runs over the end */
    check(cdb, 16, DRV_DIR_FROM_INITIATOR, b, sizeof(b), SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    close_stack();
}
END_TEST

/* 32 READs in flight at once: every one is unmapped in a reap's batch
 * (osal_dma_defer_begin/end; in two processes the controller's command
 * engine runs the invalidation queue), no done callback runs before the
 * wait that covers its unmap, and each READ reads its own data.  (One wait
 * per batch exactly: test_iommu, a_batch_of_deferred_unmaps_waits_once.) */
enum { FLIGHT = 32, FLIGHT_BLOCKS = 8 };
struct flight_one {
    uint64_t id;
    _Atomic int *done, *unwaited, *bad;
};

static void flight_done(void *arg, const struct drv_completion *c)
{
    struct flight_one *o = arg;
    struct osal_user_stats s;
    osal_user_get_stats(stack_osal(ST), &s);
    if (s.unmaps_unwaited)
        atomic_fetch_add(o->unwaited, 1);
    if (c->task_id != o->id || c->scsi_status != SCSI_STATUS_GOOD ||
        c->bytes_transferred != FLIGHT_BLOCKS * S2_BLOCK)
        atomic_fetch_add(o->bad, 1);
    atomic_fetch_add(o->done, 1);
}

START_TEST(reads_in_flight_are_unmapped_in_batches_before_their_done)
{
    open_flavour(_i);
    struct osal *os = stack_osal(ST);
    for (unsigned i = 0; i < FLIGHT; i++)
        write_blocks(10, 3000u + FLIGHT_BLOCKS * i, FLIGHT_BLOCKS, 300 + i, false);
    static _Atomic int done, unwaited, bad;
    atomic_store(&done, 0);
    atomic_store(&unwaited, 0);
    atomic_store(&bad, 0);
    static struct flight_one ones[FLIGHT];
    struct osal_dma_buffer *bufs[FLIGHT];
    struct drv_buffer_piece pieces[FLIGHT];
    struct osal_user_stats before, after;
    osal_user_get_stats(os, &before);
    for (unsigned i = 0; i < FLIGHT; i++) {
        ck_assert_int_eq(osal_dma_alloc(os, FLIGHT_BLOCKS * S2_BLOCK, 4096, &bufs[i]), 0);
        pieces[i] = (struct drv_buffer_piece){ .buf = bufs[i], .length = FLIGHT_BLOCKS * S2_BLOCK };
        struct drv_task t = { .task_id = 9000 + i, .dir = DRV_DIR_FROM_TARGET,
                              .requested_transfer = FLIGHT_BLOCKS * S2_BLOCK, .pieces = &pieces[i],
                              .piece_count = 1 };
        t.cdb_len = rw_cdb(t.cdb, 10, false, 3000u + FLIGHT_BLOCKS * i, FLIGHT_BLOCKS);
        ones[i] = (struct flight_one){ .id = t.task_id, .done = &done, .unwaited = &unwaited, .bad = &bad };
        ck_assert_int_eq(stack_submit(ST, &t, flight_done, &ones[i]), 0);
    }
    ck_assert_int_eq(stack_wait(ST, 20000), 0);
    ck_assert_int_eq(atomic_load(&done), FLIGHT);
    ck_assert_int_eq(atomic_load(&bad), 0);
    ck_assert_int_eq(atomic_load(&unwaited), 0);
    osal_user_get_stats(os, &after);
    ck_assert_uint_eq(after.deferred_unmaps - before.deferred_unmaps, FLIGHT);
    ck_assert_uint_ge(after.defer_waits - before.defer_waits, 1);
    ck_assert_uint_le(after.defer_waits - before.defer_waits, FLIGHT);
    ck_assert_uint_eq(after.unmaps_unwaited, 0);
    for (unsigned i = 0; i < FLIGHT; i++) {
        uint8_t want[FLIGHT_BLOCKS * S2_BLOCK];
        sf_fill(want, sizeof want, 300 + i);
        ck_assert_msg(memcmp(bufs[i]->vaddr, want, sizeof want) == 0, "READ %u read the wrong data", i);
        osal_dma_free(os, bufs[i]);
    }
    close_stack();
}
END_TEST

START_TEST(verify_10_and_16)
{
    open_flavour(_i);
    write_blocks(10, 500, 4, 3, false);
    size_t n = 4 * S2_BLOCK;
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    sf_fill(p, n, 3);
    uint8_t v10[10] = { SCSI_OP_VERIFY_10, 0x02 }; /* BYTCHK 01b: compare with the data sent */
    scsi_put_be32(v10 + 2, 500);
    scsi_put_be16(v10 + 7, 4);
    good(v10, 10, DRV_DIR_FROM_INITIATOR, p, n);
    p[700] ^= 0x5a;
    check(v10, 10, DRV_DIR_FROM_INITIATOR, p, n, SENSE(SCSI_SK_MISCOMPARE, SCSI_ASCQ(0x1d, 0x00)));
    uint8_t v16[16] = { SCSI_OP_VERIFY_16, 0x00 }; /* BYTCHK 0: medium check only, no data */
    scsi_put_be64(v16 + 2, 500);
    scsi_put_be32(v16 + 10, 4);
    good(v16, 16, DRV_DIR_NONE, NULL, 0);
    scsi_put_be64(v16 + 2, S2_BLOCKS);
    check(v16, 16, DRV_DIR_NONE, NULL, 0, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    free(p);
    close_stack();
}
END_TEST

START_TEST(synchronize_cache_10_and_16_make_writes_durable)
{
    open_flavour(_i);
    write_blocks(10, 1000, 16, 21, false);
    uint8_t s10[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    good(s10, 10, DRV_DIR_NONE, NULL, 0);
    write_blocks(16, 3000, 16, 22, false);
    uint8_t s16[16] = { SCSI_OP_SYNCHRONIZE_CACHE_16 };
    scsi_put_be64(s16 + 2, 3000);
    scsi_put_be32(s16 + 10, 16);
    good(s16, 16, DRV_DIR_NONE, NULL, 0);
    write_blocks(10, 5000, 8, 23, false); /* acknowledged, never flushed */
    scsi_put_be64(s16 + 2, S2_BLOCKS);
    check(s16, 16, DRV_DIR_NONE, NULL, 0, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));

    ck_assert_int_ge(stack_power_cut(ST, NULL), 1);
    ck_assert_int_eq(stack_power_on(ST), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(stack_check_media(ST, 0, 0, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 40);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 8);
    /* The lost blocks are named across the process boundary too. */
    ck_assert_uint_eq(r.n_ranges, 1);
    ck_assert(!r.range[0].durable && r.range[0].lba == 5000 && r.range[0].count == 8);
    ck_assert(r.range[0].target == 0 && r.range[0].lun == 0);
    char err[256];
    ck_assert_msg(stack_reconnect(ST, err, sizeof(err)) == 0, "%s", err);
    ck_assert(sf_clear_ua(ST, 0, 0));
    read_and_compare(10, 1000, 16, 21);
    read_and_compare(16, 3000, 16, 22);
    close_stack();
}
END_TEST

/* The caching page's WCE bit from MODE SENSE(6) or (10). */
static bool wce(bool ten)
{
    uint8_t b[128];
    uint8_t ms6[6] = { SCSI_OP_MODE_SENSE_6, 0x08 /* DBD */, SCSI_MODE_PAGE_CACHING, 0, sizeof(b), 0 };
    uint8_t ms10[10] = { SCSI_OP_MODE_SENSE_10, 0x08, SCSI_MODE_PAGE_CACHING };
    scsi_put_be16(ms10 + 7, sizeof(b));
    memset(b, 0, sizeof(b));
    if (ten)
        good(ms10, 10, DRV_DIR_FROM_TARGET, b, sizeof(b));
    else
        good(ms6, 6, DRV_DIR_FROM_TARGET, b, sizeof(b));
    size_t hdr = ten ? 8 : 4;
    ck_assert_uint_eq(b[hdr] & 0x3f, SCSI_MODE_PAGE_CACHING);
    ck_assert_uint_eq(b[hdr + 1], 0x12);
    return b[hdr + 2] & 0x04;
}

static void set_wce(bool ten, bool on)
{
    uint8_t b[128];
    uint8_t ms10[10] = { SCSI_OP_MODE_SENSE_10, 0x08, SCSI_MODE_PAGE_CACHING };
    scsi_put_be16(ms10 + 7, sizeof(b));
    good(ms10, 10, DRV_DIR_FROM_TARGET, b, sizeof(b));
    uint8_t page[20];
    memcpy(page, b + 8, sizeof(page));
    page[0] &= 0x3f; /* PS is reserved in MODE SELECT */
    page[2] = (uint8_t)((page[2] & ~0x04) | (on ? 0x04 : 0));
    uint8_t data[28];
    memset(data, 0, sizeof(data));
    size_t hdr = ten ? 8 : 4;
    memcpy(data + hdr, page, sizeof(page));
    size_t len = hdr + sizeof(page);
    if (ten) {
        uint8_t sel[10] = { SCSI_OP_MODE_SELECT_10, 0x10 /* PF */ };
        scsi_put_be16(sel + 7, (uint16_t)len);
        good(sel, 10, DRV_DIR_FROM_INITIATOR, data, len);
    } else {
        uint8_t sel[6] = { SCSI_OP_MODE_SELECT_6, 0x10, 0, 0, (uint8_t)len, 0 };
        good(sel, 6, DRV_DIR_FROM_INITIATOR, data, len);
    }
}

START_TEST(mode_sense_and_select_caching_page)
{
    open_flavour(_i);
    ck_assert(wce(false));
    ck_assert(wce(true));
    set_wce(true, false);
    ck_assert(!wce(false));
    ck_assert(!wce(true));
    /* With WCE off a write is durable at once: a power cut keeps it. */
    write_blocks(12, 700, 4, 31, false);
    set_wce(false, true);
    ck_assert(wce(true));
    uint8_t bad[6] = { SCSI_OP_MODE_SELECT_6, 0x00 /* PF 0 */, 0, 0, 4, 0 };
    uint8_t hdr[4] = { 0 };
    check(bad, 6, DRV_DIR_FROM_INITIATOR, hdr, 4, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB));
    ck_assert_int_ge(stack_power_cut(ST, NULL), 0);
    ck_assert_int_eq(stack_power_on(ST), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(stack_check_media(ST, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert(sf_clear_ua(ST, 0, 0));
    read_and_compare(16, 700, 4, 31);
    close_stack();
}
END_TEST

START_TEST(start_stop_unit)
{
    open_flavour(_i);
    uint8_t stop[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x00, 0 };
    uint8_t start[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x01, 0 };
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    good(stop, 6, DRV_DIR_NONE, NULL, 0);
    check(tur, 6, DRV_DIR_NONE, NULL, 0, SENSE(SCSI_SK_NOT_READY, SCSI_ASC_LUN_NOT_READY_INIT_REQUIRED));
    uint8_t b[S2_BLOCK], cdb[16];
    rw_cdb(cdb, 10, false, 0, 1);
    check(cdb, 10, DRV_DIR_FROM_TARGET, b, sizeof(b),
          SENSE(SCSI_SK_NOT_READY, SCSI_ASC_LUN_NOT_READY_INIT_REQUIRED));
    good(start, 6, DRV_DIR_NONE, NULL, 0);
    good(tur, 6, DRV_DIR_NONE, NULL, 0);
    uint8_t power_condition[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x31, 0 };
    check(power_condition, 6, DRV_DIR_NONE, NULL, 0,
          SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB));
    close_stack();
}
END_TEST

START_TEST(report_opcodes_send_diagnostic_and_unknown_opcodes)
{
    open_flavour(_i);
    uint8_t b[1024];
    uint8_t rsoc[12] = { SCSI_OP_MAINTENANCE_IN, 0x0c };
    scsi_put_be32(rsoc + 6, sizeof(b));
    struct drv_completion c = good(rsoc, 12, DRV_DIR_FROM_TARGET, b, sizeof(b));
    uint32_t list = scsi_get_be32(b);
    ck_assert_uint_ge(list / 8, 20); /* a descriptor per command (8 bytes each) */
    ck_assert_uint_eq(c.bytes_transferred, 4 + list);
    uint8_t diag[6] = { SCSI_OP_SEND_DIAGNOSTIC, 0x04 /* SELFTEST */ };
    good(diag, 6, DRV_DIR_NONE, NULL, 0);
    uint8_t vendor[6] = { 0xc0 };
    check(vendor, 6, DRV_DIR_NONE, NULL, 0, SENSE(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_COMMAND_OPCODE));
    close_stack();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_cmds");
    TCase *t = tcase_create("commands");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, inquiry_standard_and_vpd, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, tur_request_sense_report_luns, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, read_capacity_10_and_16, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, read_write_6_10_12_16, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, reads_in_flight_are_unmapped_in_batches_before_their_done, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, verify_10_and_16, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, synchronize_cache_10_and_16_make_writes_durable, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, mode_sense_and_select_caching_page, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, start_stop_unit, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, report_opcodes_send_diagnostic_and_unknown_opcodes, 0, S2_FLAVOURS);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
