/* sim/fw/fw_plugin.c — loading a firmware plug-in and checking its table
 * (see fw_plugin.h).  Everything a plug-in states is checked here, once, so
 * that a bad row is one clear error at start-up rather than a surprise in the
 * middle of a trace. */
#include "sim/fw/fw_plugin.h"
#include "sim/fw/fw_plugin_priv.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The ABI's layouts on LP64: a change here is an ABI change, and must bump
 * SCSISIM_FW_PLUGIN_ABI_VERSION (or only append, for a minor revision). */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(struct scsisim_fw_command) == 56, "scsisim_fw_command changed: bump the ABI version");
_Static_assert(sizeof(struct scsisim_fw_plugin) == 96, "scsisim_fw_plugin changed: bump the ABI version");
_Static_assert(sizeof(struct scsisim_fw_api) == 64, "scsisim_fw_api changed: bump the ABI version");
_Static_assert(sizeof(struct scsisim_fw_cmd) == 368 && offsetof(struct scsisim_fw_cmd, sense) == 116,
               "scsisim_fw_cmd changed: bump the ABI version");
#endif

const char *fw_plugin_name(const struct fw_plugin *p)
{
    return p->name;
}

const struct fw_cmd *fw_plugin_view(const struct fw_plugin *p, size_t i)
{
    if (!p)
        return fw_cmd_at(i);
    return i < p->view_count ? p->view[i] : NULL;
}

const struct scsisim_fw_command *fw_plugin_row(const struct fw_plugin *p, size_t i)
{
    return (const struct scsisim_fw_command *)((const char *)p->t->commands + i * p->t->row_size);
}

static int bad(struct fw_plugin *p, char *err, size_t errlen, const char *what, size_t i, const char *why)
{
    const struct scsisim_fw_command *r = fw_plugin_row(p, i);
    errf(err, errlen, "%s: %s row %zu (%s, opcode %02Xh): %s (sim/fw/fw_plugin_abi.h, docs/firmware-plugins.md)",
         p->path, what, i, r->name ? r->name : "unnamed", r->opcode, why);
    return -EPROTO;
}

/* One command row -> a struct fw_cmd of the view, after checking it. */
static int take_row(struct fw_plugin *p, size_t i, char *err, size_t errlen)
{
    const struct scsisim_fw_command *r = fw_plugin_row(p, i);
    if (!r->handler)
        return bad(p, err, errlen, "command", i, "no handler");
    if (r->cdb_len != 6 && r->cdb_len != 10 && r->cdb_len != 12 && r->cdb_len != 16)
        return bad(p, err, errlen, "command", i, "cdb_len is not 6, 10, 12 or 16");
    if (r->usage[0] != 0xff)
        return bad(p, err, errlen, "command", i, "usage[0] (the opcode byte) must be FFh");
    if (r->dir > SCSISIM_FW_DIR_OUT)
        return bad(p, err, errlen, "command", i, "dir is not NONE, IN or OUT");
    if (r->len_width > 4 || r->len_off + r->len_width > r->cdb_len || (r->len_width && r->len_off == 0))
        return bad(p, err, errlen, "command", i, "the length field (len_off, len_width) is not inside the CDB");
    if (r->flags & ~(uint32_t)0x1f)
        return bad(p, err, errlen, "command", i, "unknown flags");
    if ((r->flags & SCSISIM_FW_CMD_MEDIA) &&
        (!r->len_width || !r->lba_width || r->lba_width > 8 || r->lba_off == 0 || r->lba_off + r->lba_width > r->cdb_len))
        return bad(p, err, errlen, "command", i, "SCSISIM_FW_CMD_MEDIA needs a length field and an LBA field "
                   "(lba_off, lba_width 1..8) inside the CDB");
    if ((r->flags & SCSISIM_FW_CMD_SA) && r->sa > 0x1f)
        return bad(p, err, errlen, "command", i, "a service action is 00h..1Fh");
    bool sa = r->flags & SCSISIM_FW_CMD_SA;
    for (size_t j = 0; j < i; j++) {
        const struct scsisim_fw_command *o = fw_plugin_row(p, j);
        if (o->opcode != r->opcode)
            continue;
        if (!!(o->flags & SCSISIM_FW_CMD_SA) != sa)
            return bad(p, err, errlen, "command", i, "another row of this opcode disagrees on SCSISIM_FW_CMD_SA");
        if (!sa || o->sa == r->sa)
            return bad(p, err, errlen, "command", i, "the same command has two rows");
    }
    /* Overriding a built-in opcode keeps its service-action scheme, so that
     * "unknown opcode" and "unknown service action" stay one answer each. */
    for (size_t j = 0; fw_cmd_at(j); j++) {
        const struct fw_cmd *b = fw_cmd_at(j);
        if (b->opcode == r->opcode && sa && !(b->flags & FW_F_SA))
            return bad(p, err, errlen, "command", i, "the built-in command of this opcode has no service "
                       "action: override it with a row without SCSISIM_FW_CMD_SA");
        if (b->opcode == r->opcode && !sa && (b->flags & FW_F_SA))
            return bad(p, err, errlen, "command", i, "the built-in commands of this opcode have service "
                       "actions: override each with a SCSISIM_FW_CMD_SA row");
    }
    struct fw_cmd *c = &p->cmds[i];
    c->name = r->name ? r->name : "plug-in command";
    c->opcode = r->opcode;
    c->sa = r->sa;
    c->cdb_len = r->cdb_len;
    c->dir = r->dir == SCSISIM_FW_DIR_IN ? HBA_FLAG_DIR_READ
           : r->dir == SCSISIM_FW_DIR_OUT ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_NONE;
    c->flags = (uint32_t)((sa ? FW_F_SA : 0) |
                          (r->flags & SCSISIM_FW_CMD_SKIPS_UA ? FW_F_SKIPS_UA : 0) |
                          (r->flags & SCSISIM_FW_CMD_NEEDS_READY ? FW_F_NEEDS_READY : 0) |
                          (r->flags & SCSISIM_FW_CMD_WRITES ? FW_F_WRITES : 0) |
                          (r->flags & SCSISIM_FW_CMD_MEDIA ? FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS : 0));
    c->len_off = r->len_off;
    c->len_width = r->len_width;
    c->fixed_len = r->fixed_len;
    c->lba_off = r->lba_off;
    c->lba_width = r->lba_width;
    c->handler = fw_plugin_run;
    memcpy(c->usage, r->usage, sizeof c->usage);
    if (sa)
        c->usage[1] |= 0x1f;   /* the service action's own bits are always "used" */
    return 0;
}

static bool overridden(const struct fw_plugin *p, const struct fw_cmd *b)
{
    for (size_t i = 0; i < p->cmd_count; i++)
        if (p->cmds[i].opcode == b->opcode && (!(b->flags & FW_F_SA) || p->cmds[i].sa == b->sa))
            return true;
    return false;
}

static int check_pages(struct fw_plugin *p, char *err, size_t errlen)
{
    const struct scsisim_fw_plugin *t = p->t;
    if (t->vpd_page_count > SCSISIM_FW_MAX_VPD_PAGES || (t->vpd_page_count && !t->vpd_pages) ||
        t->mode_page_count > SCSISIM_FW_MAX_MODE_PAGES || (t->mode_page_count && !t->mode_pages)) {
        errf(err, errlen, "%s: %zu VPD pages, %zu mode pages: at most %u and %u, each array present",
             p->path, t->vpd_page_count, t->mode_page_count, SCSISIM_FW_MAX_VPD_PAGES, SCSISIM_FW_MAX_MODE_PAGES);
        return -EPROTO;
    }
    for (size_t i = 0; i < t->vpd_page_count; i++) {
        const struct scsisim_fw_vpd_page *v = &t->vpd_pages[i];
        if (!v->build || v->page == 0x00) {
            errf(err, errlen, "%s: VPD page row %zu (%02Xh): %s", p->path, i, v->page,
                 v->build ? "page 00h (the list of pages) is scsisim's" : "no build function");
            return -EPROTO;
        }
    }
    for (size_t i = 0; i < t->mode_page_count; i++) {
        const struct scsisim_fw_mode_page *m = &t->mode_pages[i];
        if (!m->build || m->page == 0 || m->page >= 0x3f || m->page == SCSI_MODE_PAGE_CACHING ||
            m->page == SCSI_MODE_PAGE_CONTROL) {
            errf(err, errlen, "%s: mode page row %zu (%02Xh): %s", p->path, i, m->page,
                 m->build ? "a plug-in page is 01h..3Eh and not 08h or 0Ah (scsisim's changeable pages)"
                          : "no build function");
            return -EPROTO;
        }
    }
    return 0;
}

static int check_table(struct fw_plugin *p, char *err, size_t errlen)
{
    const struct scsisim_fw_plugin *t = p->t;
    if (t->abi_version != SCSISIM_FW_PLUGIN_ABI_VERSION) {
        errf(err, errlen, "%s: wrong firmware plug-in ABI version %u; this scsisim speaks version %u: rebuild "
             "the plug-in against this scsisim's headers (pkg-config --cflags scsisim)", p->path,
             (unsigned)t->abi_version, SCSISIM_FW_PLUGIN_ABI_VERSION);
        return -EPROTO;
    }
    if (t->table_size < sizeof *t || t->row_size < sizeof(struct scsisim_fw_command)) {
        errf(err, errlen, "%s: its table is %u bytes and its rows %u, version %u has %zu and %zu: rebuild the "
             "plug-in against this scsisim's headers", p->path, (unsigned)t->table_size, (unsigned)t->row_size,
             SCSISIM_FW_PLUGIN_ABI_VERSION, sizeof *t, sizeof(struct scsisim_fw_command));
        return -EPROTO;
    }
    if (t->command_count > SCSISIM_FW_MAX_COMMANDS || (t->command_count && !t->commands)) {
        errf(err, errlen, "%s: %zu command rows: at most %u, and the array must be there", p->path,
             t->command_count, SCSISIM_FW_MAX_COMMANDS);
        return -EPROTO;
    }
    snprintf(p->name, sizeof p->name, "%s", t->name && t->name[0] ? t->name : p->path);
    p->cmd_count = t->command_count;
    for (size_t i = 0; i < p->cmd_count; i++) {
        int rc = take_row(p, i, err, errlen);
        if (rc)
            return rc;
    }
    int rc = check_pages(p, err, errlen);
    if (rc)
        return rc;
    p->view = calloc(p->cmd_count + fw_cmd_count(), sizeof *p->view);
    if (!p->view) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->cmd_count; i++)
        p->view[p->view_count++] = &p->cmds[i];
    for (size_t j = 0; fw_cmd_at(j); j++)
        if (!overridden(p, fw_cmd_at(j)))
            p->view[p->view_count++] = fw_cmd_at(j);
    return 0;
}

int fw_plugin_open(const char *path, struct fw_plugin **out, char *err, size_t errlen)
{
    *out = NULL;
    struct fw_plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* dlopen searches the library path for a bare name; a path given by the
     * user means that file. */
    char buf[4200];
    const char *open_path = path;
    if (!strchr(path, '/')) {
        snprintf(buf, sizeof buf, "./%s", path);
        open_path = buf;
    }
    dlerror();
    /* RTLD_LOCAL: the plug-in's symbols stay its own; RTLD_NOW: an unresolved
     * symbol fails here, not in the middle of a trace. */
    p->dl = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
    int rc;
    if (!p->dl) {
        const char *why = dlerror();
        errf(err, errlen, "%s: cannot load it as a firmware plug-in: %s (a plug-in is a shared object built with "
             "cc -shared -fPIC; see docs/firmware-plugins.md)", path, why ? why : "dlopen failed");
        rc = -ENOENT;
        goto fail;
    }
    void *sym = dlsym(p->dl, SCSISIM_FW_PLUGIN_SYMBOL);
    if (!sym) {
        errf(err, errlen, "%s: missing symbol %s: a firmware plug-in exports it (sim/fw/fw_plugin_abi.h)", path,
             SCSISIM_FW_PLUGIN_SYMBOL);
        rc = -ENOSYS;
        goto fail;
    }
    scsisim_fw_plugin_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    p->t = entry();
    if (!p->t) {
        errf(err, errlen, "%s: %s() returned NULL: the plug-in offers no table", path, SCSISIM_FW_PLUGIN_SYMBOL);
        rc = -EPROTO;
        goto fail;
    }
    if ((rc = check_table(p, err, errlen)))
        goto fail;
    *out = p;
    return 0;
fail:
    fw_plugin_close(p);
    return rc;
}

int fw_plugin_check(const char *path, char *err, size_t errlen)
{
    struct fw_plugin *p;
    int rc = fw_plugin_open(path, &p, err, errlen);
    fw_plugin_close(p);
    return rc;
}

void fw_plugin_close(struct fw_plugin *p)
{
    if (!p)
        return;
    if (p->dl)
        dlclose(p->dl);
    free(p->view);
    free(p->path);
    free(p);
}

int fw_plugin_drive_open(struct fw_plugin *p, struct fw_drive *d, char *err, size_t errlen)
{
    d->pinfo = (struct scsisim_fw_drive_info){
        .target = d->target, .lun = d->lun, .blocks = d->blocks, .block_size = d->block_size,
        .vendor = d->vendor, .product = d->product, .revision = d->revision, .serial = d->serial,
    };
    d->plugin = p;
    if (!p->t->drive_open)
        return 0;
    int rc = p->t->drive_open(&d->pinfo, &d->pstate);
    if (rc) {
        errf(err, errlen, "firmware plug-in %s: drive_open of drive %u:%u failed: %s", p->name, d->target, d->lun,
             strerror(rc < 0 ? -rc : rc));
        d->plugin = NULL;   /* nothing to close */
        return rc < 0 ? rc : -rc;
    }
    return 0;
}

void fw_plugin_drive_close(struct fw_drive *d)
{
    if (d->plugin && d->plugin->t->drive_close)
        d->plugin->t->drive_close(d->pstate);
    d->plugin = NULL;
}

void fw_plugin_drive_power_on(struct fw_drive *d)
{
    if (d->plugin && d->plugin->t->power_on)
        d->plugin->t->power_on(d->pstate);
}
