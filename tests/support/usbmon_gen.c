/* tests/support/usbmon_gen.c — see usbmon_gen.h. */
#include "tests/support/usbmon_gen.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

void ugen_open(struct ugen *g, const char *path, int dlt)
{
    memset(g, 0, sizeof *g);
    g->dlt = dlt;
    g->bus = 2;
    g->dev = 5;
    g->id = 0xffff8880aa000000ull;
    g->snap = 1u << 20;
    g->dead = pcap_open_dead(dlt, 262144);
    ck_assert_ptr_nonnull(g->dead);
    g->d = pcap_dump_open(g->dead, path);
    ck_assert_msg(g->d != NULL, "%s", pcap_geterr(g->dead));
}

void ugen_close(struct ugen *g)
{
    pcap_dump_close(g->d);
    pcap_close(g->dead);
}

void ugen_event(struct ugen *g, char type, uint8_t xfer, uint8_t ep, uint64_t id, int32_t status, uint32_t urb_len,
                const void *data, uint32_t data_len, const uint8_t *setup)
{
    static uint8_t pkt[64 + 70000];
    pcap_usb_header_mmapped h;
    memset(&h, 0, sizeof h);
    h.id = id;
    h.event_type = (uint8_t)type;
    h.transfer_type = xfer;
    h.endpoint_number = ep;
    h.device_address = g->dev;
    h.bus_id = g->bus;
    h.setup_flag = setup ? 0 : '-';
    h.data_flag = data_len ? 0 : type == 'S' ? '<' : '>';
    h.ts_sec = 1700000000 + (int64_t)(g->usec / 1000000);
    h.ts_usec = (int32_t)(g->usec % 1000000);
    h.status = status;
    h.urb_len = urb_len;
    uint32_t kept = data_len < g->snap ? data_len : g->snap;
    ck_assert_uint_le(kept, 70000);
    h.data_len = kept;
    if (setup)
        memcpy(&h.s.setup, setup, 8);
    uint32_t hl = g->dlt == DLT_USB_LINUX ? 48 : 64;
    memcpy(pkt, &h, hl);
    if (kept)
        memcpy(pkt + hl, data, kept);
    struct pcap_pkthdr ph = { .caplen = hl + kept, .len = hl + data_len };
    ph.ts.tv_sec = (time_t)h.ts_sec;
    ph.ts.tv_usec = h.ts_usec;
    g->usec += 125;
    pcap_dump((u_char *)g->d, &ph, pkt);
}

uint64_t ugen_urb(struct ugen *g)
{
    return ++g->id;
}

void ugen_bulk_submit(struct ugen *g, uint64_t id, uint8_t ep, const void *data, uint32_t len)
{
    bool in = ep & 0x80;
    ugen_event(g, 'S', URB_BULK, ep, id, -115, len, in ? NULL : data, in ? 0 : len, NULL);
}

void ugen_bulk_complete(struct ugen *g, uint64_t id, uint8_t ep, const void *data, uint32_t actual, int32_t status)
{
    bool in = ep & 0x80;
    ugen_event(g, 'C', URB_BULK, ep, id, status, actual, in ? data : NULL, in ? actual : 0, NULL);
}

void ugen_bulk(struct ugen *g, uint8_t ep, const void *data, uint32_t len, uint32_t actual, int32_t status)
{
    uint64_t id = ugen_urb(g);
    ugen_bulk_submit(g, id, ep, data, len);
    ugen_bulk_complete(g, id, ep, data, actual, status);
}
