/* sim/config/config_internal.h — what the configuration modules share and nobody else
 * needs: the table of keys (one row per settable field: name, type, range,
 * where it lives), the value parsers, and error reporting with a location.
 *
 * One table serves parsing, printing, validation and the documentation's key
 * list, so a key cannot be parseable but unprintable, or printed but unchecked.
 */
#ifndef SIM_CONFIG_CONFIG_INTERNAL_H
#define SIM_CONFIG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/config/config.h"

enum cfg_scope {
    CFG_CONTROLLER, /* a field of struct sim_config, section [controller] */
    CFG_DRIVE,      /* a field of struct sim_lu_config, section [drive T:L] */
};

enum cfg_type {
    CFG_U32,        /* integer (decimal or 0x hex) */
    CFG_U64,
    CFG_SIZE32,     /* bytes, optional binary suffix K M G T P; stored in a uint32_t */
    CFG_SIZE64,     /* the same, stored in a uint64_t */
    CFG_BOOL,       /* on/off, true/false, yes/no, 1/0 */
    CFG_MS,         /* duration: N (milliseconds), Nms or Ns; stored in a uint32_t */
    CFG_POLICY,     /* abort | drop | fatal */
    CFG_BATTERY,    /* absent | good | failed */
    CFG_PROTECTION, /* off | type1 | type2 | type3 (uint8_t 0..3) */
    CFG_TEXT,       /* printable ASCII into a char[size] */
    CFG_PATH,       /* malloc'ed char *, "" = none */
    CFG_MEDIA,      /* a media name (CFG_PATH, relative, no ".."; media_file.h) */
    CFG_BLOCK_SIZE, /* 512 | 4096 (uint32_t) */
    CFG_CAPACITY,   /* drive bytes: resolved with block-size at the end of the drive */
    CFG_BLOCKS,     /* drive blocks: likewise */
};

struct cfg_key {
    const char    *name;
    enum cfg_scope scope;
    enum cfg_type  type;
    size_t         offset;  /* of the field in its struct */
    size_t         size;    /* CFG_TEXT: array size (room for the NUL) */
    uint64_t       min, max;
    uint64_t       align;   /* sizes: must be a multiple of this (0 = any) */
    const char    *help;    /* what it is, for messages */
    bool           trusted; /* only a configuration file or the command line may set it */
};

#define CFG_KEYS_MAX 64 /* so a section can track the keys it set in one uint64_t */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_key_count;

/* Where input comes from, for error messages. */
struct cfg_ctx {
    struct located_error *err;
    const char *file;   /* "" for a command-line option */
    unsigned line;      /* 0 for a command-line option */
    bool untrusted;     /* a trace's setting: trusted keys are refused */
};

/* Fills ctx->err (when not NULL) with the place and message; returns -EINVAL
 * (the input is wrong). */
int cfg_fail(const struct cfg_ctx *ctx, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a failure that is not the input's fault; returns rc (-ENOMEM,
 * -errno of a read). */
int cfg_fail_rc(const struct cfg_ctx *ctx, int rc, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const struct cfg_key *cfg_key_find(enum cfg_scope scope, const char *name);
/* The key of `scope` closest to `name` when it is close enough to be a typo. */
const struct cfg_key *cfg_key_suggest(enum cfg_scope scope, const char *name);
/* Edit distance, for "did you mean" on keys and section names. */
unsigned cfg_edit_distance(const char *a, const char *b);

/* Value parsers.  `v` is the value text, `col` the column of its first byte.
 * Each returns 0, or -EINVAL with an error naming `key`, what was expected and
 * how to fix it. */
int cfg_parse_uint(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t min,
                   uint64_t max, uint64_t *out);
int cfg_parse_size(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t min,
                   uint64_t max, uint64_t *out);
int cfg_parse_ms(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t max,
                 uint32_t *out);
int cfg_parse_bool(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, bool *out);
int cfg_parse_block_size(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col,
                         uint32_t *out);

/* Sets a key whose value needs no other key (every type but CAPACITY and
 * BLOCKS) in `base` (a struct sim_config or struct sim_lu_config).  0, or
 * -EINVAL / -ENOMEM with ctx->err filled. */
int cfg_key_set(const struct cfg_ctx *ctx, const struct cfg_key *k, void *base, const char *v, unsigned col);
/* Prints a key's value as the file format writes it ("" when it has none). */
void cfg_key_format(const struct cfg_key *k, const void *base, char *buf, size_t len);

/* The checks a media name gets when it is set: its form (sim_media_name_check)
 * and, with cfg's media directory given, what is there now. */
int cfg_media_check(const struct cfg_ctx *ctx, const struct sim_config *cfg, const char *v, unsigned col);

/* Fills cfg's media fields with the defaults sim_config_set_media_defaults
 * chose (a failed copy of the directory leaves it NULL: a private one). */
void cfg_media_defaults(struct sim_config *cfg);
/* The command line's --firmware into a new configuration (config_firmware.c). */
void cfg_firmware_defaults(struct sim_config *cfg);

/* Formats a size with the largest binary suffix that divides it (16M, 66T, 1000). */
void cfg_format_size(uint64_t bytes, char *buf, size_t len);

const char *cfg_policy_name(enum hba_iommu_policy p);
const char *cfg_battery_name(enum hba_battery b);
const char *cfg_protection_name(unsigned type);

#endif
