/* tests/support/hba_harness.h — a minimal raw test "driver" on top of sim_ctrl and
 * the bus: power on, wait for READY, allocate host RAM and map it, program the
 * admin queue, enable, create I/O queue pairs, submit entries, and wait for
 * completions by command id with phase tracking.  Failures of the harness
 * itself are Check assertions; what the controller answers is returned for
 * the test to assert on. */
#ifndef TESTS_SUPPORT_HBA_HARNESS_H
#define TESTS_SUPPORT_HBA_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/bus.h"
#include "sim/sim.h"
#include "tests/support/testutil.h"

#define HH_IOVA_BASE   0x10000000ull /* IOVA of host RAM offset 0 (below 4 GiB) */
#define HH_TIMEOUT_MS  ((int)TESTUTIL_PATIENCE_MS) /* failure detector, not a timing assertion */
#define HH_STASH       4096u

struct hh_buf {
    uint8_t *p;        /* this process's view */
    uint64_t ram;      /* offset in host RAM */
    uint64_t iova;
    uint64_t len;
};

struct hh_queue {
    bool     live;
    uint32_t size, cq_size;
    struct hh_buf sq, cq;
    uint32_t sq_tail, cq_head;
    uint8_t  phase;
    uint16_t next_cid;
    struct hba_cq_entry *stash; /* completions seen while waiting for another cid */
    size_t   nstash;
};

struct hh {
    struct sim_config cfg;
    struct sim_ctrl *ctrl;
    struct bus *bus;
    uint8_t *ram;
    uint64_t ram_size, ram_next;
    struct hh_queue q[HBA_MAX_QUEUES];
};

/* Test defaults: sim_config_init with 32 MiB of host RAM, a short init and
 * drive 0:0 of 8192 blocks. */
void hh_config(struct sim_config *cfg);
/* Creates the controller from cfg (NULL: hh_config defaults; cfg is taken over
 * and freed by hh_close), attaches a bus, powers on.  Does not wait. */
void hh_open(struct hh *h, struct sim_config *cfg);
void hh_close(struct hh *h);
/* hh_open + wait READY + hh_enable(32) + I/O pair 1 (64 entries, vector 1). */
void hh_open_ready(struct hh *h, struct sim_config *cfg);

uint32_t hh_rd(struct hh *h, uint32_t off);
void     hh_wr(struct hh *h, uint32_t off, uint32_t val);
/* Waits until (reg & mask) == want; false on timeout. */
bool hh_wait_reg(struct hh *h, uint32_t off, uint32_t mask, uint32_t want, int timeout_ms);
bool hh_wait_state(struct hh *h, enum hba_state s);
/* Waits until HEARTBEAT differs from `from`; false on timeout. */
bool hh_wait_heartbeat(struct hh *h, uint32_t from, int timeout_ms);

/* Host RAM, page aligned and zeroed; mapped at HH_IOVA_BASE + offset, or at
 * iova (hh_alloc_at), or not at all (hh_alloc_unmapped). */
struct hh_buf hh_alloc(struct hh *h, uint64_t len, enum hba_dma_dir dir);
struct hh_buf hh_alloc_at(struct hh *h, uint64_t len, enum hba_dma_dir dir, uint64_t iova);
struct hh_buf hh_alloc_unmapped(struct hh *h, uint64_t len);
void hh_unmap(struct hh *h, const struct hh_buf *b);

/* Allocates and maps the admin queue and programs AQ_*; does not enable. */
void hh_program_aq(struct hh *h, uint32_t entries);
/* hh_program_aq, CONFIG.EN = 1, wait for RDY; false if it did not come. */
bool hh_enable(struct hh *h, uint32_t entries);
/* After a controller reset and re-enable: the admin queue restarts at index 0
 * in the same memory; the I/O queues are gone. */
void hh_restart_admin(struct hh *h);
/* Forgets the harness's queue state (after a controller or hard reset). */
void hh_forget_queues(struct hh *h);
/* Writes the four reset keys and DIAG.HARD_RESET. */
void hh_hard_reset(struct hh *h);

/* Creates CQ qid then SQ qid; returns the first non-zero controller status,
 * 0 on success.  hh_create_pair uses `entries` for both. */
int hh_create_queues(struct hh *h, uint16_t qid, uint32_t sq_entries, uint32_t cq_entries, uint16_t vector,
                     uint32_t cq_flags);
int hh_create_pair(struct hh *h, uint16_t qid, uint32_t entries, uint16_t vector, uint32_t cq_flags);

uint16_t hh_cid(struct hh *h, uint16_t qid);
/* Copies e to the SQ tail; hh_submit also rings the doorbell. */
void hh_put(struct hh *h, uint16_t qid, const struct hba_sq_entry *e);
void hh_doorbell(struct hh *h, uint16_t qid);
void hh_submit(struct hh *h, uint16_t qid, const struct hba_sq_entry *e);
/* Waits until the firmware fetched everything submitted on qid and parked
 * (it publishes SQ_EVENT_IDX = its head before parking); false on timeout. */
bool hh_wait_fetched(struct hh *h, uint16_t qid);
/* Next completion in CQ order (stashed ones first); false if none now. */
bool hh_poll_cqe(struct hh *h, uint16_t qid, struct hba_cq_entry *out);
/* Completion for cid; false on timeout. */
bool hh_wait_cqe(struct hh *h, uint16_t qid, uint16_t cid, struct hba_cq_entry *out, int timeout_ms);
/* Waits for n completions in arrival order into out[]; false on timeout. */
bool hh_wait_n(struct hh *h, uint16_t qid, size_t n, struct hba_cq_entry *out, int timeout_ms);

/* Submits on the admin queue and waits: returns the controller status. */
int hh_admin(struct hh *h, struct hba_sq_entry *e, struct hba_cq_entry *out);
struct hba_sq_entry hh_admin_entry(uint8_t opcode, uint32_t cdw0, uint32_t cdw1, uint32_t cdw2, uint32_t cdw3);

static inline struct hba_sge hh_sge(uint64_t addr, uint32_t len, uint8_t type)
{
    struct hba_sge s = { .addr = addr, .length = len, .type = type };
    return s;
}
/* Writes n SGEs into a new TO_DEVICE buffer. */
struct hh_buf hh_sgl(struct hh *h, const struct hba_sge *list, size_t n);

struct hba_sq_entry hh_scsi_entry(uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
                                  uint32_t data_len, struct hba_sge sge);
/* Submits a SCSI entry on qid (cid assigned) and waits: returns ctrl_status. */
int hh_scsi(struct hh *h, uint16_t qid, struct hba_sq_entry *e, struct hba_cq_entry *out);

/* CDB builders. */
void hh_cdb_rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks);
void hh_cdb_inquiry(uint8_t cdb[6], uint16_t alloc);

#endif
