/* conformance/format/trace_parse_record.c — record lines: TIME LAYER DIR NEXUS TAG
 * VERB args, and the arguments of CMD, DOUT, DIN and STATUS.  TMF and the
 * directives are in trace_parse_directive.c; what records mean together
 * (tags, tasks) is in trace_tasks.c. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_names.h"
#include "scsi/scsi.h"

static int need(struct tp *p, struct tp_tok *tok, const char *what)
{
    int got = tp_next(p, tok);
    if (got == 1)
        return 0;
    if (got < 0)
        return got;
    return tp_fail(p, tp_end_col(p), "the record ends early: expected %s", what);
}

static int field_time(struct tp *p, const struct tp_tok *tok, struct trace_record *r)
{
    char shown[48];
    if (tp_tok_is(tok, "-"))
        return 0;
    if (tok->s[0] != '+')
        return tp_fail(p, tok->col, "bad time '%s'; a record starts with its time: +SECONDS since the start of the "
                       "trace (e.g. +0.250) or '-' when unknown", tp_tok_str(tok, shown, sizeof shown));
    struct tp_tok num = { tok->s + 1, tok->len - 1, tok->col + 1 };
    if (tp_seconds(p, &num, "time", &r->time_ns))
        return -EINVAL;
    r->time_known = true;
    return 0;
}

static int field_layer(struct tp *p, const struct tp_tok *tok, struct trace_record *r)
{
    char shown[48];
    if (tok->len != 1 || (tok->s[0] != 'H' && tok->s[0] != 'C' && tok->s[0] != 'W'))
        return tp_fail(p, tok->col, "bad layer '%s'; expected H (host), C (controller) or W (wire)",
                       tp_tok_str(tok, shown, sizeof shown));
    r->layer = tok->s[0];
    return 0;
}

static int field_dir(struct tp *p, const struct tp_tok *tok, struct trace_record *r)
{
    char shown[48];
    if (tok->len != 1 || (tok->s[0] != '>' && tok->s[0] != '<' && tok->s[0] != '!'))
        return tp_fail(p, tok->col, "bad direction '%s'; expected '>' (to the target), '<' (from the target) or '!' "
                       "(a directive)", tp_tok_str(tok, shown, sizeof shown));
    r->dir = tok->s[0];
    return 0;
}

/* Options after a CMD's CDB or a STATUS's alternatives: key=value tokens. */
static int option_u32(struct tp *p, const struct tp_tok *tok, const struct tp_tok *key, const struct tp_tok *val,
                      bool *given, uint32_t *out)
{
    char shown[48];
    if (*given)
        return tp_fail(p, tok->col, "option '%s' given twice", tp_tok_str(key, shown, sizeof shown));
    uint64_t v;
    char what[TRACE_NAME_MAX + 1];
    tp_tok_str(key, what, sizeof what);
    if (tp_u64(p, val, what, UINT32_MAX, &v))
        return -EINVAL;
    *given = true;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_args(struct tp *p, struct trace_record *r)
{
    char shown[48];
    struct trace_cmd *c = &r->cmd;
    struct tp_tok tok, key, val;
    unsigned rules = TP_PAT_NO_REST | (r->layer == 'C' ? 0 : TP_PAT_CONCRETE);
    unsigned cdb_col = tp_end_col(p), pieces_col = 0;
    size_t save = p->pos;
    if (tp_next(p, &tok) == 1)
        cdb_col = tok.col;
    p->pos = save;
    if (tp_pattern_line(p, "CDB", rules, &c->cdb, &tok))
        return -EINVAL;
    if (c->cdb.length == 0)
        return tp_fail(p, cdb_col, "CMD needs a CDB (hex bytes, e.g. CMD 00 00 00 00 00 00)");
    if (c->cdb.length > TRACE_CDB_MAX)
        return tp_fail(p, cdb_col, "CDB of %llu bytes is too long; at most %u bytes",
                       (unsigned long long)c->cdb.length, TRACE_CDB_MAX);
    uint8_t op, mask;
    if (trace_pattern_at(&c->cdb, 0, &op, &mask) && mask == 0xFF) {
        int want = scsi_cdb_length(op);
        if (want && (uint64_t)want != c->cdb.length) {
            char name[64];
            scsi_opcode_name(&op, 1, name, sizeof name);
            return tp_fail(p, cdb_col, "CDB of %llu bytes for opcode 0x%02x (%s); opcodes of group %u have %d-byte "
                           "CDBs", (unsigned long long)c->cdb.length, op, name, op >> 5, want);
        }
    }
    int got = tok.len ? 1 : 0;
    for (; got == 1; got = tp_next(p, &tok)) {
        if (!tp_split_kv(&tok, &key, &val))
            return tp_fail(p, tok.col, "unexpected '%s' after the CMD options; CDB bytes come before len=, dir=, pieces= and attr=",
                           tp_tok_str(&tok, shown, sizeof shown));
        if (tp_tok_is(&key, "len")) {
            if (option_u32(p, &tok, &key, &val, &c->len_given, &c->len))
                return -EINVAL;
        } else if (tp_tok_is(&key, "dir")) {
            if (c->dir_given)
                return tp_fail(p, tok.col, "option 'dir' given twice");
            if (tp_tok_is(&val, "in"))
                c->dir = TRACE_DATA_IN;
            else if (tp_tok_is(&val, "out"))
                c->dir = TRACE_DATA_OUT;
            else if (tp_tok_is(&val, "none"))
                c->dir = TRACE_DATA_NONE;
            else
                return tp_fail(p, val.col, "bad data direction '%s'; expected dir=in, dir=out or dir=none",
                               tp_tok_str(&val, shown, sizeof shown));
            c->dir_given = true;
        } else if (tp_tok_is(&key, "pieces")) {
            bool given = c->pieces != 0;
            uint32_t n = 0;
            if (option_u32(p, &tok, &key, &val, &given, &n))
                return -EINVAL;
            if (n == 0 || n > TRACE_PIECES_MAX)
                return tp_fail(p, val.col, "pieces=%u is out of range; the host buffer is 1 to %u pieces", n,
                               TRACE_PIECES_MAX);
            if (r->layer == 'C')
                return tp_fail(p, tok.col, "pieces= describes the host's buffer: it belongs to the command at "
                               "layer H or W, not at layer C");
            c->pieces = n;
            pieces_col = tok.col;
        } else if (tp_tok_is(&key, "attr")) {
            if (c->attr_given)
                return tp_fail(p, tok.col, "option 'attr' given twice");
            int a = trace_words_find(&trace_attr_words, val.s, val.len);
            if (a < 0)
                return tp_fail(p, val.col, "bad task attribute '%s'; expected attr=simple, attr=ordered, attr=head or "
                               "attr=aca", tp_tok_str(&val, shown, sizeof shown));
            c->attr = (enum trace_task_attr)a;
            c->attr_given = true;
        } else {
            return tp_fail(p, tok.col, "unknown CMD option '%s'; expected len=N, dir=in|out|none, pieces=N or "
                           "attr=simple|ordered|head|aca",
                           tp_tok_str(&key, shown, sizeof shown));
        }
    }
    if (got < 0)
        return got;
    if (c->pieces && c->len < c->pieces)
        return tp_fail(p, pieces_col, "pieces=%u needs at least one byte per piece; the command moves %u byte(s) "
                       "(len=)", c->pieces, c->len);
    if (c->len > 0 && c->dir == TRACE_DATA_NONE)
        return tp_fail(p, cdb_col, "len=%u moves data: add dir=in (from the target) or dir=out (to the target)",
                       c->len);
    if (c->len == 0 && c->dir != TRACE_DATA_NONE)
        return tp_fail(p, cdb_col, "dir=%s needs len=N (bytes); a command without data has dir=none (the default)",
                       c->dir == TRACE_DATA_IN ? "in" : "out");
    return 0;
}

/* DOUT / DIN [offset=N] DATA: offset= places a piece of the command's data
 * (docs/trace-format.md, "DOUT"); trace_tasks.c checks the pieces fit. */
static int data_args(struct tp *p, struct trace_record *r)
{
    char shown[48];
    bool out = r->verb == TRACE_VERB_DOUT;
    const char *verb = out ? "DOUT" : "DIN";
    const char *what = out ? "DOUT data" : "DIN data";
    unsigned rules = out && r->layer != 'C' ? TP_PAT_CONCRETE : TP_PAT_ANY;
    struct tp_tok tok = { 0 }, key, val, stop;
    size_t save = p->pos;
    bool option = tp_next(p, &tok) == 1 && tok.s[0] != '"' && tp_split_kv(&tok, &key, &val);
    if (option) {
        if (!tp_tok_is(&key, "offset"))
            return tp_fail(p, tok.col, "unknown %s option '%s'; expected offset=N (the piece's byte offset in the "
                           "command's data) before the data", verb, tp_tok_str(&key, shown, sizeof shown));
        if (option_u32(p, &tok, &key, &val, &r->offset_given, &r->offset))
            return -EINVAL;
        save = p->pos;
    }
    unsigned offset_col = tok.col;
    p->pos = save;
    unsigned col = tp_end_col(p);
    if (tp_next(p, &tok) == 1)
        col = tok.col;
    p->pos = save;
    p->piece_col = option ? offset_col : col;
    if (tp_pattern_line(p, what, rules, &r->data, &stop))
        return -EINVAL;
    if (stop.len)
        return tp_fail(p, stop.col, "unexpected '%s': %s takes offset=N first, then only data (hex bytes, "
                       "\"text\", xx*N, '..')", tp_tok_str(&stop, shown, sizeof shown), verb);
    if (r->data.length == 0 && !r->data.rest)
        return tp_fail(p, col, "%s needs data (hex bytes, \"text\", xx*N or '..')", out ? "DOUT" : "DIN");
    return 0;
}

/* A piece of the alternatives: text between '|' and blanks. */
struct piece {
    struct tp_tok tok;
    bool after_bar;   /* preceded by '|' (or first) */
};

static int add_alt(struct tp *p, struct trace_status *st, unsigned col)
{
    if (st->n_alts == TRACE_ALTS_MAX)
        return tp_fail(p, col, "more than %u alternatives in one STATUS", TRACE_ALTS_MAX);
    memset(&st->alts[st->n_alts], 0, sizeof(st->alts[0]));
    st->n_alts++;
    return 0;
}

static int status_piece(struct tp *p, struct trace_status *st, const struct piece *pc, bool *check_open)
{
    char shown[48];
    const struct tp_tok *t = &pc->tok;
    if (t->len == 0)
        return tp_fail(p, t->col, "missing status after '|'; expected %s", trace_status_list());
    int code = trace_status_find(t->s, t->len);
    if (!pc->after_bar) {
        /* blank-separated: only the sense of an open CHECK */
        if (!*check_open || code >= 0)
            return tp_fail(p, t->col, "unexpected '%s' after the status; separate alternatives with '|' (e.g. "
                           "GOOD|CHECK UNIT_ATTENTION/0x29/0x00)", tp_tok_str(t, shown, sizeof shown));
        struct trace_status_alt *a = &st->alts[st->n_alts - 1];
        if (tp_sense_spec(p, t, &a->sense))
            return -EINVAL;
        a->sense_given = true;
        *check_open = false;
        return 0;
    }
    if (code >= 0) {
        if (add_alt(p, st, t->col))
            return -EINVAL;
        st->alts[st->n_alts - 1].status = (uint16_t)code;
        *check_open = code == SCSI_STATUS_CHECK_CONDITION;
        return 0;
    }
    /* "CHECK a|b": a further sense after '|' is another CHECK alternative. */
    if (memchr(t->s, '/', t->len) && st->n_alts > 0 && st->alts[st->n_alts - 1].sense_given) {
        if (add_alt(p, st, t->col))
            return -EINVAL;
        struct trace_status_alt *a = &st->alts[st->n_alts - 1];
        a->status = SCSI_STATUS_CHECK_CONDITION;
        a->sense_given = true;
        *check_open = false;
        return tp_sense_spec(p, t, &a->sense);
    }
    if (memchr(t->s, '/', t->len))
        return tp_fail(p, t->col, "sense '%s' without CHECK; write CHECK %s", tp_tok_str(t, shown, sizeof shown),
                       tp_tok_str(t, shown, sizeof shown));
    return tp_fail(p, t->col, "unknown status '%s'; expected %s", tp_tok_str(t, shown, sizeof shown),
                   trace_status_list());
}

/* standard=ALT|ALT...: the alternatives in one token, so a CHECK is written
 * as its sense alone (UNIT_ATTENTION/0x29/??) and a bare status by name. */
static int standard_alts(struct tp *p, struct trace_status *st, const struct tp_tok *val)
{
    if (st->n_std_alts)
        return tp_fail(p, val->col, "option 'standard' given twice");
    struct trace_status into = { .n_alts = 0 };
    size_t i = 0;
    do {
        size_t a = i;
        while (i < val->len && val->s[i] != '|')
            i++;
        struct tp_tok t = { val->s + a, i - a, val->col + (unsigned)a };
        if (t.len == 0)
            return tp_fail(p, t.col, "standard= needs alternatives such as UNIT_ATTENTION/0x29/??|GOOD (a sense "
                           "alone stands for CHECK with it)");
        if (add_alt(p, &into, t.col))
            return -EINVAL;
        struct trace_status_alt *alt = &into.alts[into.n_alts - 1];
        if (memchr(t.s, '/', t.len)) {
            alt->status = SCSI_STATUS_CHECK_CONDITION;
            alt->sense_given = true;
            if (tp_sense_spec(p, &t, &alt->sense))
                return -EINVAL;
        } else {
            int code = trace_status_find(t.s, t.len);
            char shown[48];
            if (code < 0)
                return tp_fail(p, t.col, "unknown status '%s' in standard=; expected %s, or a sense such as "
                               "UNIT_ATTENTION/0x29/?? for CHECK with it", tp_tok_str(&t, shown, sizeof shown),
                               trace_status_list());
            alt->status = (uint16_t)code;
        }
    } while (i++ < val->len);
    st->n_std_alts = into.n_alts;
    memcpy(st->std_alts, into.alts, into.n_alts * sizeof into.alts[0]);
    return 0;
}

static int status_args(struct tp *p, struct trace_record *r)
{
    char shown[48];
    struct trace_status *st = &r->status;
    struct tp_tok tok, key, val;
    bool check_open = false, seen_piece = false;
    unsigned bars = 0, bar_col = 0; /* '|' since the last piece */
    int got;
    unsigned col = tp_end_col(p), first_col = 0;
    /* Alternatives may be written "GOOD|BUSY", "GOOD | BUSY" or "CHECK 5/24/00|5/20/00":
     * pieces are split at '|' and at blanks; what separates two pieces decides. */
    while ((got = tp_next(p, &tok)) == 1) {
        if (memchr(tok.s, '=', tok.len))
            break;
        if (!first_col)
            first_col = tok.col;
        size_t i = 0;
        while (i < tok.len) {
            if (tok.s[i] == '|') {
                bars++;
                bar_col = tok.col + (unsigned)i;
                if (!seen_piece)
                    return tp_fail(p, bar_col, "'|' before the first status; expected %s", trace_status_list());
                if (bars > 1)
                    return tp_fail(p, bar_col, "missing status between two '|'");
                i++;
                continue;
            }
            size_t a = i;
            while (i < tok.len && tok.s[i] != '|')
                i++;
            struct piece pc = { { tok.s + a, i - a, tok.col + (unsigned)a }, !seen_piece || bars > 0 };
            if (status_piece(p, st, &pc, &check_open))
                return -EINVAL;
            seen_piece = true;
            bars = 0;
        }
    }
    if (got < 0)
        return got;
    if (bars)
        return tp_fail(p, bar_col + 1, "missing status after '|'; expected %s", trace_status_list());
    if (st->n_alts == 0)
        return tp_fail(p, got == 1 ? tok.col : col, "STATUS needs a status; expected %s", trace_status_list());
    for (; got == 1; got = tp_next(p, &tok)) {
        if (!tp_split_kv(&tok, &key, &val))
            return tp_fail(p, tok.col, "unexpected '%s' after the STATUS options; statuses come before resid=, "
                           "xfer= and sense=", tp_tok_str(&tok, shown, sizeof shown));
        if (tp_tok_is(&key, "resid")) {
            if (option_u32(p, &tok, &key, &val, &st->resid_given, &st->resid))
                return -EINVAL;
        } else if (tp_tok_is(&key, "xfer")) {
            if (option_u32(p, &tok, &key, &val, &st->xfer_given, &st->xfer))
                return -EINVAL;
        } else if (tp_tok_is(&key, "sense")) {
            if (st->sense_pattern_given)
                return tp_fail(p, tok.col, "option 'sense' given twice");
            if (tp_pattern_value(p, &val, "sense= pattern", TP_PAT_ANY, &st->sense_pattern))
                return -EINVAL;
            st->sense_pattern_given = true;
            if (st->sense_pattern.length > SCSI_SENSE_MAX)
                return tp_fail(p, val.col, "sense= describes %llu bytes; sense data is at most %u bytes",
                               (unsigned long long)st->sense_pattern.length, SCSI_SENSE_MAX);
        } else if (tp_tok_is(&key, "standard")) {
            if (standard_alts(p, st, &val))
                return -EINVAL;
        } else {
            return tp_fail(p, tok.col, "unknown STATUS option '%s'; expected resid=N, xfer=N, sense=BYTES or "
                           "standard=ALT|ALT", tp_tok_str(&key, shown, sizeof shown));
        }
    }
    if (got < 0)
        return got;
    if (st->sense_pattern_given) {
        bool any_check = false;
        for (size_t i = 0; i < st->n_alts; i++)
            any_check |= st->alts[i].status == SCSI_STATUS_CHECK_CONDITION;
        if (!any_check)
            return tp_fail(p, first_col, "sense= needs a CHECK alternative: only CHECK CONDITION returns sense data");
    }
    return 0;
}

static const char verb_dir[] = { [TRACE_VERB_CMD] = '>', [TRACE_VERB_DOUT] = '>', [TRACE_VERB_DIN] = '<',
                                  [TRACE_VERB_STATUS] = '<', [TRACE_VERB_TMF] = 0 };

static int verb(struct tp *p, const struct tp_tok *tok, struct trace_record *r)
{
    char shown[48];
    if (r->dir == '!') {
        if (trace_words_find(&trace_verb_words, tok->s, tok->len) >= 0)
            return tp_fail(p, tok->col, "%s is not a directive; a record with direction '!' is a harness directive "
                           "(power-loss, reset, mark, ...)", tp_tok_str(tok, shown, sizeof shown));
        r->verb = TRACE_VERB_DIRECTIVE;
        return 0;
    }
    int v = trace_words_find(&trace_verb_words, tok->s, tok->len);
    if (v < 0) {
        char list[128];
        if (trace_words_find(&trace_directive_words, tok->s, tok->len) >= 0)
            return tp_fail(p, tok->col, "'%s' is a directive: write '!' as the direction and '-' as the tag",
                           tp_tok_str(tok, shown, sizeof shown));
        const char *near = trace_words_suggest(&trace_verb_words, tok->s, tok->len);
        if (near)
            return tp_fail(p, tok->col, "unknown verb '%s'; did you mean '%s'?", tp_tok_str(tok, shown, sizeof shown),
                           near);
        return tp_fail(p, tok->col, "unknown verb '%s'; expected %s", tp_tok_str(tok, shown, sizeof shown),
                       trace_words_list(&trace_verb_words, list, sizeof list));
    }
    r->verb = (enum trace_verb)v;
    if (verb_dir[v] && verb_dir[v] != r->dir)
        return tp_fail(p, tok->col, "%s goes %s the target: write '%c' as the direction", trace_verb_words.words[v],
                       verb_dir[v] == '>' ? "to" : "from", verb_dir[v]);
    return 0;
}

int tp_record_line(struct tp *p, struct trace_line *line, const struct tp_tok *first)
{
    char shown[48];
    struct trace_record *r = &line->record;
    struct tp_tok tok, tag_tok, verb_tok;
    if (!p->seen_record) {
        p->seen_record = true;
        int rc = tp_device_finish(p);
        if (rc)
            return rc;
    }
    if (field_time(p, first, r))
        return -EINVAL;
    if (need(p, &tok, "LAYER (H, C or W) after the time") || field_layer(p, &tok, r))
        return -EINVAL;
    if (need(p, &tok, "DIRECTION ('>', '<' or '!') after the layer") || field_dir(p, &tok, r))
        return -EINVAL;
    if (need(p, &tok, "NEXUS (host:channel:target:lun, or '-' for the default) after the direction"))
        return -EINVAL;
    if (!tp_tok_is(&tok, "-")) {
        if (tp_nexus(p, &tok, &r->nexus))
            return -EINVAL;
        r->nexus_given = true;
    }
    if (need(p, &tag_tok, "TAG (a name or number, or '-' for a directive) after the nexus"))
        return -EINVAL;
    if (need(p, &verb_tok, r->dir == '!' ? "a directive after the tag" : "a VERB (CMD, DOUT, DIN, STATUS or TMF) "
             "after the tag") || verb(p, &verb_tok, r))
        return -EINVAL;
    if (r->verb == TRACE_VERB_DIRECTIVE) {
        if (!tp_tok_is(&tag_tok, "-"))
            return tp_fail(p, tag_tok.col, "a directive has no tag: write '-' in the TAG column (found '%s')",
                           tp_tok_str(&tag_tok, shown, sizeof shown));
    } else {
        if (tp_tok_is(&tag_tok, "-"))
            return tp_fail(p, tag_tok.col, "%s needs a tag (a name or number tying a command's records together), "
                           "not '-'", trace_verb_words.words[r->verb]);
        if (tp_tag(p, &tag_tok, "tag", r->tag))
            return -EINVAL;
    }
    int rc;
    switch (r->verb) {
    case TRACE_VERB_CMD: rc = cmd_args(p, r); break;
    case TRACE_VERB_DOUT:
    case TRACE_VERB_DIN: rc = data_args(p, r); break;
    case TRACE_VERB_STATUS: rc = status_args(p, r); break;
    case TRACE_VERB_TMF: rc = tp_tmf(p, r); break;
    default: rc = tp_directive(p, r, &verb_tok); break;
    }
    if (rc)
        return rc;
    return tp_task_record(p, p->t->n_lines - 1, &tag_tok);
}
