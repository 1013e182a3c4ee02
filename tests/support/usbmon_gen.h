/* tests/support/usbmon_gen.h — writing Linux usbmon captures with libpcap's
 * writer (pcap_open_dead + pcap_dump_open), event for event as usbmon
 * records them: a submission ('S': an OUT transfer's data) and a completion
 * ('C': the bytes moved, an IN transfer's data, the URB status).  No machine
 * here has a USB mass storage device to capture; tests/test_capture_usb.c
 * (Bulk-Only) and tests/test_capture_uas.c (UAS) write what it would. */
#ifndef TESTS_SUPPORT_USBMON_GEN_H
#define TESTS_SUPPORT_USBMON_GEN_H

#include <stdint.h>

#include <pcap/pcap.h>
#include <pcap/usb.h>

struct ugen {
    pcap_t *dead;
    pcap_dumper_t *d;
    int dlt;          /* DLT_USB_LINUX (48-byte header) or DLT_USB_LINUX_MMAPPED (64) */
    uint64_t usec, id;
    uint16_t bus;
    uint8_t dev;
    uint32_t snap;    /* data bytes kept per event (usbmon's or the snap length's limit) */
};

/* Creates the capture at path: bus 2, device 5, 125 us between events. */
void ugen_open(struct ugen *g, const char *path, int dlt);
void ugen_close(struct ugen *g);

/* One usbmon event; setup: a control transfer's 8 setup bytes. */
void ugen_event(struct ugen *g, char type, uint8_t xfer, uint8_t ep, uint64_t id, int32_t status, uint32_t urb_len,
                const void *data, uint32_t data_len, const uint8_t *setup);

/* A fresh URB id. */
uint64_t ugen_urb(struct ugen *g);
/* The two halves of a bulk transfer on endpoint ep (80h: IN), for tests that
 * interleave them: the submission (OUT: with its data; IN: asking for len),
 * and the completion (OUT: actual moved; IN: the data). */
void ugen_bulk_submit(struct ugen *g, uint64_t id, uint8_t ep, const void *data, uint32_t len);
void ugen_bulk_complete(struct ugen *g, uint64_t id, uint8_t ep, const void *data, uint32_t actual, int32_t status);
/* Both halves at once. */
void ugen_bulk(struct ugen *g, uint8_t ep, const void *data, uint32_t len, uint32_t actual, int32_t status);

#endif
