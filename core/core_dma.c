/* core/core_dma.c — DMA for the core: its own buffers (queues, sense,
 * segment lists, admin data) and each task's data, prepared with the right
 * direction and within the HBA's address lines, or bounced (see the "Data
 * handling" comment in core/core.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/drv_mutant.h"

int dma_get(struct drv_core *core, uint64_t length, enum hba_dma_dir dir, struct drv_dma *d)
{
    memset(d, 0, sizeof *d);
    int rc = osal_dma_alloc(core->os, length, HBA_IOMMU_PAGE_SIZE, &d->buf);
    if (rc < 0)
        return rc;
    rc = osal_dma_prepare(core->os, d->buf, 0, length, dir, core->lim.addr_bits, &d->map);
    if (rc < 0) {
        osal_dma_free(core->os, d->buf);
        d->buf = NULL;
        return rc;
    }
    d->mapped = true;
    return 0;
}

void dma_put(struct drv_core *core, struct drv_dma *d)
{
    if (d->mapped)
        osal_dma_complete(core->os, &d->map);
    if (d->buf)
        osal_dma_free(core->os, d->buf);
    memset(d, 0, sizeof *d);
}

bool dma_iova(const struct drv_dma *d, uint64_t off, uint64_t len, uint64_t *iova)
{
    if (!d->mapped)
        return false;
    uint64_t at = 0;
    for (uint32_t i = 0; i < d->map.nseg && i < 8; i++) {
        const struct osal_dma_segment *s = &d->map.seg[i];
        if (off >= at && off - at < s->length) {
            if (len > s->length - (off - at))
                return false; /* straddles two IOVA pieces */
            *iova = s->iova + (off - at);
            return true;
        }
        at += s->length;
    }
    return false;
}

enum hba_dma_dir io_dma_dir(const struct drv_task *t)
{
    if (t->dir == DRV_DIR_FROM_TARGET)
        return DRV_MUTANT(F2) ? HBA_DMA_TO_DEVICE : HBA_DMA_FROM_DEVICE; /* the device writes data-in */
    return HBA_DMA_TO_DEVICE;
}

/* Calls fn on each stretch of host memory covering [off, off + len) of the
 * task's data. */
static void each_piece(const struct drv_io *io, uint64_t off, uint64_t len,
                       void (*fn)(uint8_t *host, uint64_t at, uint64_t n, void *arg), void *arg)
{
    uint64_t at = 0;
    for (uint32_t i = 0; i < io->t.piece_count && len; i++) {
        const struct drv_buffer_piece *p = &io->pieces[i];
        if (off >= p->length) {
            off -= p->length;
            continue;
        }
        uint64_t n = p->length - off < len ? p->length - off : len;
        fn((uint8_t *)p->buf->vaddr + p->offset + off, at, n, arg);
        at += n;
        len -= n;
        off = 0;
    }
}

static void copy_in(uint8_t *host, uint64_t at, uint64_t n, void *arg)
{
    memcpy((uint8_t *)arg + at, host, n);
}

static void copy_out(uint8_t *host, uint64_t at, uint64_t n, void *arg)
{
    memcpy(host, (const uint8_t *)arg + at, n);
}

void io_copy_to_pieces(struct drv_io *io, uint64_t off, const uint8_t *src, uint64_t len)
{
    each_piece(io, off, len, copy_out, (void *)src);
}

void io_copy_from_pieces(const struct drv_io *io, uint64_t off, uint8_t *dst, uint64_t len)
{
    each_piece(io, off, len, copy_in, dst);
}

static uint64_t largest_chunk(const struct drv_io *io)
{
    if (!io->split)
        return io->t.requested_transfer;
    return (uint64_t)io->plan.chunk_blocks * io->plan.block_size;
}

static void unmap_pieces(struct drv_core *core, struct drv_io *io)
{
    for (uint32_t i = 0; i < io->nmaps; i++)
        osal_dma_complete(core->os, &io->maps[i]);
    if (io->maps != io->map_store)
        free(io->maps);
    io->maps = NULL;
    io->nmaps = 0;
    if (io->segs != io->seg_store)
        free(io->segs);
    io->segs = NULL;
    io->nsegs = 0;
}

/* Maps every piece (up to the requested bytes) and gathers the IOVA segments.
 * -ENOSPC: the OS cannot map them within the address lines (bounce). */
static int map_pieces(struct drv_core *core, struct drv_io *io, enum hba_dma_dir dir, unsigned bits)
{
    uint64_t left = io->t.requested_transfer;
    /* A task of a few pieces uses its own storage: no allocation per command. */
    bool inline_ok = io->t.piece_count <= DRV_IO_INLINE_PIECES;
    io->maps = inline_ok ? io->map_store : calloc(io->t.piece_count, sizeof *io->maps);
    io->segs = inline_ok ? io->seg_store : calloc((size_t)io->t.piece_count * 8u, sizeof *io->segs);
    if (!io->maps || !io->segs)
        return -ENOMEM;
    for (uint32_t i = 0; i < io->t.piece_count && left; i++) {
        const struct drv_buffer_piece *p = &io->pieces[i];
        uint64_t len = p->length < left ? p->length : left;
        /* Pieces that continue each other in one buffer are one mapping. */
        while (len < left && i + 1 < io->t.piece_count && io->pieces[i + 1].buf == p->buf &&
               io->pieces[i + 1].offset == p->offset + len) {
            const struct drv_buffer_piece *next = &io->pieces[++i];
            len += next->length < left - len ? next->length : left - len;
        }
        struct osal_dma_mapping *m = &io->maps[io->nmaps];
        int rc = osal_dma_prepare(core->os, p->buf, p->offset, len, dir, bits, m);
        if (rc < 0)
            return rc;
        io->nmaps++;
        uint64_t covered = 0;
        for (uint32_t s = 0; s < m->nseg && s < 8; s++) {
            io->segs[io->nsegs++] = m->seg[s];
            covered += m->seg[s].length;
        }
        if (covered != len) {
            osal_log(core->os, OSAL_LOG_ERROR, "drv: the OS mapped %llu of %llu bytes of a buffer piece",
                     (unsigned long long)covered, (unsigned long long)len);
            return -EIO;
        }
        left -= len;
    }
    io->nsegs = sgl_coalesce(io->segs, io->nsegs);
    return 0;
}

/* Whether every command of the task can describe its slice of the segments. */
static enum sgl_verdict check_chunks(const struct drv_core *core, const struct drv_io *io)
{
    uint64_t total = io->t.requested_transfer, step = largest_chunk(io);
    for (uint64_t off = 0; off < total; off += step) {
        uint64_t len = total - off < step ? total - off : step;
        enum sgl_verdict v = sgl_check(io->segs, io->nsegs, off, len, &core->lim, NULL);
        if (v != SGL_OK)
            return v;
    }
    return SGL_OK;
}

static int prepare_bounce(struct drv_core *core, struct drv_io *io, enum hba_dma_dir dir)
{
    uint64_t len = largest_chunk(io);
    int rc = dma_get(core, len, dir, &io->bounce_mem);
    if (rc < 0)
        return rc;
    io->bounce = true;
    io->segs = io->seg_store; /* 8 segments: DRV_IO_INLINE_PIECES * 8 hold them */
    for (uint32_t s = 0; s < io->bounce_mem.map.nseg && s < 8; s++)
        io->segs[io->nsegs++] = io->bounce_mem.map.seg[s];
    io->nsegs = sgl_coalesce(io->segs, io->nsegs);
    enum sgl_verdict v = sgl_check(io->segs, io->nsegs, 0, len, &core->lim, NULL);
    if (v != SGL_OK) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: even the bounce buffer breaks the HBA constraints: %s",
                 sgl_verdict_name(v));
        return -E2BIG;
    }
    core->stats.bounced_tasks++;
    return 0;
}

int io_dma_prepare(struct drv_core *core, struct drv_io *io)
{
    if (io->dma_ready || io->t.requested_transfer == 0) {
        io->dma_ready = true;
        return 0;
    }
    enum hba_dma_dir dir = io_dma_dir(&io->t);
    /* F5: the IOVAs are taken wherever the OS puts them and passed through. */
    unsigned bits = DRV_MUTANT(F5) ? 64u : core->lim.addr_bits;
    int rc = map_pieces(core, io, dir, bits);
    if (rc == 0 && !DRV_MUTANT(F5)) {
        enum sgl_verdict v = check_chunks(core, io);
        if (v == SGL_TOO_MANY || v == SGL_ADDR_TOO_HIGH)
            rc = -ENOSPC;
        else if (v != SGL_OK)
            rc = -EINVAL;
    }
    if (rc == -ENOSPC) {
        unmap_pieces(core, io);
        rc = prepare_bounce(core, io, dir);
    }
    if (rc < 0) {
        io_dma_release(core, io);
        return rc;
    }
    io->dma_ready = true;
    return 0;
}

void io_dma_release(struct drv_core *core, struct drv_io *io)
{
    unmap_pieces(core, io);
    if (io->bounce || io->bounce_mem.buf)
        dma_put(core, &io->bounce_mem);
    io->bounce = false;
    io->dma_ready = false;
}
