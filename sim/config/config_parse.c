/* sim/config/config_parse.c — reading configuration files and command-line settings.
 *
 * Both forms end in the same place: a key of the table in config_keys.c set
 * on the controller or on one drive.  A drive's capacity, blocks and block-size
 * are resolved together when its definition ends, so they may come in any
 * order.  Input is applied to a copy of the configuration that replaces the
 * caller's only when everything parsed: a failed load changes nothing.
 */
#include "sim/config/config_internal.h"
#include "sim/fault/fault.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 4096u /* longest value (a media path) plus its NUL */

/* One of capacity, blocks, block-size as a definition gave it: the value and
 * where, for the error that may come when the drive ends. */
struct drive_given {
    bool     have;
    uint64_t value;            /* capacity and blocks; block-size is in the drive already */
    unsigned line, col;
};

/* A drive being defined: a [drive T:L] section or a drive= setting. */
struct drive_def {
    bool     active;
    uint16_t target, lun;
    uint64_t old_bytes;        /* capacity before this definition */
    struct drive_given capacity, blocks, block_size;
};

/* A drive a file defined, for duplicate and range checks. */
struct drive_seen {
    uint16_t target, lun;
    unsigned line, target_col, lun_col;
};

struct parser {
    struct sim_config *cfg;
    struct cfg_ctx ctx;
    bool option;                /* a command-line setting, not a file */
    enum { SEC_NONE, SEC_CONTROLLER, SEC_DRIVE } section;
    unsigned controller_line;   /* where [controller] was; 0 = not yet */
    struct drive_def drive;
    uint64_t keys_set;          /* bit i: cfg_keys[i] set in this section */
    unsigned key_line[CFG_KEYS_MAX];
    struct drive_seen *seen;
    size_t nseen;
};

static struct sim_lu_config *current_lu(struct parser *p)
{
    /* Looked up each time: adding a drive may move the array. */
    return sim_config_lu(p->cfg, p->drive.target, p->drive.lun);
}

/* --- drives ---------------------------------------------------------------------- */

static int begin_drive(struct parser *p, uint16_t target, uint16_t lun, unsigned col)
{
    if (p->cfg->lus_are_default)
        sim_config_clear_lus(p->cfg); /* the first drive defined replaces the default one */
    struct sim_lu_config *lu = sim_config_lu(p->cfg, target, lun);
    if (!lu)
        return cfg_fail_rc(&p->ctx, -ENOMEM, col, "out of memory adding drive %u:%u", target, lun);
    p->drive = (struct drive_def){
        .active = true,
        .target = target,
        .lun = lun,
        .old_bytes = lu->blocks * lu->block_size,
    };
    p->keys_set = 0;
    return 0;
}

/* An error about a value given earlier (at g), not on the current line;
 * -EINVAL. */
static int fail_at(struct parser *p, const struct drive_given *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *p, const struct drive_given *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    located_vset(p->ctx.err, p->ctx.file, p->option ? 0 : g->line, g->col, 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Settles blocks from capacity / blocks / block-size, whichever were given. */
static int end_drive(struct parser *p)
{
    struct drive_def *d = &p->drive;
    if (!d->active)
        return 0;
    d->active = false;
    struct sim_lu_config *lu = current_lu(p);
    if (!lu)
        return cfg_fail_rc(&p->ctx, -ENOMEM, 0, "out of memory");
    uint32_t bs = lu->block_size;
    if (d->capacity.have && d->blocks.have)
        return fail_at(p, &d->blocks, "drive %u:%u: give either capacity or blocks, not both; remove one of them",
                       d->target, d->lun);
    if (d->capacity.have) {
        uint64_t bytes = d->capacity.value;
        if (bytes % bs)
            return fail_at(p, &d->capacity,
                           "capacity: %llu bytes is not a multiple of the block size %u; use a multiple of %u "
                           "(e.g. %llu)",
                           (unsigned long long)bytes, bs, bs, (unsigned long long)(bytes / bs + 1) * bs);
        lu->blocks = bytes / bs;
    } else if (d->blocks.have) {
        if (d->blocks.value > UINT64_MAX / bs)
            return fail_at(p, &d->blocks, "blocks: %llu blocks of %u bytes overflow 64 bits of bytes",
                           (unsigned long long)d->blocks.value, bs);
        lu->blocks = d->blocks.value;
    } else if (d->block_size.have) {
        /* Only the block size changed: keep the capacity in bytes. */
        if (d->old_bytes % bs || d->old_bytes < bs)
            return fail_at(p, &d->block_size,
                           "block-size: the drive's capacity of %llu bytes is not a multiple of %u; set capacity "
                           "or blocks too",
                           (unsigned long long)d->old_bytes, bs);
        lu->blocks = d->old_bytes / bs;
    }
    /* Sparse, but a file that size is still a file: raising the limit is the user's call. */
    if (lu->media_path && lu->blocks > p->cfg->media_max / bs) {
        char have[32], max[32];
        cfg_format_size(lu->blocks * bs, have, sizeof have);
        cfg_format_size(p->cfg->media_max, max, sizeof max);
        const struct drive_given *g = d->capacity.have ? &d->capacity : d->blocks.have ? &d->blocks : NULL;
        struct drive_given here = { .line = p->ctx.line, .col = 1 };
        return fail_at(p, g ? g : &here,
                       "drive %u:%u: %s of file media is above media-max = %s; raise it with --media-max SIZE "
                       "(or media-max in [controller]) if you mean it, or drop media= for memory media",
                       d->target, d->lun, have, max);
    }
    return 0;
}

/* Parses "T:L" (decimal, each 0..65535) at s; sets the columns of both numbers. */
static int parse_address(const struct cfg_ctx *ctx, const char *s, unsigned col, uint16_t *target, uint16_t *lun,
                         unsigned *lun_col)
{
    const char *expected = "expected a drive address T:L (target:lun, decimal), e.g. 1:0";
    uint64_t v[2];
    size_t i = 0;
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            if (s[i] != ':')
                return cfg_fail(ctx, col + (unsigned)i, "'%s': %s", s, expected);
            i++;
            *lun_col = col + (unsigned)i;
        }
        if (!isdigit((unsigned char)s[i]))
            return cfg_fail(ctx, col + (unsigned)i, "'%s': %s", s, expected);
        v[part] = 0;
        size_t start = i;
        while (isdigit((unsigned char)s[i])) {
            if (v[part] <= 65535)
                v[part] = v[part] * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (v[part] > 65535)
            return cfg_fail(ctx, col + (unsigned)start, "'%s': %s %llu is above 65535", s,
                            part ? "LUN" : "target", (unsigned long long)v[part]);
    }
    if (s[i])
        return cfg_fail(ctx, col + (unsigned)i, "'%s': unexpected '%s' after the address; %s", s, s + i, expected);
    *target = (uint16_t)v[0];
    *lun = (uint16_t)v[1];
    return 0;
}

/* --- keys -------------------------------------------------------------------------- */

static int unknown_key(struct parser *p, enum cfg_scope scope, const char *key, unsigned col)
{
    const char *here = scope == CFG_CONTROLLER ? (p->option ? "controller settings" : "[controller]")
                                               : (p->option ? "drive settings" : "[drive T:L]");
    enum cfg_scope other = scope == CFG_CONTROLLER ? CFG_DRIVE : CFG_CONTROLLER;
    if (cfg_key_find(other, key)) {
        if (other == CFG_DRIVE)
            return cfg_fail(&p->ctx, col, "'%s' is a drive key, not a controller key; %s", key,
                            p->option ? "give it as drive=T:L,KEY=VALUE" : "move it under a [drive T:L] section");
        return cfg_fail(&p->ctx, col, "'%s' is a controller key, not a drive key; %s", key,
                        p->option ? "give it as KEY=VALUE on its own" : "move it under [controller]");
    }
    const struct cfg_key *near = cfg_key_suggest(scope, key);
    if (near)
        return cfg_fail(&p->ctx, col, "unknown key '%s' in %s; did you mean '%s'?", key, here, near->name);
    return cfg_fail(&p->ctx, col, "unknown key '%s' in %s; docs/config.md lists the keys", key, here);
}

static int set_drive_key(struct parser *p, const struct cfg_key *k, const char *v, unsigned col)
{
    struct drive_def *d = &p->drive;
    struct drive_given here = { .have = true, .line = p->ctx.line, .col = col };
    if (k->type == CFG_CAPACITY || k->type == CFG_BLOCKS) {
        /* Kept until the drive ends: which one wins depends on the others. */
        bool bytes = k->type == CFG_CAPACITY;
        int rc = bytes ? cfg_parse_size(&p->ctx, k->name, v, col, 0, UINT64_MAX, &here.value)
                       : cfg_parse_uint(&p->ctx, k->name, v, col, 0, UINT64_MAX, &here.value);
        if (rc)
            return rc;
        if (here.value == 0)
            return cfg_fail(&p->ctx, col, "%s must be greater than 0%s", k->name,
                            bytes ? "; give bytes with a suffix, e.g. 512M" : "");
        *(bytes ? &d->capacity : &d->blocks) = here;
        return 0;
    }
    if (k->type == CFG_BLOCK_SIZE)
        d->block_size = here;
    if (k->type == CFG_MEDIA) {
        int rc = cfg_media_check(&p->ctx, p->cfg, v, col);
        if (rc)
            return rc;
    }
    struct sim_lu_config *lu = current_lu(p);
    if (!lu)
        return cfg_fail_rc(&p->ctx, -ENOMEM, col, "out of memory");
    return cfg_key_set(&p->ctx, k, lu, v, col);
}

/* `fault = RULE` (controller scope, repeatable): one rule of sim/fault/fault.h,
 * checked here so a bad rule is named with its line and column. */
static int add_fault(struct parser *p, const char *v, unsigned val_col)
{
    struct fault_rule r;
    char msg[400];
    unsigned col = 1;
    if (fault_rule_parse(v, &r, msg, sizeof msg, &col) < 0) {
        const char *text = strchr(msg, ':'); /* "column N: ..." without the column: ours is absolute */
        return cfg_fail(&p->ctx, val_col + col - 1, "fault rule: %s", text ? text + 2 : msg);
    }
    if (fault_rule_is_action(&r))
        return cfg_fail(&p->ctx, val_col, "fault rule: %s is an action for a running controller "
                                          "(scsisim ctl, @fault); in a configuration give the drive as it starts",
                        fault_kind_name(r.kind));
    size_t old = p->cfg->faults ? strlen(p->cfg->faults) : 0, add = strlen(v);
    char *grown = realloc(p->cfg->faults, old + add + 2);
    if (!grown)
        return cfg_fail_rc(&p->ctx, -ENOMEM, val_col, "out of memory");
    if (old)
        grown[old++] = '\n';
    memcpy(grown + old, v, add + 1);
    p->cfg->faults = grown;
    return 0;
}

static int set_key(struct parser *p, enum cfg_scope scope, const char *key, unsigned key_col, const char *v,
                   unsigned val_col)
{
    if (scope == CFG_CONTROLLER && !strcmp(key, "fault"))
        return add_fault(p, v, val_col);
    const struct cfg_key *k = cfg_key_find(scope, key);
    if (!k)
        return unknown_key(p, scope, key, key_col);
    size_t idx = (size_t)(k - cfg_keys);
    if (p->keys_set & (1ull << idx)) {
        if (p->option)
            return cfg_fail(&p->ctx, key_col, "'%s' is given twice in this setting; keep one", key);
        return cfg_fail(&p->ctx, key_col, "'%s' is already set in this section (line %u); keep one", key,
                        p->key_line[idx]);
    }
    p->keys_set |= 1ull << idx;
    p->key_line[idx] = p->ctx.line;
    if (scope == CFG_DRIVE)
        return set_drive_key(p, k, v, val_col);
    return cfg_key_set(&p->ctx, k, p->cfg, v, val_col);
}

/* --- lexing -------------------------------------------------------------------------- */

static bool is_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Reads a value at s[*pos] into out: "quoted" (\" and \\ escapes) or bare.  A
 * bare value ends at the end, at ',' in a command-line setting, or in a file at
 * a '#' that follows whitespace (a comment); trailing blanks are dropped. */
static int read_value(struct parser *p, const char *s, size_t *pos, char *out, unsigned *content_col)
{
    size_t i = *pos, o = 0;
    unsigned col = (unsigned)i + 1;
    *content_col = col + (s[i] == '"'); /* errors inside a value point past the quote */
    if (s[i] == '"') {
        for (i++;; i++) {
            if (!s[i])
                return cfg_fail(&p->ctx, col, "the quoted value has no closing '\"'; add one");
            if (s[i] == '"')
                break;
            if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
                i++;
            if (o + 1 >= VALUE_MAX)
                return cfg_fail(&p->ctx, col, "the value is longer than %u bytes", VALUE_MAX - 1);
            out[o++] = s[i];
        }
        i++;
        while (s[i] == ' ' || s[i] == '\t')
            i++;
        bool end_ok = !s[i] || (p->option ? s[i] == ',' : s[i] == '#');
        if (!end_ok)
            return cfg_fail(&p->ctx, (unsigned)i + 1, "unexpected '%s' after the closing quote%s", s + i,
                            p->option ? "; separate drive keys with ','" : "");
    } else {
        size_t end = i;
        for (; s[i]; i++) {
            if (p->option && s[i] == ',')
                break;
            if (!p->option && s[i] == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
                break;
            if (s[i] != ' ' && s[i] != '\t')
                end = i + 1;
        }
        if (end - *pos >= VALUE_MAX)
            return cfg_fail(&p->ctx, col, "the value is longer than %u bytes", VALUE_MAX - 1);
        o = end - *pos;
        memcpy(out, s + *pos, o);
    }
    out[o] = '\0';
    *pos = i;
    return 0;
}

/* --- files ---------------------------------------------------------------------------- */

static int section_header(struct parser *p, const char *s, size_t open)
{
    const char *close = strchr(s + open, ']');
    if (!close) {
        size_t end = strlen(s);
        while (end > open + 1 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        return cfg_fail(&p->ctx, (unsigned)end + 1,
                        "missing ']' to close the section header; write [controller] or [drive T:L]");
    }
    size_t after = (size_t)(close - s) + 1;
    while (s[after] == ' ' || s[after] == '\t')
        after++;
    if (s[after] && s[after] != '#')
        return cfg_fail(&p->ctx, (unsigned)after + 1, "unexpected '%s' after the section header", s + after);

    int rc = end_drive(p);
    if (rc)
        return rc;
    /* The name: trimmed text between the brackets. */
    size_t b = open + 1, e = (size_t)(close - s);
    while (b < e && (s[b] == ' ' || s[b] == '\t'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    char name[128];
    size_t n = e - b < sizeof name - 1 ? e - b : sizeof name - 1;
    memcpy(name, s + b, n);
    name[n] = '\0';
    unsigned name_col = (unsigned)b + 1;

    if (!strcmp(name, "controller")) {
        if (p->controller_line)
            return cfg_fail(&p->ctx, name_col, "[controller] appears twice (first at line %u); merge the sections",
                            p->controller_line);
        p->controller_line = p->ctx.line;
        p->section = SEC_CONTROLLER;
        p->keys_set = 0;
        return 0;
    }
    if (!strncmp(name, "drive", 5) && (name[5] == ' ' || name[5] == '\t')) {
        size_t a = 5;
        while (name[a] == ' ' || name[a] == '\t')
            a++;
        uint16_t t, l;
        unsigned lun_col = 0;
        rc = parse_address(&p->ctx, name + a, name_col + (unsigned)a, &t, &l, &lun_col);
        if (rc)
            return rc;
        for (size_t i = 0; i < p->nseen; i++)
            if (p->seen[i].target == t && p->seen[i].lun == l)
                return cfg_fail(&p->ctx, name_col + (unsigned)a,
                                "drive %u:%u is defined twice (first at line %u); merge the two sections", t, l,
                                p->seen[i].line);
        struct drive_seen *grown = realloc(p->seen, (p->nseen + 1) * sizeof *grown);
        if (!grown)
            return cfg_fail_rc(&p->ctx, -ENOMEM, name_col, "out of memory");
        p->seen = grown;
        p->seen[p->nseen++] = (struct drive_seen){ t, l, p->ctx.line, name_col + (unsigned)a, lun_col };
        p->section = SEC_DRIVE;
        return begin_drive(p, t, l, name_col);
    }
    const char *near = cfg_edit_distance(name, "controller") <= 3 ? "[controller]"
                       : !strncmp(name, "drive", 5) || cfg_edit_distance(name, "drive") <= 2
                           ? "[drive T:L] (e.g. [drive 0:0])"
                           : NULL;
    if (near)
        return cfg_fail(&p->ctx, name_col, "unknown section [%s]; did you mean %s?", name, near);
    return cfg_fail(&p->ctx, name_col, "unknown section [%s]; the sections are [controller] and [drive T:L]",
                    name);
}

static int key_line(struct parser *p, const char *s, size_t i, char *value)
{
    size_t k0 = i;
    while (is_key_char(s[i]))
        i++;
    if (i == k0)
        return cfg_fail(&p->ctx, (unsigned)i + 1, "expected a key (letters, digits, '-') or a [section]");
    char key[64];
    size_t klen = i - k0 < sizeof key - 1 ? i - k0 : sizeof key - 1;
    memcpy(key, s + k0, klen);
    key[klen] = '\0';
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (s[i] != '=')
        return cfg_fail(&p->ctx, (unsigned)i + 1, "expected '=' after key '%s' (write %s = VALUE)", key, key);
    i++;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    unsigned val_col;
    int rc = read_value(p, s, &i, value, &val_col);
    if (rc)
        return rc;
    if (p->section == SEC_NONE)
        return cfg_fail(&p->ctx, (unsigned)k0 + 1,
                        "key '%s' is outside a section; put it under [controller] or [drive T:L]", key);
    return set_key(p, p->section == SEC_CONTROLLER ? CFG_CONTROLLER : CFG_DRIVE, key, (unsigned)k0 + 1, value,
                   val_col);
}

static int parse_line(struct parser *p, const char *s, char *value)
{
    size_t i = 0;
    if (p->ctx.line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
        i = 3; /* UTF-8 byte order mark */
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (!s[i] || s[i] == '#')
        return 0;
    if (s[i] == '[')
        return section_header(p, s, i);
    return key_line(p, s, i, value);
}

/* Drives of this file must fit the limits the file ends with. */
static int check_file_drives(struct parser *p)
{
    for (size_t i = 0; i < p->nseen; i++) {
        const struct drive_seen *d = &p->seen[i];
        if (d->target >= p->cfg->max_targets)
            return fail_at(p, &(struct drive_given){ .line = d->line, .col = d->target_col },
                           "drive %u:%u: target %u is outside max-targets = %u (targets 0..%u); raise "
                           "max-targets in [controller] or renumber the drive",
                           d->target, d->lun, d->target, p->cfg->max_targets, p->cfg->max_targets - 1);
        if (d->lun >= p->cfg->max_luns)
            return fail_at(p, &(struct drive_given){ .line = d->line, .col = d->lun_col },
                           "drive %u:%u: LUN %u is outside max-luns = %u (LUNs 0..%u); raise max-luns in "
                           "[controller] or renumber the drive",
                           d->target, d->lun, d->lun, p->cfg->max_luns, p->cfg->max_luns - 1);
    }
    return 0;
}

static int parse_stream(struct parser *p, FILE *f)
{
    char *line = NULL, *value = malloc(VALUE_MAX);
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    if (!value)
        return cfg_fail_rc(&p->ctx, -ENOMEM, 0, "out of memory");
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        p->ctx.line++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (strlen(line) != (size_t)n)
            rc = cfg_fail(&p->ctx, (unsigned)strlen(line) + 1, "the line holds a NUL byte; is this a text file?");
        else
            rc = parse_line(p, line, value);
    }
    if (rc == 0 && ferror(f))
        rc = cfg_fail_rc(&p->ctx, errno ? -errno : -EIO, 0, "read error: %s", strerror(errno));
    if (rc == 0)
        rc = end_drive(p);
    if (rc == 0)
        rc = check_file_drives(p);
    free(line);
    free(value);
    return rc;
}

/* Runs `parse` on a copy of cfg; the copy replaces cfg only on success. */
static int on_copy(struct sim_config *cfg, struct parser *p, int (*parse)(struct parser *, void *), void *arg)
{
    struct sim_config work;
    if (sim_config_copy(&work, cfg)) {
        sim_config_free(&work);
        return cfg_fail_rc(&p->ctx, -ENOMEM, 0, "out of memory");
    }
    p->cfg = &work;
    int rc = parse(p, arg);
    free(p->seen);
    p->seen = NULL;
    if (rc) {
        sim_config_free(&work);
        return rc;
    }
    sim_config_free(cfg);
    *cfg = work;
    return 0;
}

static int parse_file(struct parser *p, void *arg)
{
    return parse_stream(p, arg);
}

int sim_config_load_file(struct sim_config *cfg, const char *path, struct located_error *err)
{
    struct parser p = { .ctx = { .err = err, .file = path, .line = 0 } };
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return cfg_fail_rc(&p.ctx, -e, 0, "cannot open the configuration file: %s", strerror(e));
    }
    int rc = on_copy(cfg, &p, parse_file, f);
    fclose(f);
    return rc;
}

/* --- command-line settings --------------------------------------------------------------- */

static int parse_drive_setting(struct parser *p, const char *s, size_t i, char *value)
{
    /* s[i..] = "T:L[,key=value]..." */
    size_t a = i;
    while (s[i] && s[i] != ',')
        i++;
    char addr[32];
    size_t alen = i - a < sizeof addr - 1 ? i - a : sizeof addr - 1;
    memcpy(addr, s + a, alen);
    addr[alen] = '\0';
    uint16_t t, l;
    unsigned lun_col;
    int rc = parse_address(&p->ctx, addr, (unsigned)a + 1, &t, &l, &lun_col);
    if (rc)
        return rc;
    rc = begin_drive(p, t, l, (unsigned)a + 1);
    if (rc)
        return rc;
    while (s[i] == ',') {
        i++;
        size_t k0 = i;
        while (is_key_char(s[i]))
            i++;
        char key[64];
        size_t klen = i - k0 < sizeof key - 1 ? i - k0 : sizeof key - 1;
        memcpy(key, s + k0, klen);
        key[klen] = '\0';
        if (!klen || s[i] != '=')
            return cfg_fail(&p->ctx, (unsigned)i + 1, "expected KEY=VALUE after ',' (e.g. capacity=1G)");
        i++;
        unsigned val_col;
        rc = read_value(p, s, &i, value, &val_col);
        if (rc == 0)
            rc = set_key(p, CFG_DRIVE, key, (unsigned)k0 + 1, value, val_col);
        if (rc)
            return rc;
    }
    if (s[i])
        return cfg_fail(&p->ctx, (unsigned)i + 1, "unexpected '%s'; separate drive keys with ','", s + i);
    return end_drive(p);
}

static int parse_setting(struct parser *p, void *arg)
{
    const char *s = arg;
    size_t i = 0;
    while (is_key_char(s[i]))
        i++;
    if (i == 0 || s[i] != '=')
        return cfg_fail(&p->ctx, (unsigned)i + 1,
                        "expected KEY=VALUE (e.g. max-targets=32) or drive=T:L,KEY=VALUE,...");
    char key[64];
    size_t klen = i < sizeof key - 1 ? i : sizeof key - 1;
    memcpy(key, s, klen);
    key[klen] = '\0';
    char *value = malloc(VALUE_MAX);
    if (!value)
        return cfg_fail_rc(&p->ctx, -ENOMEM, 0, "out of memory");
    int rc;
    i++;
    if (!strcmp(key, "drive")) {
        rc = parse_drive_setting(p, s, i, value);
    } else {
        unsigned val_col;
        rc = read_value(p, s, &i, value, &val_col);
        if (rc == 0 && s[i])
            rc = cfg_fail(&p->ctx, (unsigned)i + 1, "unexpected '%s' after the value of '%s'", s + i, key);
        if (rc == 0)
            rc = set_key(p, CFG_CONTROLLER, key, 1, value, val_col);
    }
    free(value);
    return rc;
}

int sim_config_apply_option(struct sim_config *cfg, const char *setting, struct located_error *err)
{
    struct parser p = { .ctx = { .err = err, .file = "", .line = 0 }, .option = true };
    return on_copy(cfg, &p, parse_setting, (void *)setting);
}

int sim_config_apply_untrusted(struct sim_config *cfg, const char *setting, struct located_error *err)
{
    struct parser p = { .ctx = { .err = err, .file = "", .line = 0, .untrusted = true }, .option = true };
    return on_copy(cfg, &p, parse_setting, (void *)setting);
}
