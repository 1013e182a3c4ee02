/* core/sgl.h — scatter-gather lists for the SSIM-1, built within the HBA's
 * constraints.  Pure functions: no osal, no controller; the caller hands in
 * the IOVA segments of a prepared buffer and the memory for segment lists.
 *
 * How a command's data is described (hw/hba.h, "Data"):
 *   1 DATA SGE       inline in the submission entry;
 *   n > 1 SGEs       the inline SGE is a SEGMENT pointing at list 0; a list
 *                    holds up to 256 SGEs and, when more follow, its last
 *                    element is a SEGMENT chaining to the next list.  So L
 *                    lists carry at most 255 * L + 1 DATA SGEs.
 *
 * The limits (struct sgl_limits, from CAP_SGL / CAP_MAX_XFER):
 *   max_sges    DATA SGEs per command      -> too many: bounce
 *   max_depth   lists per command          -> too deep: bounce
 *   addr_bits   the controller's address lines: an SGE that reaches at or
 *               above 2^addr_bits would be DMA'd elsewhere -> bounce
 *   max_bytes   bytes per command          -> split (READ/WRITE) or reject
 * sgl_check says which limit a slice breaks; sgl_build writes the SGL. */
#ifndef CORE_SGL_H
#define CORE_SGL_H

#include <stdint.h>

#include "core/osal.h"
#include "hw/hba.h"

/* Longest single DATA SGE the builder emits (a longer segment becomes several
 * SGEs).  Page-aligned so a split segment keeps page-aligned pieces. */
#define SGL_SGE_MAX_LEN 0xFFFFF000u

/* DATA SGEs one list carries when another list follows it. */
#define SGL_PER_CHAINED_LIST (HBA_SGL_SEGMENT_MAX - 1u)

struct sgl_limits {
    uint32_t max_sges;   /* DATA SGEs per command (>= 1) */
    uint32_t max_depth;  /* segment lists per command (0: only an inline DATA SGE) */
    uint32_t addr_bits;  /* 32..64 */
    uint64_t max_bytes;  /* bytes per command */
};

/* Memory for one command's segment lists: `lists` lists of
 * HBA_SGL_SEGMENT_MAX entries, consecutive for the CPU (list l at
 * cpu + 256 * l), each mapped HBA_DMA_TO_DEVICE at its own IOVA (a chain
 * element may point anywhere, so only each list must be contiguous). */
struct sgl_space {
    struct hba_sge *cpu;
    const uint64_t *list_iova;
    uint32_t lists;
};

enum sgl_verdict {
    SGL_OK = 0,
    SGL_TOO_MANY,        /* more DATA SGEs than max_sges, or more lists than max_depth: bounce */
    SGL_ADDR_TOO_HIGH,   /* a byte at or above 2^addr_bits: bounce */
    SGL_TOO_LONG,        /* the slice is longer than max_bytes: split or reject */
    SGL_ZERO_LENGTH,     /* a zero-length segment: the caller's bug */
    SGL_SHORT,           /* the segments end before the slice does: the caller's bug */
    SGL_NO_SPACE,        /* sgl_build: the lists do not fit in the space given */
};
const char *sgl_verdict_name(enum sgl_verdict v);

/* Merges segments that continue each other in IOVA space (in place, keeping
 * order); returns the new count.  Never merges past SGL_SGE_MAX_LEN. */
uint32_t sgl_coalesce(struct osal_dma_segment *seg, uint32_t nseg);

/* DATA SGEs one command can carry through `depth` lists: 1 for depth 0,
 * otherwise 255 * depth + 1. */
uint32_t sgl_capacity(uint32_t depth);
/* Segment lists n DATA SGEs need (0 for n <= 1). */
uint32_t sgl_lists_needed(uint32_t n);

/* Checks bytes [off, off + len) of the concatenated segments against lim.
 * *n_sges (may be NULL) receives the DATA SGEs the slice needs.  len 0 is OK
 * and needs no SGE. */
enum sgl_verdict sgl_check(const struct osal_dma_segment *seg, uint32_t nseg, uint64_t off, uint64_t len,
                           const struct sgl_limits *lim, uint32_t *n_sges);

/* Writes the SGL for bytes [off, off + len): the inline SGE into *inline_sge
 * and any lists into space.  It checks only what makes the SGL well-formed
 * (no zero lengths, enough segments, enough space), not lim: call sgl_check
 * first.  *lists_used (may be NULL) receives the lists written.  len 0
 * writes a zeroed inline SGE. */
enum sgl_verdict sgl_build(const struct osal_dma_segment *seg, uint32_t nseg, uint64_t off, uint64_t len,
                           const struct sgl_space *space, struct hba_sge *inline_sge, uint32_t *lists_used);

#endif
