/* conformance/format/trace_parse_device.c — the @ lines before the records: the
 * default nexus, the controller and drives (each setting handed to the parse
 * options' device checker, so a trace is refused at parse time for a setting
 * the device would refuse), title, requirements and the default timeout. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_names.h"

/* Which bytes of a config setting string came from which trace column. */
struct colmap {
    size_t   set_off[64];
    unsigned col[64];
    size_t   len[64];
    size_t   n;
};

static int map_config_error(struct tp *p, const struct colmap *m, const struct located_error *e,
                            unsigned fallback)
{
    unsigned col = fallback;
    if (e->column > 0) {
        size_t c = e->column - 1;
        for (size_t i = 0; i < m->n; i++)
            if (c >= m->set_off[i] && c <= m->set_off[i] + m->len[i]) {
                col = m->col[i] + (unsigned)(c - m->set_off[i]);
                break;
            }
    }
    return tp_fail(p, col, "%s", e->message);
}

static int append(struct tp *p, struct tbuf *b, struct colmap *m, const struct tp_tok *tok)
{
    if (m->n == sizeof m->col / sizeof m->col[0])
        return tp_fail(p, tok->col, "too many settings on one line (at most 63); split them over several lines");
    m->set_off[m->n] = b->len;
    m->col[m->n] = tok->col;
    m->len[m->n] = tok->len;
    m->n++;
    tbuf_put(b, tok->s, tok->len);
    return 0;
}

int tp_add_setting(struct tp *p, struct trace_device *dev, size_t *cap, const struct tp_tok *tok,
                   const struct tp_tok *key, const struct tp_tok *value)
{
    if (dev->n_settings == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        struct trace_setting *ns = realloc(dev->settings, *cap * sizeof(*ns));
        if (!ns)
            return tp_fail(p, tok->col, "out of memory");
        dev->settings = ns;
    }
    struct trace_setting *st = &dev->settings[dev->n_settings++];
    st->key = strndup(key->s, key->len);
    st->value = strndup(value->s, value->len);
    if (!st->key || !st->value)
        return tp_fail(p, tok->col, "out of memory");
    return 0;
}

/* Reads the key=value tokens of the line into dev->settings, and the setting
 * string for the device checker into *set (after its prefix). */
static int read_settings(struct tp *p, struct trace_device *dev, struct tbuf *set, struct colmap *m, bool drive)
{
    struct tp_tok tok, key, value;
    int got;
    char shown[48];
    size_t cap = 0;
    while ((got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &value) || key.len == 0)
            return tp_fail(p, tok.col, "expected KEY=VALUE (e.g. %s), found '%s'",
                           drive ? "capacity=1G" : "max-sges=128", tp_tok_str(&tok, shown, sizeof shown));
        if (key.len > TRACE_NAME_MAX)
            return tp_fail(p, key.col, "key '%s' is too long", tp_tok_str(&key, shown, sizeof shown));
        if (tp_add_setting(p, dev, &cap, &tok, &key, &value))
            return -EINVAL;
        if (set->len || drive)
            tbuf_putc(set, ',');
        if (append(p, set, m, &tok))
            return -EINVAL;
    }
    return got < 0 ? got : 0;
}

static int device_nexus(struct tp *p, struct trace_device *dev, const struct tp_tok *at)
{
    struct tp_tok tok;
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@nexus needs host:channel:target:lun (e.g. @nexus 0:0:0:0)");
    if (tp_nexus(p, &tok, &dev->nexus))
        return -EINVAL;
    if (p->t->has_nexus)
        return tp_fail(p, at->col, "@nexus given twice; a trace has one default nexus");
    p->t->has_nexus = true;
    p->t->default_nexus = dev->nexus;
    return 0;
}

static int drive_address(struct tp *p, const struct tp_tok *tok, uint16_t *t, uint16_t *l)
{
    char shown[48];
    const char *colon = memchr(tok->s, ':', tok->len);
    if (!colon)
        return tp_fail(p, tok->col, "bad drive address '%s'; expected TARGET:LUN (e.g. 1:0)",
                       tp_tok_str(tok, shown, sizeof shown));
    struct tp_tok a = { tok->s, (size_t)(colon - tok->s), tok->col };
    struct tp_tok b = { colon + 1, tok->len - a.len - 1, tok->col + (unsigned)a.len + 1 };
    uint64_t tv, lv;
    if (a.len == 0 || b.len == 0)
        return tp_fail(p, tok->col, "bad drive address '%s'; expected TARGET:LUN (e.g. 1:0)",
                       tp_tok_str(tok, shown, sizeof shown));
    uint32_t tmax = p->o->drive_target_max ? p->o->drive_target_max : UINT16_MAX;
    uint32_t lmax = p->o->drive_lun_max ? p->o->drive_lun_max : UINT16_MAX;
    if (tp_u64(p, &a, "drive target", tmax, &tv) || tp_u64(p, &b, "drive LUN", lmax, &lv))
        return -EINVAL;
    *t = (uint16_t)tv;
    *l = (uint16_t)lv;
    return 0;
}

static int device_drive(struct tp *p, struct trace_line *line, const struct tp_tok *at)
{
    struct trace_device *dev = &line->device;
    struct tp_tok addr;
    (void)at;
    int got = tp_next(p, &addr);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@drive needs TARGET:LUN and settings (e.g. @drive 0:0 capacity=1G)");
    if (drive_address(p, &addr, &dev->target, &dev->lun))
        return -EINVAL;
    struct tp_drive *nd = realloc(p->drives, (p->n_drives + 1) * sizeof(*nd));
    if (!nd)
        return tp_fail(p, addr.col, "out of memory");
    p->drives = nd;
    p->drives[p->n_drives++] = (struct tp_drive){ p->t->n_lines - 1, addr.col };
    char key[32];
    snprintf(key, sizeof key, "d%u:%u", dev->target, dev->lun);
    size_t first;
    if (trace_map_get(&p->marks, key, &first))
        return tp_fail(p, addr.col, "drive %u:%u is already described at line %zu; give all its settings there",
                       dev->target, dev->lun, first);
    if (trace_map_set(&p->marks, key, line->lineno))
        return tp_fail(p, addr.col, "out of memory");
    struct tbuf set = { 0 };
    struct colmap m = { .n = 0 };
    tbuf_puts(&set, "drive=");
    if (append(p, &set, &m, &addr)) {
        tbuf_free(&set);
        return -EINVAL;
    }
    int rc = read_settings(p, dev, &set, &m, true);
    if (rc == 0 && set.oom)
        rc = tp_fail(p, addr.col, "out of memory");
    if (rc == 0 && p->o->check_device) {
        struct located_error e = { .column = 0 };
        if (p->o->check_device(p->o->arg, set.s, &e))
            rc = map_config_error(p, &m, &e, addr.col);
    }
    tbuf_free(&set);
    return rc;
}

static int device_controller(struct tp *p, struct trace_line *line)
{
    struct trace_device *dev = &line->device;
    struct tbuf set = { 0 };
    struct colmap m = { .n = 0 };
    int rc = read_settings(p, dev, &set, &m, false);
    if (rc == 0 && dev->n_settings == 0)
        rc = tp_fail(p, tp_end_col(p), "@controller needs KEY=VALUE settings (e.g. @controller max-sges=128)");
    /* One call per key: each controller key is a setting of its own. */
    for (size_t i = 0; rc == 0 && p->o->check_device && i < dev->n_settings; i++) {
        char key[TRACE_NAME_MAX + 4];
        snprintf(key, sizeof key, "c:%s", dev->settings[i].key);
        size_t first;
        if (trace_map_get(&p->marks, key, &first)) {
            rc = tp_fail(p, m.col[i], "controller key '%s' is already set at line %zu", dev->settings[i].key, first);
            break;
        }
        if (trace_map_set(&p->marks, key, line->lineno)) {
            rc = tp_fail(p, m.col[i], "out of memory");
            break;
        }
        char *one = strndup(set.s + m.set_off[i], m.len[i]);
        if (!one) {
            rc = tp_fail(p, m.col[i], "out of memory");
            break;
        }
        struct located_error e = { .column = 0 };
        struct colmap single = { .set_off = { 0 }, .col = { m.col[i] }, .len = { m.len[i] }, .n = 1 };
        if (p->o->check_device(p->o->arg, one, &e))
            rc = map_config_error(p, &single, &e, m.col[i]);
        free(one);
    }
    tbuf_free(&set);
    return rc;
}

static int device_title(struct tp *p, struct trace_device *dev)
{
    struct tp_tok tok, extra;
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@title needs a title (e.g. @title \"INQUIRY standard data\")");
    if (p->t->title)
        return tp_fail(p, tok.col, "@title given twice");
    size_t len, end;
    if (tok.s[0] == '"') {
        if (tp_quoted(p, &tok, 0, false, &dev->text, &len, &end))
            return -EINVAL;
        if (end != tok.len)
            return tp_fail(p, tok.col + (unsigned)end, "unexpected text after the closing quote of @title");
    } else {
        dev->text = strndup(tok.s, tok.len);
        if (!dev->text)
            return tp_fail(p, tok.col, "out of memory");
    }
    got = tp_next(p, &extra);
    if (got == 1)
        return tp_fail(p, extra.col, "@title takes one value; quote a title with blanks: @title \"...\"");
    if (got < 0)
        return got;
    p->t->title = dev->text;
    return 0;
}

static int device_requires(struct tp *p, struct trace_device *dev)
{
    struct tp_tok tok;
    int got;
    while ((got = tp_next(p, &tok)) == 1) {
        char name[TRACE_NAME_MAX + 1];
        if (tp_name(p, &tok, "feature", name))
            return -EINVAL;
        /* An unknown name is a typo or a newer harness's feature: either way
         * the trace cannot be judged here, and skipping it would let a
         * misspelling silently disable it (issue 12). */
        if (!trace_feature_known(name)) {
            char list[200];
            const char *near = trace_words_suggest(&trace_feature_words, tok.s, tok.len);
            if (near)
                return tp_fail(p, tok.col, "unknown feature '%s' in @requires; did you mean '%s'?", name, near);
            return tp_fail(p, tok.col, "unknown feature '%s' in @requires; this scsisim knows %s", name,
                           trace_words_list(&trace_feature_words, list, sizeof list));
        }
        char **nw = realloc(dev->words, (dev->n_words + 1) * sizeof(*nw));
        if (!nw)
            return tp_fail(p, tok.col, "out of memory");
        dev->words = nw;
        if (!(dev->words[dev->n_words] = strdup(name)))
            return tp_fail(p, tok.col, "out of memory");
        dev->n_words++;
    }
    if (got < 0)
        return got;
    if (dev->n_words == 0)
        return tp_fail(p, tp_end_col(p), "@requires needs at least one feature (e.g. @requires power-cycle)");
    return 0;
}

static int device_timeout(struct tp *p, struct trace_device *dev)
{
    struct tp_tok tok, extra;
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@timeout needs seconds (e.g. @timeout 30)");
    if (p->t->timeout_ns)
        return tp_fail(p, tok.col, "@timeout given twice");
    if (tp_seconds(p, &tok, "@timeout", &dev->ns))
        return -EINVAL;
    if (dev->ns == 0)
        return tp_fail(p, tok.col, "@timeout must be more than 0 seconds");
    got = tp_next(p, &extra);
    if (got == 1)
        return tp_fail(p, extra.col, "@timeout takes one value (seconds)");
    if (got < 0)
        return got;
    p->t->timeout_ns = dev->ns;
    return 0;
}

/* @match LEVEL: the level this trace is judged at when the run gives no
 * --match (docs/trace-format.md, "Device lines"). */
static int device_match(struct tp *p, struct trace_device *dev)
{
    char shown[48], list[80];
    struct tp_tok tok, extra;
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    trace_words_list(&trace_match_words, list, sizeof list);
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@match needs a level: %s (e.g. @match status)", list);
    if (p->t->match_given)
        return tp_fail(p, tok.col, "@match given twice");
    int k = trace_words_find(&trace_match_words, tok.s, tok.len);
    if (k < 0) {
        const char *near = trace_words_suggest(&trace_match_words, tok.s, tok.len);
        if (near)
            return tp_fail(p, tok.col, "unknown match level '%s'; did you mean '%s'?",
                           tp_tok_str(&tok, shown, sizeof shown), near);
        return tp_fail(p, tok.col, "unknown match level '%s'; expected %s", tp_tok_str(&tok, shown, sizeof shown),
                       list);
    }
    got = tp_next(p, &extra);
    if (got == 1)
        return tp_fail(p, extra.col, "@match takes one level (%s)", list);
    if (got < 0)
        return got;
    dev->match = (enum trace_match_level)k;
    p->t->match_given = true;
    p->t->match = dev->match;
    return 0;
}

int tp_device_line(struct tp *p, struct trace_line *line, const struct tp_tok *first)
{
    char shown[48], list[200];
    struct tp_tok key = { first->s + 1, first->len - 1, first->col + 1 };
    if (p->seen_record)
        return tp_fail(p, first->col, "device line '%s' after the first record; put every @ line before the records",
                       tp_tok_str(first, shown, sizeof shown));
    int k = trace_words_find(&trace_device_words, key.s, key.len);
    if (k < 0) {
        const char *near = trace_words_suggest(&trace_device_words, key.s, key.len);
        if (near)
            return tp_fail(p, key.col, "unknown device line '@%s'; did you mean '@%s'?",
                           tp_tok_str(&key, shown, sizeof shown), near);
        return tp_fail(p, key.col, "unknown device line '@%s'; expected @%s", tp_tok_str(&key, shown, sizeof shown),
                       trace_words_list(&trace_device_words, list, sizeof list));
    }
    struct trace_device *dev = &line->device;
    dev->kind = (enum trace_device_kind)k;
    int rc;
    switch (dev->kind) {
    case TRACE_DEV_NEXUS: rc = device_nexus(p, dev, first); break;
    case TRACE_DEV_DRIVE: return device_drive(p, line, first);
    case TRACE_DEV_CONTROLLER: return device_controller(p, line);
    case TRACE_DEV_TITLE: return device_title(p, dev);
    case TRACE_DEV_REQUIRES: return device_requires(p, dev);
    case TRACE_DEV_TIMEOUT: return device_timeout(p, dev);
    case TRACE_DEV_HOST: return tp_device_host(p, line);
    case TRACE_DEV_MATCH: return device_match(p, dev);
    case TRACE_DEV_BASIS: return tp_device_basis(p, line, first);
    default: rc = -EINVAL; break;
    }
    if (rc)
        return rc;
    struct tp_tok extra;
    int got = tp_next(p, &extra);
    if (got == 1)
        return tp_fail(p, extra.col, "unexpected '%s' after @%s's value", tp_tok_str(&extra, shown, sizeof shown),
                       trace_word(&trace_device_words, dev->kind));
    return got < 0 ? got : 0;
}

int tp_device_finish(struct tp *p)
{
    if (!p->o->check_device_end)
        return 0;
    uint32_t targets = 0, luns = 0;
    struct located_error e = { .column = 0 };
    int refused = p->o->check_device_end(p->o->arg, &targets, &luns, &e);
    /* Drives must lie within the limits the device lines end with. */
    for (size_t i = 0; i < p->n_drives; i++) {
        const struct trace_line *l = &p->t->lines[p->drives[i].line];
        const struct trace_device *d = &l->device;
        unsigned col = p->drives[i].col;
        if (d->target >= targets)
            return tp_fail_at(p, l, col, "drive %u:%u: target %u is outside max-targets = %u (targets 0..%u); "
                              "raise it with @controller max-targets=N or renumber the drive",
                              d->target, d->lun, d->target, targets, targets - 1);
        if (d->lun >= luns)
            return tp_fail_at(p, l, col, "drive %u:%u: LUN %u is outside max-luns = %u (LUNs 0..%u); raise it "
                              "with @controller max-luns=N or renumber the drive",
                              d->target, d->lun, d->lun, luns, luns - 1);
    }
    if (refused) {
        if (p->err) {
            snprintf(p->err->file, sizeof p->err->file, "%s", p->name);
            p->err->line = 0;
            snprintf(p->err->message, sizeof p->err->message, "the device lines describe a controller the "
                     "simulator refuses: %.400s", e.message);
        }
        return -EINVAL;
    }
    return 0;
}
