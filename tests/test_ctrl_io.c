/* tests/test_ctrl_io.c — HBA_OP_SCSI end to end through queues and SGLs:
 * INQUIRY / WRITE / READ, sense written to host memory, every SGL rule of
 * hw/hba.h (inline DATA, SEGMENT lists, chains, CAP limits, zero-length,
 * short, bad segments, XFER_TOO_LONG, address-bit truncation), malformed
 * entries, duplicate command ids and out-of-range doorbells. */
#include <errno.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

#define BLK 512u

static struct hh H;

/* Clears the power-on unit attention so data commands run. */
static void clear_ua(void)
{
    uint8_t cdb[6] = { 0 };
    for (int i = 0; i < 8; i++) {
        struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
        struct hba_cq_entry c;
        ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
        if (c.scsi_status == SCSI_STATUS_GOOD)
            return;
    }
    ck_abort_msg("unit attention did not clear");
}

static void open_with(struct sim_config *cfg)
{
    hh_open_ready(&H, cfg);
    clear_ua();
}

static void setup(void)
{
    open_with(NULL);
}

static void teardown(void)
{
    hh_close(&H);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 9));
}

/* READ/WRITE(10) of `blocks` at lba described by sge; returns ctrl_status. */
static int rw(bool write, uint32_t lba, uint16_t blocks, struct hba_sge sge, uint32_t data_len,
              struct hba_cq_entry *c)
{
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, write, lba, blocks);
    struct hba_sq_entry e =
        hh_scsi_entry(0, 0, cdb, 10, write ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_READ, data_len, sge);
    return hh_scsi(&H, 1, &e, c);
}

/* Reads back `blocks` at lba through one inline DATA SGE and compares. */
static void expect_media(uint32_t lba, uint16_t blocks, const uint8_t *want)
{
    struct hh_buf in = hh_alloc(&H, (uint64_t)blocks * BLK, HBA_DMA_FROM_DEVICE);
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(false, lba, blocks, hh_sge(in.iova, blocks * BLK, HBA_SGE_DATA), blocks * BLK, &c),
                     HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.result, blocks * BLK);
    ck_assert(memcmp(in.p, want, (size_t)blocks * BLK) == 0);
}

START_TEST(inquiry_end_to_end)
{
    struct hh_buf in = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(in.iova, 36, HBA_SGE_DATA));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.result, 36);
    ck_assert_uint_eq(c.sq_id, 1);
    ck_assert_uint_eq(c.cid, e.cid);
    ck_assert_uint_eq(in.p[0] & 0x1F, SCSI_PDT_DISK);
    ck_assert_uint_ne(in.p[8], 0); /* vendor identification */
}
END_TEST

START_TEST(write_then_read_inline)
{
    struct hh_buf out = hh_alloc(&H, 8 * BLK, HBA_DMA_TO_DEVICE);
    fill(out.p, 8 * BLK, 1);
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 100, 8, hh_sge(out.iova, 8 * BLK, HBA_SGE_DATA), 8 * BLK, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.result, 8 * BLK);
    expect_media(100, 8, out.p);
}
END_TEST

START_TEST(sense_is_written_for_check_condition)
{
    struct hh_buf sense = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    memset(sense.p, 0xAA, 64);
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, false, 0xFFFFFFF0u, 1); /* far beyond the drive */
    struct hh_buf in = hh_alloc(&H, BLK, HBA_DMA_FROM_DEVICE);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_READ, BLK, hh_sge(in.iova, BLK, HBA_SGE_DATA));
    e.sense_addr = sense.iova;
    e.sense_len = 32;
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_gt(c.sense_len, 0);
    ck_assert_uint_le(c.sense_len, 32);
    ck_assert_uint_eq(sense.p[32], 0xAA); /* nothing beyond sense_len */
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(sense.p, c.sense_len, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(si.asc, 0x21);

    /* Truncated to what the driver offered. */
    memset(sense.p, 0xAA, 64);
    e.sense_len = 4;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.sense_len, 4);
    ck_assert_uint_eq(sense.p[4], 0xAA);

    /* No room offered: no sense, still CHECK CONDITION. */
    e.sense_len = 0;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.sense_len, 0);

    /* A read-only sense buffer cannot be written. */
    struct hh_buf ro = hh_alloc(&H, 4096, HBA_DMA_TO_DEVICE);
    e.sense_addr = ro.iova;
    e.sense_len = 32;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SENSE_XFER_ERROR);
}
END_TEST

START_TEST(power_on_unit_attention_reaches_host_memory)
{
    hh_close(&H);
    hh_open_ready(&H, NULL);
    struct hh_buf sense = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.sense_addr = sense.iova;
    e.sense_len = HBA_SENSE_MAX;
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(sense.p, c.sense_len, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_UNIT_ATTENTION);
    ck_assert_uint_eq(si.asc, 0x29);
}
END_TEST

START_TEST(segment_list_and_chains)
{
    /* 16 blocks from 4 scattered buffers of 4 blocks in one list. */
    struct hh_buf part[4];
    uint8_t want[16 * BLK];
    struct hba_sge list[4];
    for (int i = 0; i < 4; i++) {
        part[i] = hh_alloc(&H, 4 * BLK, HBA_DMA_TO_DEVICE);
        fill(part[i].p, 4 * BLK, 10 + (unsigned)i);
        memcpy(want + i * 4 * BLK, part[i].p, 4 * BLK);
        list[i] = hh_sge(part[i].iova, 4 * BLK, HBA_SGE_DATA);
    }
    struct hh_buf l = hh_sgl(&H, list, 4);
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 200, 16, hh_sge(l.iova, sizeof(list), HBA_SGE_SEGMENT), 16 * BLK, &c),
                     HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 16 * BLK);
    expect_media(200, 16, want);

    /* The same data read into a chain: list A = 2 DATA + SEGMENT -> list B = 2 DATA. */
    struct hh_buf in[4];
    for (int i = 0; i < 4; i++)
        in[i] = hh_alloc(&H, 4 * BLK, HBA_DMA_FROM_DEVICE);
    struct hba_sge b[2] = { hh_sge(in[2].iova, 4 * BLK, HBA_SGE_DATA), hh_sge(in[3].iova, 4 * BLK, HBA_SGE_DATA) };
    struct hh_buf lb = hh_sgl(&H, b, 2);
    struct hba_sge a[3] = { hh_sge(in[0].iova, 4 * BLK, HBA_SGE_DATA), hh_sge(in[1].iova, 4 * BLK, HBA_SGE_DATA),
                            hh_sge(lb.iova, sizeof(b), HBA_SGE_SEGMENT) };
    struct hh_buf la = hh_sgl(&H, a, 3);
    ck_assert_int_eq(rw(false, 200, 16, hh_sge(la.iova, sizeof(a), HBA_SGE_SEGMENT), 16 * BLK, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 16 * BLK);
    for (int i = 0; i < 4; i++)
        ck_assert(memcmp(in[i].p, want + i * 4 * BLK, 4 * BLK) == 0);
}
END_TEST

/* n DATA SGEs of one block each in a single segment list. */
static int write_with_sges(unsigned n, struct hba_cq_entry *c)
{
    struct hh_buf data = hh_alloc(&H, (uint64_t)n * BLK, HBA_DMA_TO_DEVICE);
    fill(data.p, (size_t)n * BLK, n);
    struct hba_sge list[HBA_SGL_SEGMENT_MAX];
    for (unsigned i = 0; i < n; i++)
        list[i] = hh_sge(data.iova + (uint64_t)i * BLK, BLK, HBA_SGE_DATA);
    struct hh_buf l = hh_sgl(&H, list, n);
    return rw(true, 0, (uint16_t)n, hh_sge(l.iova, n * 16, HBA_SGE_SEGMENT), n * BLK, c);
}

START_TEST(max_sges_128_ok_129_too_many)
{
    struct hba_cq_entry c;
    ck_assert_uint_eq(HBA_CAPS_MAX_SGES(hh_rd(&H, HBA_REG_CAP_SGL)), 128);
    ck_assert_int_eq(write_with_sges(128, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 128 * BLK);
    ck_assert_int_eq(write_with_sges(129, &c), HBA_CS_SGL_TOO_MANY);
    ck_assert_uint_eq(c.result, 0);
}
END_TEST

START_TEST(sge_bytes_beyond_data_len_are_ignored)
{
    struct hh_buf data = hh_alloc(&H, 8 * BLK, HBA_DMA_TO_DEVICE);
    fill(data.p, 8 * BLK, 3);
    /* Second element is garbage but lies beyond data_len. */
    struct hba_sge list[2] = { hh_sge(data.iova, 8 * BLK, HBA_SGE_DATA), hh_sge(0, 0, 0x7) };
    struct hh_buf l = hh_sgl(&H, list, 2);
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 300, 4, hh_sge(l.iova, sizeof(list), HBA_SGE_SEGMENT), 4 * BLK, &c), HBA_CS_SUCCESS);
    expect_media(300, 4, data.p);
}
END_TEST

START_TEST(segment_entries_beyond_data_len_are_not_read)
{
    struct hh_buf data = hh_alloc(&H, 4 * BLK, HBA_DMA_TO_DEVICE);
    fill(data.p, 4 * BLK, 4);
    /* One mapped page; the list's last entry sits in its last 16 bytes and the
     * declared length runs into the next, unmapped page. */
    struct hh_buf page = hh_alloc_at(&H, 4096, HBA_DMA_TO_DEVICE, 0x30000000ull);
    struct hba_sge first = hh_sge(data.iova, 4 * BLK, HBA_SGE_DATA);
    memcpy(page.p + 4096 - 16, &first, sizeof(first));
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 600, 4, hh_sge(page.iova + 4096 - 16, 4 * 16, HBA_SGE_SEGMENT), 4 * BLK, &c),
                     HBA_CS_SUCCESS);
    expect_media(600, 4, data.p);
    struct hba_log_header hdr;
    ck_assert_uint_eq(sim_ctrl_fault_log(H.ctrl, 0, NULL, 0, &hdr), 0);
    ck_assert_uint_eq(hdr.total, 0);

    /* An entry straddling two mapped pages is read whole. */
    struct hh_buf two = hh_alloc_at(&H, 8192, HBA_DMA_TO_DEVICE, 0x31000000ull);
    struct hba_sge list[2] = { hh_sge(data.iova, 2 * BLK, HBA_SGE_DATA),
                               hh_sge(data.iova + 2 * BLK, 2 * BLK, HBA_SGE_DATA) };
    memcpy(two.p + 4096 - 24, list, sizeof(list));
    ck_assert_int_eq(rw(true, 700, 4, hh_sge(two.iova + 4096 - 24, 32, HBA_SGE_SEGMENT), 4 * BLK, &c),
                     HBA_CS_SUCCESS);
    expect_media(700, 4, data.p);
}
END_TEST

START_TEST(sgl_rule_violations)
{
    struct hh_buf d = hh_alloc(&H, 8 * BLK, HBA_DMA_BIDIRECTIONAL);
    struct hba_cq_entry c;
    /* Zero-length DATA SGE, inline and inside a list. */
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(d.iova, 0, HBA_SGE_DATA), BLK, &c), HBA_CS_SGL_ZERO_LENGTH);
    struct hba_sge z[2] = { hh_sge(d.iova, BLK, HBA_SGE_DATA), hh_sge(d.iova, 0, HBA_SGE_DATA) };
    struct hh_buf lz = hh_sgl(&H, z, 2);
    ck_assert_int_eq(rw(true, 0, 2, hh_sge(lz.iova, 32, HBA_SGE_SEGMENT), 2 * BLK, &c), HBA_CS_SGL_ZERO_LENGTH);
    /* Short: the SGEs describe less than data_len. */
    ck_assert_int_eq(rw(true, 0, 2, hh_sge(d.iova, BLK, HBA_SGE_DATA), 2 * BLK, &c), HBA_CS_SGL_SHORT);
    ck_assert_int_eq(rw(true, 0, 3, hh_sge(lz.iova, 16, HBA_SGE_SEGMENT), 3 * BLK, &c), HBA_CS_SGL_SHORT);
    /* Segment length not a multiple of 16, zero, above 256 entries. */
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(lz.iova, 20, HBA_SGE_SEGMENT), BLK, &c), HBA_CS_SGL_INVALID);
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(lz.iova, 0, HBA_SGE_SEGMENT), BLK, &c), HBA_CS_SGL_INVALID);
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(lz.iova, 257 * 16, HBA_SGE_SEGMENT), BLK, &c), HBA_CS_SGL_INVALID);
    /* Unknown type, inline and in a list. */
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(d.iova, BLK, 9), BLK, &c), HBA_CS_SGL_INVALID);
    struct hba_sge u[1] = { hh_sge(d.iova, BLK, 2) };
    struct hh_buf lu = hh_sgl(&H, u, 1);
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(lu.iova, 16, HBA_SGE_SEGMENT), BLK, &c), HBA_CS_SGL_INVALID);
    /* A SEGMENT in the middle of a list. */
    struct hba_sge m[3] = { hh_sge(d.iova, BLK, HBA_SGE_DATA), hh_sge(lu.iova, 16, HBA_SGE_SEGMENT),
                            hh_sge(d.iova, BLK, HBA_SGE_DATA) };
    struct hh_buf lm = hh_sgl(&H, m, 3);
    ck_assert_int_eq(rw(true, 0, 3, hh_sge(lm.iova, 48, HBA_SGE_SEGMENT), 3 * BLK, &c), HBA_CS_SGL_INVALID);
    /* data_len above CAP_MAX_XFER. */
    uint32_t max = hh_rd(&H, HBA_REG_CAP_MAX_XFER);
    ck_assert_int_eq(rw(true, 0, (uint16_t)(max / BLK + 1), hh_sge(d.iova, max + BLK, HBA_SGE_DATA), max + BLK, &c),
                     HBA_CS_XFER_TOO_LONG);
    /* The segment list itself is unmapped. */
    ck_assert_int_eq(rw(true, 0, 1, hh_sge(0x6000000000ull, 16, HBA_SGE_SEGMENT), BLK, &c),
                     HBA_CS_DATA_XFER_ERROR);
}
END_TEST

START_TEST(chain_deeper_than_cap_is_too_many)
{
    /* max_sgl_depth is 8: lists 1..9, each one DATA + SEGMENT to the next. */
    unsigned depth = HBA_CAPS_MAX_DEPTH(hh_rd(&H, HBA_REG_CAP_SGL));
    ck_assert_uint_eq(depth, 8);
    struct hh_buf d = hh_alloc(&H, 16 * BLK, HBA_DMA_TO_DEVICE);
    struct hba_cq_entry c;
    for (unsigned lists = depth; lists <= depth + 1; lists++) {
        uint64_t next = 0;
        for (unsigned i = lists; i-- > 0;) {
            struct hba_sge l[2] = { hh_sge(d.iova + i * BLK, BLK, HBA_SGE_DATA),
                                    hh_sge(next, 32, HBA_SGE_SEGMENT) };
            struct hh_buf b = hh_sgl(&H, l, next ? 2 : 1);
            next = b.iova;
        }
        int want = lists <= depth ? HBA_CS_SUCCESS : HBA_CS_SGL_TOO_MANY;
        ck_assert_int_eq(rw(true, 0, (uint16_t)lists, hh_sge(next, 32, HBA_SGE_SEGMENT), lists * BLK, &c), want);
    }
}
END_TEST

START_TEST(addr_bits_32_drops_high_address_lines)
{
    hh_close(&H);
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.addr_bits = 32;
    open_with(&cfg);

    /* The driver maps a buffer above 4 GiB; the controller drives only 32
     * address lines, so it reaches (iova mod 4 GiB) instead. */
    const uint64_t high = 0x100000000ull + 0x40000000ull;
    struct hh_buf far = hh_alloc_at(&H, 4 * BLK, HBA_DMA_BIDIRECTIONAL, high);
    struct hh_buf out = hh_alloc(&H, 4 * BLK, HBA_DMA_TO_DEVICE);
    fill(out.p, 4 * BLK, 5);
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 400, 4, hh_sge(out.iova, 4 * BLK, HBA_SGE_DATA), 4 * BLK, &c), HBA_CS_SUCCESS);

    /* Nothing is mapped at the truncated address: the read faults there. */
    ck_assert_int_eq(rw(false, 400, 4, hh_sge(far.iova, 4 * BLK, HBA_SGE_DATA), 4 * BLK, &c),
                     HBA_CS_DATA_XFER_ERROR);
    struct hba_iommu_fault f;
    struct hba_log_header hdr;
    ck_assert_uint_eq(sim_ctrl_fault_log(H.ctrl, 0, &f, 1, &hdr), 1);
    ck_assert_uint_eq(f.iova, high & 0xFFFFFFFFull);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_UNMAPPED);

    /* Something mapped at the truncated address receives the data instead. */
    struct hh_buf low = hh_alloc_at(&H, 4 * BLK, HBA_DMA_FROM_DEVICE, high & 0xFFFFFFFFull);
    ck_assert_int_eq(rw(false, 400, 4, hh_sge(far.iova, 4 * BLK, HBA_SGE_DATA), 4 * BLK, &c), HBA_CS_SUCCESS);
    ck_assert(memcmp(low.p, out.p, 4 * BLK) == 0);
    for (unsigned i = 0; i < 4 * BLK; i++)
        ck_assert_uint_eq(far.p[i], 0);
}
END_TEST

START_TEST(addr_bits_64_reaches_high_iovas)
{
    const uint64_t high = 0x100000000ull + 0x40000000ull;
    struct hh_buf far = hh_alloc_at(&H, 4 * BLK, HBA_DMA_BIDIRECTIONAL, high);
    fill(far.p, 4 * BLK, 6);
    uint8_t want[4 * BLK];
    memcpy(want, far.p, sizeof(want));
    struct hba_cq_entry c;
    ck_assert_int_eq(rw(true, 500, 4, hh_sge(far.iova, 4 * BLK, HBA_SGE_DATA), 4 * BLK, &c), HBA_CS_SUCCESS);
    expect_media(500, 4, want);
}
END_TEST

static int submit_raw(struct hba_sq_entry *e, struct hba_cq_entry *c)
{
    return hh_scsi(&H, 1, e, c);
}

START_TEST(malformed_entries_get_a_status)
{
    /* Bidirectional, so a wrong direction reaches the firmware's check
     * instead of faulting in the IOMMU first. */
    struct hh_buf in = hh_alloc(&H, 4096, HBA_DMA_BIDIRECTIONAL);
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    struct hba_sq_entry good = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(in.iova, 36, HBA_SGE_DATA));
    struct hba_sq_entry e;
    struct hba_cq_entry c;
#define EXPECT(mutation, status)                                                                                    \
    do {                                                                                                             \
        e = good;                                                                                                    \
        mutation;                                                                                                    \
        ck_assert_int_eq(submit_raw(&e, &c), status);                                                                \
    } while (0)
    EXPECT((void)0, HBA_CS_SUCCESS);
    EXPECT(e.opcode = 0x05, HBA_CS_INVALID_OPCODE);
    EXPECT(e.opcode = HBA_ADM_IDENTIFY, HBA_CS_INVALID_OPCODE);
    EXPECT(e.cdb_len = 0, HBA_CS_INVALID_FIELD);
    EXPECT(e.cdb_len = 5, HBA_CS_INVALID_FIELD);
    EXPECT(e.cdb_len = 17, HBA_CS_INVALID_FIELD);
    EXPECT(e.sense_len = 253, HBA_CS_INVALID_FIELD);
    EXPECT(e.initiator = HBA_MAX_INITIATORS, HBA_CS_INVALID_FIELD);
    EXPECT(e.flags = HBA_FLAG_DIR_READ | HBA_FLAG_DIR_WRITE, HBA_CS_INVALID_FIELD);
    EXPECT(e.flags = HBA_FLAG_DIR_READ | 0x80, HBA_CS_INVALID_FIELD);
    EXPECT(e.flags = HBA_FLAG_DIR_NONE, HBA_CS_INVALID_FIELD); /* data_len without a direction */
    EXPECT(e.target = 16, HBA_CS_INVALID_TARGET);
    EXPECT(e.lun = 8, HBA_CS_INVALID_TARGET);
    EXPECT(e.flags = HBA_FLAG_DIR_WRITE, HBA_CS_DIRECTION_MISMATCH);
    EXPECT(e.initiator = 63, HBA_CS_SUCCESS);
    EXPECT(e.sense_len = 252, HBA_CS_SUCCESS);
#undef EXPECT
    struct sim_ctrl_stats s;
    sim_ctrl_get_stats(H.ctrl, &s);
    ck_assert_uint_ge(s.driver_errors, 12);
    ck_assert_uint_eq(s.sim_bugs, 0);
}
END_TEST

START_TEST(missing_lun_answers_like_spc)
{
    struct hh_buf in = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    /* A LUN without a drive on a target that has one: SPC's answer. */
    struct hba_sq_entry e = hh_scsi_entry(0, 1, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(in.iova, 36, HBA_SGE_DATA));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(in.p[0] >> 5, SCSI_PQ_NOT_SUPPORTED);
    /* A target without any drive does not answer its selection. */
    e = hh_scsi_entry(3, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(in.iova, 36, HBA_SGE_DATA));
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_INVALID_TARGET);
}
END_TEST

START_TEST(duplicate_cid_in_one_batch_conflicts)
{
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 77;
    hh_put(&H, 1, &e);
    hh_put(&H, 1, &e);
    hh_doorbell(&H, 1); /* both visible at once: fetched in one pass */
    struct hba_cq_entry c[2];
    ck_assert(hh_wait_n(&H, 1, 2, c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c[0].cid, 77);
    ck_assert_uint_eq(c[1].cid, 77);
    int good = 0, conflict = 0;
    for (int i = 0; i < 2; i++) {
        good += c[i].ctrl_status == HBA_CS_SUCCESS;
        conflict += c[i].ctrl_status == HBA_CS_CID_CONFLICT;
    }
    ck_assert_int_eq(good, 1);
    ck_assert_int_eq(conflict, 1);
    /* Once completed, the id is free again. */
    struct hba_cq_entry d;
    e.cid = 77;
    hh_submit(&H, 1, &e);
    ck_assert(hh_wait_cqe(&H, 1, 77, &d, HH_TIMEOUT_MS));
    ck_assert_uint_eq(d.ctrl_status, HBA_CS_SUCCESS);
}
END_TEST

START_TEST(duplicate_of_a_lost_command_conflicts)
{
    ck_assert_int_eq(sim_ctrl_inject(H.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 9;
    hh_submit(&H, 1, &e);
    ck_assert(hh_wait_fetched(&H, 1));
    hh_submit(&H, 1, &e);
    struct hba_cq_entry c;
    ck_assert(hh_wait_cqe(&H, 1, 9, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_CID_CONFLICT);
}
END_TEST

START_TEST(sq_tail_beyond_queue_faults)
{
    hh_wr(&H, HBA_REG_SQ_TAIL(1), 64); /* the queue has 64 entries: 0..63 */
    ck_assert(hh_wait_state(&H, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_FAULT_CODE), HBA_FAULT_DOORBELL);
}
END_TEST

START_TEST(cq_head_beyond_queue_faults)
{
    hh_wr(&H, HBA_REG_CQ_HEAD(1), 1000);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 1;
    hh_submit(&H, 1, &e); /* posting its completion reads the bad head */
    ck_assert(hh_wait_state(&H, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_FAULT_CODE), HBA_FAULT_DOORBELL);
}
END_TEST

START_TEST(doorbell_of_a_missing_queue_is_ignored)
{
    hh_wr(&H, HBA_REG_SQ_TAIL(5), 3000);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&H, HBA_REG_STATUS)), HBA_STATE_OPERATIONAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, inquiry_end_to_end);
    tcase_add_test(tc, write_then_read_inline);
    tcase_add_test(tc, sense_is_written_for_check_condition);
    tcase_add_test(tc, power_on_unit_attention_reaches_host_memory);
    tcase_add_test(tc, segment_list_and_chains);
    tcase_add_test(tc, max_sges_128_ok_129_too_many);
    tcase_add_test(tc, sge_bytes_beyond_data_len_are_ignored);
    tcase_add_test(tc, segment_entries_beyond_data_len_are_not_read);
    tcase_add_test(tc, sgl_rule_violations);
    tcase_add_test(tc, chain_deeper_than_cap_is_too_many);
    tcase_add_test(tc, addr_bits_32_drops_high_address_lines);
    tcase_add_test(tc, addr_bits_64_reaches_high_iovas);
    tcase_add_test(tc, malformed_entries_get_a_status);
    tcase_add_test(tc, missing_lun_answers_like_spc);
    tcase_add_test(tc, duplicate_cid_in_one_batch_conflicts);
    tcase_add_test(tc, duplicate_of_a_lost_command_conflicts);
    tcase_add_test(tc, sq_tail_beyond_queue_faults);
    tcase_add_test(tc, cq_head_beyond_queue_faults);
    tcase_add_test(tc, doorbell_of_a_missing_queue_is_ignored);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
