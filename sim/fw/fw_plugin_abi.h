/* sim/fw/fw_plugin_abi.h — the door through which a firmware team puts its own
 * firmware's behaviour into the simulated controller (`--firmware PATH.so`,
 * or `firmware = PATH` in [controller]).  docs/firmware-plugins.md has a
 * worked example; examples/firmware-relink/ is a complete plug-in.
 *
 * A plug-in is a shared object that exports ONE symbol,
 *     const struct scsisim_fw_plugin *scsisim_fw_plugin(void);
 * returning a table: command rows (new opcodes, vendor-unique C0h-FFh
 * included, new service actions, or overrides of built-in commands), VPD
 * pages, mode pages, and optional per-drive open/close hooks.  The plug-in
 * reaches the drive (its media through the write-back cache, the sense
 * builder) only through the struct scsisim_fw_api table scsisim hands every
 * handler: it links against nothing of scsisim, and this header includes
 * nothing of scsisim either.
 *
 * Versioning.  abi_version is SCSISIM_FW_PLUGIN_ABI_VERSION as the plug-in
 * was compiled; scsisim refuses any other (exit 2 at load).  table_size and
 * row_size let a later minor revision append fields: scsisim refuses a table
 * or row smaller than it needs.  The api table carries its own version and
 * size, so a plug-in can check what it was handed.
 *
 * Threading.  Every handler and hook runs under the firmware's lock, one at a
 * time per controller, so the plug-in's per-drive state needs no locking of
 * its own.  Handlers must return promptly: they must not sleep, block, or
 * keep a pointer to the command, its CDB or its buffers after returning.
 *
 * Build out of tree against the installed headers:
 *     cc -shared -fPIC -fvisibility=hidden -o myfw.so myfw.c $(pkg-config --cflags scsisim)
 *     scsisim run --firmware ./myfw.so my.trace
 * and mark scsisim_fw_plugin SCSISIM_FW_EXPORT.
 */
#ifndef SIM_FW_FW_PLUGIN_ABI_H
#define SIM_FW_FW_PLUGIN_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCSISIM_FW_PLUGIN_ABI_VERSION 1u
/* The one symbol a plug-in exports. */
#define SCSISIM_FW_PLUGIN_SYMBOL "scsisim_fw_plugin"
#define SCSISIM_FW_EXPORT __attribute__((visibility("default")))

/* Sense bytes a handler may return (SPC: 252 at most). */
#define SCSISIM_FW_SENSE_MAX 252u
/* The most rows of each kind a plug-in may have. */
#define SCSISIM_FW_MAX_COMMANDS   64u
#define SCSISIM_FW_MAX_VPD_PAGES  16u
#define SCSISIM_FW_MAX_MODE_PAGES 8u

/* What a handler may return: a SAM status.  Anything else is a plug-in bug,
 * answered HARDWARE ERROR 44h/00h (docs/firmware-plugins.md). */
enum scsisim_fw_status {
    SCSISIM_FW_GOOD                 = 0x00,
    SCSISIM_FW_CHECK_CONDITION      = 0x02, /* with sense_len 8..SCSISIM_FW_SENSE_MAX */
    SCSISIM_FW_BUSY                 = 0x08,
    SCSISIM_FW_RESERVATION_CONFLICT = 0x18,
    SCSISIM_FW_TASK_SET_FULL        = 0x28,
};

/* Which way a command's data flows. */
enum scsisim_fw_dir {
    SCSISIM_FW_DIR_NONE = 0,
    SCSISIM_FW_DIR_IN   = 1,  /* data-in: the handler fills data[] */
    SCSISIM_FW_DIR_OUT  = 2,  /* data-out: the handler reads data[] */
};

/* The checks scsisim makes before the handler runs (docs/firmware-plugins.md,
 * in the order of sim/fw/fw.h "HOW fw_execute DECIDES"). */
enum scsisim_fw_cmd_flag {
    SCSISIM_FW_CMD_SA          = 1u << 0, /* byte 1 bits 4..0 (the service action) select this row */
    SCSISIM_FW_CMD_SKIPS_UA    = 1u << 1, /* neither reports nor clears a unit attention */
    SCSISIM_FW_CMD_NEEDS_READY = 1u << 2, /* NOT READY while the drive becomes ready or is stopped */
    SCSISIM_FW_CMD_WRITES      = 1u << 3, /* DATA PROTECT on a write-protected drive */
    SCSISIM_FW_CMD_MEDIA       = 1u << 4, /* LBA at lba_off/lba_width, the length field counts
                                             blocks: LBA OUT OF RANGE checked, data = blocks * size */
};

struct scsisim_fw_drive;   /* opaque: scsisim's drive */

/* What a plug-in may know about a drive. */
struct scsisim_fw_drive_info {
    uint16_t target, lun;
    uint64_t blocks;          /* capacity reported now */
    uint32_t block_size;
    const char *vendor, *product, *revision, *serial;
};

/* One command as the handler sees it. */
struct scsisim_fw_cmd {
    const struct scsisim_fw_api *api;
    struct scsisim_fw_drive *drive;           /* for the api's calls */
    const struct scsisim_fw_drive_info *info;
    void    *drive_state;     /* what drive_open stored for this drive (NULL without it) */
    void    *row_state;       /* the row's state pointer (per-command state of the plug-in) */
    uint16_t initiator;       /* the I_T nexus */
    const uint8_t *cdb;
    uint8_t  cdb_len;
    uint8_t  dir;             /* enum scsisim_fw_dir, the row's */
    uint64_t lba, blocks;     /* SCSISIM_FW_CMD_MEDIA: the parsed fields */
    uint64_t length;          /* the CDB's length field (bytes, or blocks with MEDIA) */
    uint32_t max_xfer;        /* bytes the handler may produce (data-in: the smaller of the
                                 allocation length and the buffer) or consume (data-out) */
    uint8_t *data;            /* the task's buffer, data_len bytes (NULL when 0) */
    uint32_t data_len;
    /* out */
    uint32_t xfer;            /* bytes produced (data-in) or consumed (data-out); <= max_xfer */
    uint32_t sense_len;       /* with CHECK CONDITION: bytes of sense[] */
    uint8_t  sense[SCSISIM_FW_SENSE_MAX];
};

/* What scsisim offers a handler.  Every call takes the command it runs for. */
struct scsisim_fw_api {
    uint32_t abi_version;     /* SCSISIM_FW_PLUGIN_ABI_VERSION */
    uint32_t table_size;      /* sizeof(struct scsisim_fw_api) */
    /* The drive's media through its write-back cache, exactly as the
     * built-in READ and WRITE go (durable: written through, as FUA).  0,
     * -ERANGE (blocks beyond the capacity), -EIO (a medium error) or another
     * -errno. */
    int (*read)(struct scsisim_fw_cmd *c, uint64_t lba, uint32_t blocks, void *buf);
    int (*write)(struct scsisim_fw_cmd *c, uint64_t lba, uint32_t blocks, const void *buf, bool durable);
    int (*flush)(struct scsisim_fw_cmd *c, uint64_t lba, uint64_t blocks); /* blocks 0: to the end */
    /* The sense builder: fills c->sense (fixed or descriptor format, as the
     * drive's D_SENSE says) and c->sense_len; returns SCSISIM_FW_CHECK_CONDITION
     * so a handler can `return api->sense(c, 0x05, 0x24, 0x00);`. */
    int (*sense)(struct scsisim_fw_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq);
    /* ILLEGAL REQUEST, INVALID FIELD IN CDB (in_cdb) or IN PARAMETER LIST,
     * with the field pointer (bit -1: no bit pointer). */
    int (*invalid_field)(struct scsisim_fw_cmd *c, bool in_cdb, uint16_t byte, int bit);
    /* A store error from read/write/flush as the built-in commands answer it:
     * -EIO is MEDIUM ERROR (11h/00h reading, 0Ch/00h writing) with lba in
     * INFORMATION, anything else HARDWARE ERROR 44h/00h. */
    int (*store_error)(struct scsisim_fw_cmd *c, int err, bool writing, uint64_t lba);
    /* A line on the controller's log (stderr), prefixed with the plug-in's name. */
    void (*log)(struct scsisim_fw_cmd *c, const char *msg);
};

/* One command.  Rows are matched before the built-in table: a row with a
 * built-in opcode (and service action) overrides that command. */
struct scsisim_fw_command {
    const char *name;         /* for logs, e.g. "RELINK" */
    uint8_t  opcode;
    uint8_t  sa;              /* with SCSISIM_FW_CMD_SA */
    uint8_t  cdb_len;         /* 6, 10, 12 or 16 */
    uint8_t  dir;             /* enum scsisim_fw_dir */
    uint32_t flags;           /* enum scsisim_fw_cmd_flag */
    uint8_t  len_off, len_width; /* the allocation / parameter list / transfer length
                                    field (width 0..4; 0: none) */
    uint8_t  fixed_len;       /* data-in bytes when there is no length field */
    uint8_t  lba_off, lba_width; /* with SCSISIM_FW_CMD_MEDIA (width 1..8) */
    /* CDB usage data: the bits a CDB may set.  Any other bit set is answered
     * INVALID FIELD IN CDB with the field pointer before the handler runs, and
     * REPORT SUPPORTED OPERATION CODES returns these bytes.  usage[0] = FFh. */
    uint8_t  usage[16];
    int    (*handler)(struct scsisim_fw_cmd *c);   /* returns enum scsisim_fw_status */
    void    *state;           /* handed to the handler as row_state */
};

/* What a page builder sees. */
struct scsisim_fw_page_ctx {
    const struct scsisim_fw_drive_info *info;
    void *drive_state;
    uint8_t page_control;     /* mode pages: 0 current, 1 changeable, 2 default, 3 saved */
};

/* A VPD page of INQUIRY (EVPD=1): build writes the page's bytes AFTER its
 * 4-byte header (scsisim writes the header) into buf and returns how many,
 * at most cap.  A row with a built-in page code replaces that page; VPD 00h
 * (the list) is scsisim's and lists every page. */
struct scsisim_fw_vpd_page {
    uint8_t page;
    size_t (*build)(const struct scsisim_fw_page_ctx *p, uint8_t *buf, size_t cap);
};

/* A mode page MODE SENSE returns (read-only: MODE SELECT of it is refused
 * with INVALID FIELD IN PARAMETER LIST).  build writes the whole page, its
 * header (page code, PAGE LENGTH) included, and returns its length, at most cap. */
struct scsisim_fw_mode_page {
    uint8_t page;             /* 01h..3Eh, not 08h or 0Ah (scsisim's, changeable) */
    size_t (*build)(const struct scsisim_fw_page_ctx *p, uint8_t *buf, size_t cap);
};

struct scsisim_fw_plugin {
    uint32_t abi_version;     /* SCSISIM_FW_PLUGIN_ABI_VERSION */
    uint32_t table_size;      /* sizeof(struct scsisim_fw_plugin) */
    uint32_t row_size;        /* sizeof(struct scsisim_fw_command) */
    const char *name;         /* shown in logs and errors, e.g. "acme fw 2.1" */
    const struct scsisim_fw_command *commands;
    size_t command_count;
    const struct scsisim_fw_vpd_page *vpd_pages;
    size_t vpd_page_count;
    const struct scsisim_fw_mode_page *mode_pages;
    size_t mode_page_count;
    /* Optional.  drive_open runs once for each drive when the controller is
     * created (0, or a negative errno: the controller is not created);
     * drive_close when it is destroyed.  power_on after each power cycle
     * (a power cut, then power on). */
    int  (*drive_open)(const struct scsisim_fw_drive_info *info, void **drive_state);
    void (*drive_close)(void *drive_state);
    void (*power_on)(void *drive_state);
};

typedef const struct scsisim_fw_plugin *(*scsisim_fw_plugin_fn)(void);

#endif
