/* tests/support/fw_harness.h — what the firmware tests share: a configuration built by
 * hand, one call per SCSI command, and assertions on status and sense that do
 * not depend on the sense format. */
#ifndef TESTS_SUPPORT_FW_HARNESS_H
#define TESTS_SUPPORT_FW_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/sense.h"
#include "sim/config/config.h"
#include "sim/fw/fw.h"

/* An empty configuration of max_targets x max_luns (fields filled by hand). */
void fwh_config_init(struct sim_config *cfg, uint32_t max_targets, uint32_t max_luns);
/* Adds a drive: vendor "SCSISIM", product "FWTEST", revision "1.0", WCE on,
 * no battery, ready at once, not write protected, 1 MiB cache. */
struct sim_lu_config *fwh_add_lu(struct sim_config *cfg, uint16_t target, uint16_t lun,
                                 uint64_t blocks, uint32_t block_size);
void fwh_config_free(struct sim_config *cfg);
/* fw_create that must succeed. */
struct fw *fwh_create(const struct sim_config *cfg);
/* One drive 0:0 of `blocks` 512-byte blocks; power-on UAs of initiators 0 and 1 consumed. */
struct fw *fwh_simple(uint64_t blocks);

/* Runs one command; data may be NULL when len is 0. */
void fwh_run(struct fw *fw, struct fw_task *t, uint16_t initiator, uint16_t target, uint16_t lun,
             const uint8_t *cdb, uint8_t cdb_len, uint8_t dir, void *data, uint32_t len);
/* Shorthand for initiator 0, drive 0:0. */
void fwh_run0(struct fw *fw, struct fw_task *t, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
              void *data, uint32_t len);

/* Assertions (Check): GOOD, or CHECK CONDITION with key/asc/ascq. */
void fwh_expect_good(const struct fw_task *t);
void fwh_expect_sense(const struct fw_task *t, uint8_t key, uint8_t asc, uint8_t ascq);
/* CHECK CONDITION 05h/24h/00h (CDB) or 26h/00h (parameters) pointing at byte/bit (bit -1: none). */
void fwh_expect_invalid_cdb(const struct fw_task *t, uint16_t byte, int bit);
void fwh_expect_invalid_param(const struct fw_task *t, uint16_t byte, int bit);
/* Parsed sense of a CHECK CONDITION (asserts it parses). */
struct scsi_sense_info fwh_sense(const struct fw_task *t);

/* Issues TEST UNIT READY until no unit attention is left for the nexus. */
void fwh_drain_ua(struct fw *fw, uint16_t initiator, uint16_t target, uint16_t lun);

/* CDB builders. */
void fwh_cdb_rw10(uint8_t *cdb, uint8_t opcode, uint32_t lba, uint16_t blocks, uint8_t flags);
void fwh_cdb_rw16(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t blocks, uint8_t flags);
/* Adds 1 to the big-endian counter at the start of block 0 of LU 0:0 as
 * initiator: READ(10), then COMPARE AND WRITE(16) of the old value with the
 * new.  True when it landed; false after a failed read or a miscompare (a
 * racing thread's update came in between), for the caller to try again. */
bool fwh_caw_increment(struct fw *fw, uint16_t initiator);
/* Writes / reads blocks with WRITE(10)/READ(10) on drive 0:0 from initiator 0; asserts GOOD. */
void fwh_write(struct fw *fw, uint32_t lba, uint16_t blocks, const void *buf, uint32_t block_size, bool fua);
void fwh_read(struct fw *fw, uint32_t lba, uint16_t blocks, void *buf, uint32_t block_size);

#endif
