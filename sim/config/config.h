/* sim/config/config.h — what a simulated controller is made of: its capabilities and
 * its logical drives.  Filled with defaults by sim_config_init(), then from the
 * command line (sim_config_apply_option) and/or a configuration file
 * (sim_config_load_file); the file format is documented in docs/config.md. */
#ifndef SIM_CONFIG_CONFIG_H
#define SIM_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "base/located.h"
#include "hw/hba.h"

#define SIM_MAX_TARGETS_LIMIT 256u
#define SIM_MAX_LUNS_LIMIT    256u

/* One logical drive (a target/LUN the firmware exports). */
struct sim_lu_config {
    uint16_t target, lun;
    uint64_t blocks;         /* capacity in logical blocks (> 0), default 512 MiB worth */
    uint32_t block_size;     /* 512 or 4096, default 512 */
    char     vendor[9];      /* INQUIRY T10 vendor, <= 8 ASCII chars, default "SCSISIM" */
    char     product[17];    /* <= 16, default "SIM DISK" */
    char     revision[5];    /* <= 4, default "0001" */
    char     serial[21];     /* unit serial number, VPD 80h; <= 20; "" (default) = derived from target/lun */
    bool     write_cache;    /* WCE default (caching mode page, default and saved values); default true */
    enum hba_battery battery;/* battery-backed cache: absent (default) / good / failed */
    uint32_t ready_ms;       /* NOT READY (04h/01h) this long after power on; default 0 */
    uint32_t sanitize_ms;    /* a SANITIZE runs this long (NOT READY 04h/1Bh with progress meanwhile); default 0 */
    bool     write_protect;  /* DATA PROTECT (27h/00h) on writes; SWP and WP reported; default false */
    uint32_t physical_block_size; /* READ CAPACITY (16) exponent; 0 (default) = block_size, else 512/4096 >= it */
    bool     thin;           /* thin provisioned (LBPME, LBPRZ, UNMAP, WRITE SAME UNMAP); default false */
    uint32_t queue_depth;    /* task set size: a command that finds this many of the LU's commands
                                held gets TASK SET FULL; 0 (default) = no limit */
    char    *media_path;     /* sparse media file; NULL (default) = sparse memory.  Owned (malloc). */
    uint64_t cache_bytes;    /* write-back cache capacity for dirty lines, default 16 MiB */
    bool     removable;      /* removable medium (RMB): PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT
                                LOEJ ejects and loads; default false */
    uint8_t  protection;     /* protection information the drive is formatted with: 0 (default) none,
                                1..3 T10-DIF type 1..3 (8-byte tuple per block; fw_pi.c) */
};

struct sim_config {
    /* capabilities (CAP_* registers) */
    uint32_t max_targets;        /* 1..SIM_MAX_TARGETS_LIMIT, default 16 */
    uint32_t max_luns;           /* 1..SIM_MAX_LUNS_LIMIT, default 8 */
    uint32_t max_io_queues;      /* 1..HBA_MAX_QUEUES-1, default 8 */
    uint32_t max_queue_entries;  /* 2..4096, default 1024 */
    uint32_t vectors;            /* 1..HBA_MAX_VECTORS, default 9 (admin + 8) */
    uint32_t max_sges;           /* default 128 */
    uint32_t max_sgl_depth;      /* segment lists per command, default 8 */
    uint32_t addr_bits;          /* 32..64, default 64 */
    uint32_t max_xfer;           /* bytes per command, default 512 KiB */
    uint32_t target_ports;       /* 1..HBA_MAX_TARGET_PORTS: ports (multipath), each its own target
                                    port group, all active/optimized; default 1 */
    /* platform */
    enum hba_iommu_policy iommu_policy; /* default ABORT */
    uint64_t host_ram_bytes;     /* size of the shared host RAM pool, default 256 MiB */
    bool     poll;               /* firmware busy-polls doorbells instead of parking; default false */
    bool     reorder;            /* post each batch's completions in a seeded random order
                                    (out-of-order completion, CAP OOO bit); default true */
    uint32_t init_ms;            /* time in state RESET after power on / hard reset, default 20 */
    uint32_t tick_ms;            /* the firmware's own timer when no doorbell wakes it, default 10 */
    uint64_t seed;               /* for every random choice the simulator makes; default 1 */
    /* media files (sim/store/media_file.h); settable by a configuration file or the
       command line, never by a trace */
    char    *media_dir;          /* where media names resolve; NULL = a private temporary
                                    directory.  Owned (malloc). */
    uint64_t media_max;          /* largest file media in bytes, default 4 TiB */
    bool     media_force;        /* an existing file that is not ours may be used; default off */
    /* firmware plug-in (sim/fw/fw_plugin_abi.h); like the media keys, never set by a trace */
    char    *firmware;           /* path of a shared object; NULL = the built-in firmware only.
                                    Owned (malloc). */
    /* fault rules (sim/fault/fault.h), the `fault` key: one rule per line,
       checked when set; NULL = none.  Owned (malloc). */
    char    *faults;
    /* logical drives */
    size_t   lu_count;
    struct sim_lu_config *lus;   /* owned (malloc) */
    bool     lus_are_default;    /* still sim_config_init's one drive: the first drive a file
                                    or option defines replaces it (cleared by any change) */
};


/* Defaults: the capabilities above and one drive, 0:0, 512 MiB of 512-byte blocks. */
void sim_config_init(struct sim_config *cfg);
void sim_config_free(struct sim_config *cfg);
/* Defaults for a drive at target:lun (not added anywhere). */
void sim_lu_config_init(struct sim_lu_config *lu, uint16_t target, uint16_t lun);
/* Adds (or, for an existing target:lun, returns) a drive; NULL on allocation failure. */
struct sim_lu_config *sim_config_lu(struct sim_config *cfg, uint16_t target, uint16_t lun);
/* Removes every drive (a file or option that lists drives replaces the default one). */
void sim_config_clear_lus(struct sim_config *cfg);
/* The drive at target:lun, or NULL. */
const struct sim_lu_config *sim_config_find_lu(const struct sim_config *cfg, uint16_t target, uint16_t lun);
/* Deep copy (drives and media paths) into an uninitialised dst.  0 or -ENOMEM
 * (dst is then empty but safe to free). */
int sim_config_copy(struct sim_config *dst, const struct sim_config *src);

/* Loads a configuration file over cfg (unchanged on failure).  0, or a
 * negative errno with *err filled (err may be NULL): -EINVAL for bad input,
 * fopen's -errno (-ENOENT, -EACCES, ...) for a file that cannot be opened,
 * -errno of a read error, -ENOMEM. */
int sim_config_load_file(struct sim_config *cfg, const char *path, struct located_error *err);
/* Applies one command-line setting "key=value" (controller keys) or
 * "drive=T:L,key=value,..." (a drive); cfg is unchanged on failure.  0, or
 * -EINVAL (bad input) / -ENOMEM with *err filled (err may be NULL). */
int sim_config_apply_option(struct sim_config *cfg, const char *setting, struct located_error *err);
/* The same for a setting from untrusted input (a trace): the media-dir,
 * media-max and media-force keys are refused. */
int sim_config_apply_untrusted(struct sim_config *cfg, const char *setting, struct located_error *err);
/* The media defaults sim_config_init gives every new configuration (the
 * command line's --media-dir, --media-max, --force, set once at start-up before
 * configurations are built; a run's traces get them this way).  dir is copied;
 * NULL: a private temporary directory; max 0: the default. */
int sim_config_set_media_defaults(const char *dir, uint64_t max, bool force);
/* The firmware plug-in sim_config_init gives every new configuration (the
 * command line's --firmware, set once at start-up).  path is copied; NULL or
 * "": none.  0 or -ENOMEM. */
int sim_config_set_firmware_default(const char *path);
/* A copy of cfg (into uninitialised out) whose media names are full paths
 * under the media directory, after checking each against media_file.h's rules
 * (form, symlinks, ours or media-force, media-max).  0, or -errno with err
 * filled ("drive T:L: ..."); out is then empty but safe to free. */
int sim_config_media_prepare(const struct sim_config *cfg, struct sim_config *out, char *err, size_t errlen);
/* Checks cross-field rules (drive addresses within max_targets/max_luns, unique
 * drives, sizes).  0, or -EINVAL with *err filled (err may be NULL). */
int sim_config_validate(const struct sim_config *cfg, struct located_error *err);
/* Writes cfg in the file format (parse → print → parse is the identity).
 * 0, or -errno when writing failed. */
int sim_config_print(const struct sim_config *cfg, FILE *out);

#endif
