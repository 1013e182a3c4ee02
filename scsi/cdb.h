/* scsi/cdb.h — the one CDB decoder of the project (driver core, firmware, tests): READ/WRITE
 * decoding and re-encoding (to split a transfer longer than the HBA takes into
 * several commands by LBA), and recognising the commands the core treats
 * specially.  Pure functions over CDB bytes. */
#ifndef SCSI_CDB_H
#define SCSI_CDB_H

#include <stdbool.h>
#include <stdint.h>

/* A READ or WRITE (6), (10), (12) or (16). */
struct cdb_rw {
    bool     write;
    bool     fua;
    uint64_t lba;
    uint32_t blocks; /* READ/WRITE (6) length 0 means 256 blocks */
};
/* Decodes cdb (len bytes) if it is a READ or WRITE (6/10/12/16). */
bool cdb_parse_rw(const uint8_t *cdb, uint8_t len, struct cdb_rw *out);
/* Copies cdb into out (len bytes) with the LBA and transfer length replaced.
 * 0, or -ERANGE when lba or blocks do not fit the CDB's fields, -EINVAL when
 * cdb is not a READ/WRITE. */
int  cdb_rw_retarget(const uint8_t *cdb, uint8_t len, uint64_t lba, uint32_t blocks, uint8_t *out);

/* How a READ/WRITE longer than max_bytes becomes several commands. */
struct cdb_split {
    uint32_t block_size;   /* requested bytes / blocks */
    uint32_t chunk_blocks; /* blocks per command (the last one may be shorter) */
    uint32_t chunks;
};
/* 0, or -EINVAL when the byte count does not divide into the CDB's blocks,
 * -E2BIG when one block is already longer than max_bytes. */
int  cdb_split_plan(const struct cdb_rw *rw, uint64_t requested, uint64_t max_bytes, struct cdb_split *out);

bool cdb_is_sync_cache(const uint8_t *cdb, uint8_t len);
bool cdb_is_mode_sense(const uint8_t *cdb, uint8_t len);
/* WRITE (10) or (16) with FUA set. */
bool cdb_write_has_fua(const uint8_t *cdb, uint8_t len);
/* Clears FUA in a WRITE (10)/(16) — only the F5B mutant does this. */
void cdb_clear_write_fua(uint8_t *cdb, uint8_t len);

/* In MODE SENSE (6)/(10) parameter data of len bytes, finds the caching mode
 * page (08h) and returns its offset, or -1. */
long cdb_mode_caching_page(const uint8_t *cdb, const uint8_t *data, uint64_t len);

#endif
