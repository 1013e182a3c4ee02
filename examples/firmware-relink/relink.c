/* examples/firmware-relink/relink.c — a firmware plug-in (sim/fw/fw_plugin_abi.h)
 * with a vendor-unique RELINK command, and field bug F6 in it.
 *
 * The drive has a link (think of a drive's link to its enclosure, or a
 * mirror's link to its partner) that can drop; the vendor tool sends RELINK
 * to bring it back.  Vendor commands of this plug-in:
 *   C1h RELINK       (6 bytes, no data)  flushes the cache, re-establishes the link
 *   C2h LINK DROP    (6 bytes, no data)  drops the link: the test hook that
 *                                        stands for the link going down
 *   VPD page C0h     LINK STATUS: byte 4 bit 0 LINKED, bytes 6-7 RELINK COUNT
 *   mode page 20h    LINK (read-only): byte 2 bit 0 LINKED
 *
 * Built twice (Makefile): relink-fixed.so, and relink-buggy.so with
 * -DRELINK_F6_BUG, which reproduces F6 as it was seen in the field: RELINK
 * answers GOOD, but the drive stays unlinked.  The firmware decided whether
 * to relink from the link state it cached at power on (linked), not from
 * the link as it is now; so it skipped the work and reported success.
 * relink.trace passes on the fixed plug-in and fails on the buggy one.
 *
 *   cc -shared -fPIC -fvisibility=hidden -o relink-fixed.so relink.c $(pkg-config --cflags scsisim)
 *   scsisim run --firmware ./relink-fixed.so relink.trace
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fw/fw_plugin_abi.h"

/* Per-drive state: the plug-in's, allocated by drive_open. */
struct link_state {
    bool     linked;              /* the link as it is now */
    bool     linked_at_power_on;  /* what the firmware saw when it came up */
    uint16_t relinks;             /* RELINK commands that re-established the link */
};

static int drive_open(const struct scsisim_fw_drive_info *info, void **state)
{
    (void)info;
    struct link_state *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->linked = s->linked_at_power_on = true;
    *state = s;
    return 0;
}

static void drive_close(void *state)
{
    free(state);
}

static void power_on(void *state)
{
    struct link_state *s = state;
    s->linked = s->linked_at_power_on = true;   /* the link comes up with the drive */
}

static int relink(struct scsisim_fw_cmd *c)
{
    struct link_state *s = c->drive_state;
#ifdef RELINK_F6_BUG
    /* F6: the power-on snapshot says "linked", so the relink is skipped,
     * and the command still succeeds. */
    if (s->linked_at_power_on)
        return SCSISIM_FW_GOOD;
#endif
    /* What the partner will see must be on the media first. */
    int rc = c->api->flush(c, 0, 0);
    if (rc < 0)
        return c->api->store_error(c, rc, true, 0);
    s->linked = true;
    s->relinks++;
    return SCSISIM_FW_GOOD;
}

static int link_drop(struct scsisim_fw_cmd *c)
{
    struct link_state *s = c->drive_state;
    s->linked = false;
    return SCSISIM_FW_GOOD;
}

static size_t vpd_link_status(const struct scsisim_fw_page_ctx *p, uint8_t *buf, size_t cap)
{
    const struct link_state *s = p->drive_state;
    if (cap < 4)
        return 0;
    buf[0] = s->linked ? 0x01 : 0x00;
    buf[1] = 0;
    buf[2] = (uint8_t)(s->relinks >> 8);
    buf[3] = (uint8_t)s->relinks;
    return 4;
}

static size_t mode_link(const struct scsisim_fw_page_ctx *p, uint8_t *buf, size_t cap)
{
    const struct link_state *s = p->drive_state;
    if (cap < 4)
        return 0;
    buf[0] = 0x20;                     /* PS 0: not savable */
    buf[1] = 2;                        /* PAGE LENGTH */
    /* changeable values: none; every other page control: the link now */
    buf[2] = p->page_control != 1 && s->linked ? 0x01 : 0x00;
    buf[3] = 0;
    return 4;
}

#define CTL 0xc0   /* CONTROL: vendor bits may be set, NACA and LINK may not */

static const struct scsisim_fw_command commands[] = {
    { .name = "RELINK", .opcode = 0xc1, .cdb_len = 6, .dir = SCSISIM_FW_DIR_NONE,
      .flags = SCSISIM_FW_CMD_NEEDS_READY, .usage = { 0xff, 0, 0, 0, 0, CTL }, .handler = relink },
    { .name = "LINK DROP", .opcode = 0xc2, .cdb_len = 6, .dir = SCSISIM_FW_DIR_NONE,
      .usage = { 0xff, 0, 0, 0, 0, CTL }, .handler = link_drop },
};

static const struct scsisim_fw_vpd_page vpd_pages[] = {
    { .page = 0xc0, .build = vpd_link_status },
};

static const struct scsisim_fw_mode_page mode_pages[] = {
    { .page = 0x20, .build = mode_link },
};

static const struct scsisim_fw_plugin plugin = {
    .abi_version = SCSISIM_FW_PLUGIN_ABI_VERSION,
    .table_size = sizeof(struct scsisim_fw_plugin),
    .row_size = sizeof(struct scsisim_fw_command),
#ifdef RELINK_F6_BUG
    .name = "relink example (F6 bug)",
#else
    .name = "relink example",
#endif
    .commands = commands,
    .command_count = sizeof commands / sizeof commands[0],
    .vpd_pages = vpd_pages,
    .vpd_page_count = sizeof vpd_pages / sizeof vpd_pages[0],
    .mode_pages = mode_pages,
    .mode_page_count = sizeof mode_pages / sizeof mode_pages[0],
    .drive_open = drive_open,
    .drive_close = drive_close,
    .power_on = power_on,
};

SCSISIM_FW_EXPORT const struct scsisim_fw_plugin *scsisim_fw_plugin(void);
SCSISIM_FW_EXPORT const struct scsisim_fw_plugin *scsisim_fw_plugin(void)
{
    return &plugin;
}
