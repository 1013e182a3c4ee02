/* sim/ctrl/ctrl_sgl.c — DMA through the IOMMU with the controller's address lines,
 * and scatter-gather lists: walking DATA / SEGMENT elements under the rules of
 * hw/hba.h, then moving data between a bounce buffer and host memory.
 *
 * Segment list entries are copied into firmware memory once, then parsed;
 * nothing the driver wrote is read twice, and entries beyond data_len are not
 * read at all.  Only CAP_SGL.ADDR_BITS address lines exist:
 * higher bits are dropped before the IOMMU sees an address (field bug F7). */
#include <stdlib.h>
#include <string.h>

#include "sim/ctrl/ctrl_internal.h"

uint8_t *ctrl_buffer(uint8_t **buf, size_t *cap, size_t need)
{
    if (need > *cap || !*buf) {
        size_t n = need ? need : 1;
        uint8_t *p = realloc(*buf, n);
        if (!p)
            return NULL;
        *buf = p;
        *cap = n;
    }
    return *buf;
}

static int dma_verdict(struct sim_ctrl *c, enum sim_dma_result r)
{
    switch (r) {
    case SIM_DMA_OK:
    case SIM_DMA_DROPPED: /* the controller cannot tell: it carries on (field bug F2) */
        return HBA_CS_SUCCESS;
    case SIM_DMA_ABORTED:
        return HBA_CS_DATA_XFER_ERROR;
    case SIM_DMA_FATAL:
        ctrl_fault(c, HBA_FAULT_IOMMU);
        return CTRL_CS_FAULTED;
    }
    ctrl_sim_bug(c, "IOMMU returned unknown result %d", (int)r);
    ctrl_fault(c, HBA_FAULT_INTERNAL);
    return CTRL_CS_FAULTED;
}

int ctrl_dma_read(struct sim_ctrl *c, uint64_t iova, void *dst, size_t len, uint16_t sqid, uint16_t cid)
{
    struct sim_dma_ctx ctx = { .cid = cid, .sq_id = sqid };
    return dma_verdict(c, sim_iommu_dma_read(c->iommu, iova & c->addr_mask, dst, len, ctx));
}

int ctrl_dma_write(struct sim_ctrl *c, uint64_t iova, const void *src, size_t len, uint16_t sqid, uint16_t cid)
{
    struct sim_dma_ctx ctx = { .cid = cid, .sq_id = sqid };
    return dma_verdict(c, sim_iommu_dma_write(c->iommu, iova & c->addr_mask, src, len, ctx));
}

/* Copies the next entries of a segment list (starting at entry idx) into
 * list[idx..]: up to the end of the IOMMU page the first of them lies in, so
 * that entries beyond data_len are never read (they may well be unmapped),
 * while each entry is still read exactly once.  Returns the entries loaded
 * (at least 1) or a negative status (-HBA_CS_* or -CTRL_CS_FAULTED). */
static int load_entries(struct sim_ctrl *c, uint64_t list_addr, size_t idx, size_t n, struct hba_sge *list,
                        uint16_t sqid, uint16_t cid)
{
    uint64_t at = (list_addr + idx * sizeof(struct hba_sge)) & c->addr_mask;
    size_t k = (HBA_IOMMU_PAGE_SIZE - at % HBA_IOMMU_PAGE_SIZE) / sizeof(struct hba_sge);
    if (k == 0)
        k = 1; /* an entry straddling two pages needs both */
    if (k > n - idx)
        k = n - idx;
    int rc = ctrl_dma_read(c, at, &list[idx], k * sizeof(struct hba_sge), sqid, cid);
    return rc == HBA_CS_SUCCESS ? (int)k : -rc;
}

int ctrl_sgl_walk(struct sim_ctrl *c, const struct hba_sge *first, uint32_t data_len, uint16_t sqid, uint16_t cid,
                  struct ctrl_sgl *out)
{
    struct hba_sge list[HBA_SGL_SEGMENT_MAX];
    size_t idx = 0, n = 1, loaded = 1; /* the current list, its length, entries copied so far */
    uint64_t list_addr = 0;
    unsigned depth = 0;

    out->seg = c->fw_state.segs;
    out->nseg = 0;
    out->len = 0;
    if (data_len == 0)
        return HBA_CS_SUCCESS;
    if (data_len > c->cfg.max_xfer)
        return HBA_CS_XFER_TOO_LONG;
    list[0] = *first;

    while (out->len < data_len) {
        if (idx == n)
            return HBA_CS_SGL_SHORT;
        if (idx == loaded) {
            int k = load_entries(c, list_addr, idx, n, list, sqid, cid);
            if (k < 0)
                return -k;
            loaded += (size_t)k;
        }
        const struct hba_sge s = list[idx];
        if (s.type == HBA_SGE_DATA) {
            if (s.length == 0)
                return HBA_CS_SGL_ZERO_LENGTH;
            if (out->nseg == c->cfg.max_sges)
                return HBA_CS_SGL_TOO_MANY;
            uint32_t take = s.length < data_len - out->len ? s.length : data_len - out->len;
            out->seg[out->nseg++] = (struct ctrl_seg){ .addr = s.addr, .len = take };
            out->len += take;
            idx++;
        } else if (s.type == HBA_SGE_SEGMENT) {
            if (idx != n - 1)
                return HBA_CS_SGL_INVALID; /* only the last element may chain */
            if (s.length == 0 || s.length % sizeof(struct hba_sge) ||
                s.length / sizeof(struct hba_sge) > HBA_SGL_SEGMENT_MAX)
                return HBA_CS_SGL_INVALID;
            if (++depth > c->cfg.max_sgl_depth)
                return HBA_CS_SGL_TOO_MANY;
            list_addr = s.addr;
            n = s.length / sizeof(struct hba_sge);
            idx = loaded = 0;
        } else {
            return HBA_CS_SGL_INVALID;
        }
    }
    return HBA_CS_SUCCESS;
}

int ctrl_sgl_copy_in(struct sim_ctrl *c, const struct ctrl_sgl *sgl, uint8_t *dst, uint32_t len, uint16_t sqid,
                     uint16_t cid)
{
    uint32_t done = 0;
    for (size_t i = 0; i < sgl->nseg && done < len; i++) {
        uint32_t n = sgl->seg[i].len < len - done ? sgl->seg[i].len : len - done;
        int rc = ctrl_dma_read(c, sgl->seg[i].addr, dst + done, n, sqid, cid);
        if (rc != HBA_CS_SUCCESS)
            return rc;
        done += n;
    }
    return HBA_CS_SUCCESS;
}

int ctrl_sgl_copy_out(struct sim_ctrl *c, const struct ctrl_sgl *sgl, const uint8_t *src, uint32_t len,
                      uint16_t sqid, uint16_t cid)
{
    uint32_t done = 0;
    for (size_t i = 0; i < sgl->nseg && done < len; i++) {
        uint32_t n = sgl->seg[i].len < len - done ? sgl->seg[i].len : len - done;
        int rc = ctrl_dma_write(c, sgl->seg[i].addr, src + done, n, sqid, cid);
        if (rc != HBA_CS_SUCCESS)
            return rc;
        done += n;
    }
    return HBA_CS_SUCCESS;
}
