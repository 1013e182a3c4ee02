/* conformance/format/trace_parse.c — reading a trace: lines from a file or a buffer
 * (bounded, checked for NUL bytes and UTF-8), the version line, and the
 * dispatch of each line to its module. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_names.h"

/* Where lines come from. */
struct source {
    FILE       *f;
    const char *buf;
    size_t      buf_len, buf_pos;
    char       *line;         /* TRACE_LINE_MAX + 1 bytes, for files */
    uint64_t    offset;       /* of the next line */
};

/* Next line into *s and *len (line end removed).  1, 0 at the end, -E2BIG for a line
 * longer than TRACE_LINE_MAX (*len = bytes read), -EIO on a read error. */
static int next_line(struct source *src, const char **s, size_t *len, bool *newline)
{
    if (src->buf) {
        if (src->buf_pos >= src->buf_len)
            return 0;
        const char *start = src->buf + src->buf_pos;
        size_t avail = src->buf_len - src->buf_pos;
        const char *nl = memchr(start, '\n', avail);
        size_t n = nl ? (size_t)(nl - start) : avail;
        *s = start;
        *newline = nl != NULL;
        if (n > TRACE_LINE_MAX && !(n == TRACE_LINE_MAX + 1 && start[TRACE_LINE_MAX] == '\r')) {
            *len = n;
            return -E2BIG;
        }
        *len = n;
        src->buf_pos += n + (nl != NULL);
        return 1;
    }
    size_t n = 0;
    int c;
    bool nl = false;
    while ((c = getc_unlocked(src->f)) != EOF) {
        if (c == '\n') {
            nl = true;
            break;
        }
        if (n == TRACE_LINE_MAX + 1) { /* one byte of room for a CR before LF */
            *s = src->line;
            *len = n;
            return -E2BIG;
        }
        src->line[n++] = (char)c;
    }
    if (ferror(src->f))
        return -EIO;
    if (c == EOF && n == 0)
        return 0;
    if (n == TRACE_LINE_MAX + 1 && src->line[n - 1] != '\r') {
        *s = src->line;
        *len = n;
        return -E2BIG;
    }
    *s = src->line;
    *len = n;
    *newline = nl;
    return 1;
}

/* NUL bytes, control characters and invalid UTF-8 are errors with the byte's
 * file offset. */
static int check_text(struct tp *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t i = 0;
    while (i < p->len) {
        unsigned char c = s[i];
        if (c == 0)
            return tp_fail(p, (unsigned)i + 1, "NUL byte at file offset %llu: this is not a text file (a trace is "
                           "UTF-8 text)", (unsigned long long)(p->offset + i));
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return tp_fail(p, (unsigned)i + 1, "control character 0x%02X at file offset %llu; a trace is text "
                           "(blanks are spaces and tabs)", c, (unsigned long long)(p->offset + i));
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        bool ok = n > 0 && i + n <= p->len;
        for (size_t k = 1; ok && k < n; k++)
            ok = (s[i + k] & 0xC0) == 0x80;
        if (ok && n == 3)
            ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0); /* overlong, surrogates */
        if (ok && n == 4)
            ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90); /* overlong, > U+10FFFF */
        if (!ok) {
            size_t bad = i;
            if (n > 0) /* point at the first byte that breaks the sequence */
                for (size_t k = 1; k < n && i + k < p->len; k++)
                    if ((s[i + k] & 0xC0) != 0x80) {
                        bad = i + k;
                        break;
                    }
            return tp_fail(p, (unsigned)bad + 1, "invalid UTF-8 byte 0x%02X at file offset %llu; a trace is UTF-8 "
                           "text", s[bad], (unsigned long long)(p->offset + bad));
        }
        i += n;
    }
    return 0;
}

static int version_line(struct tp *p)
{
    static const char magic[] = "#!scsitrace";
    size_t ml = sizeof magic - 1;
    if (p->len >= 3 && !memcmp(p->s, "\xEF\xBB\xBF", 3)) { /* a UTF-8 byte order mark is tolerated */
        p->s += 3;
        p->len -= 3;
        p->offset += 3;
    }
    if (p->len < ml || memcmp(p->s, magic, ml) || (p->len > ml && p->s[ml] != ' ')) {
        char shown[40];
        struct tp_tok all = { p->s, p->len, 1 };
        return tp_fail(p, 1, "the first line must be '#!scsitrace 1' (found '%s'); is this a scsitrace file?",
                       tp_tok_str(&all, shown, sizeof shown));
    }
    struct tp_tok v = { p->s + ml + 1, p->len > ml + 1 ? p->len - ml - 1 : 0, (unsigned)ml + 2 };
    if (v.len == 0)
        return tp_fail(p, (unsigned)ml + 1, "missing format version; the first line must be '#!scsitrace 1'");
    if (tp_tok_is(&v, "1"))
        return 0;
    char shown[40];
    size_t digits = 0;
    while (digits < v.len && v.s[digits] >= '0' && v.s[digits] <= '9')
        digits++;
    if (digits == v.len)
        return tp_fail(p, v.col, "unsupported trace format version %s; this scsisim reads version %d",
                       tp_tok_str(&v, shown, sizeof shown), TRACE_FORMAT_VERSION);
    return tp_fail(p, v.col, "unexpected '%s' in the first line; it must be exactly '#!scsitrace 1'",
                   tp_tok_str(&v, shown, sizeof shown));
}

static struct trace_line *add_line(struct tp *p, enum trace_line_kind kind)
{
    struct trace *t = p->t;
    if (t->n_lines == p->cap_lines) {
        size_t ncap = p->cap_lines ? p->cap_lines * 2 : 32;
        struct trace_line *nl = realloc(t->lines, ncap * sizeof(*nl));
        if (!nl)
            return NULL;
        t->lines = nl;
        p->cap_lines = ncap;
    }
    struct trace_line *line = &t->lines[t->n_lines];
    memset(line, 0, sizeof(*line));
    line->kind = kind;
    line->lineno = p->lineno;
    line->offset = p->offset;
    if (kind == TRACE_LINE_RECORD)
        line->record.task = line->record.next_piece = TRACE_NONE;
    return line;
}

static int set_comment(struct tp *p, struct trace_line *line, const char *s, size_t len)
{
    line->comment = strndup(s, len);
    return line->comment ? 0 : tp_fail(p, 1, "out of memory");
}

static int content_line(struct tp *p)
{
    size_t i = 0;
    while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
        i++;
    enum trace_line_kind kind = i == p->len ? TRACE_LINE_BLANK
                              : p->s[i] == '#' ? TRACE_LINE_COMMENT
                              : p->s[i] == '@' ? TRACE_LINE_DEVICE
                                               : TRACE_LINE_RECORD;
    struct trace_line *line = add_line(p, kind);
    if (!line)
        return tp_fail(p, 1, "out of memory");
    /* Counted at once: on an error the whole tree is freed, this line with it. */
    p->t->n_lines++;
    int rc = 0;
    struct tp_tok first;
    p->pos = 0;
    switch (kind) {
    case TRACE_LINE_BLANK:
        break;
    case TRACE_LINE_COMMENT:
        rc = set_comment(p, line, p->s + i, p->len - i);
        break;
    case TRACE_LINE_DEVICE:
    case TRACE_LINE_RECORD:
        rc = tp_next(p, &first);
        if (rc == 1)
            rc = kind == TRACE_LINE_DEVICE ? tp_device_line(p, line, &first) : tp_record_line(p, line, &first);
        if (rc == 0) {
            size_t clen;
            const char *c = tp_comment(p, &clen);
            if (c)
                rc = set_comment(p, line, c, clen);
        }
        break;
    }
    return rc;
}

static void parser_free(struct tp *p)
{
    trace_map_free(&p->open);
    trace_map_free(&p->holds);
    trace_map_free(&p->marks);
    free(p->drives);
}

static int parse_source(const char *name, struct source *src, const struct trace_parse_options *o,
                        struct trace **out, struct located_error *err)
{
    static const struct trace_parse_options none;
    *out = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    struct trace *t = calloc(1, sizeof(*t));
    struct tp p = { .err = err, .name = name, .t = t, .o = o ? o : &none };
    if (!t || !(t->name = strdup(name))) {
        free(t);
        tp_fail(&p, 0, "out of memory");
        return -ENOMEM;
    }
    t->basis_line = TRACE_NONE;
    trace_map_init(&p.open);
    trace_map_init(&p.holds);
    trace_map_init(&p.marks);
    for (int i = 0; i < 3; i++)
        p.within[i].line = TRACE_NONE;

    int rc = 0, got;
    while (rc == 0) {
        p.offset = src->offset;
        got = next_line(src, &p.s, &p.len, &p.newline);
        if (got == 0)
            break;
        p.lineno++;
        if (got == -E2BIG) {
            p.newline = true;
            rc = tp_fail(&p, TRACE_LINE_MAX + 1, "line longer than %u bytes; a trace line holds at most %u bytes "
                         "(write long data with xx*N repeats)", TRACE_LINE_MAX, TRACE_LINE_MAX);
            break;
        }
        if (got < 0) {
            rc = tp_fail(&p, 0, "read error: %s", strerror(-got));
            break;
        }
        src->offset += p.len + p.newline;
        if (p.len > 0 && p.s[p.len - 1] == '\r')
            p.len--; /* CRLF line ends */
        rc = check_text(&p);
        if (rc == 0)
            rc = p.lineno == 1 ? version_line(&p) : content_line(&p);
    }
    if (rc == 0 && p.lineno == 0) {
        p.lineno = 1;
        p.newline = true;
        rc = tp_fail(&p, 1, "empty file; a trace starts with the line '#!scsitrace 1'");
    }
    if (rc == 0 && !p.seen_record)
        rc = tp_device_finish(&p);
    if (rc == 0)
        rc = tp_tasks_finish(&p);
    parser_free(&p);
    if (rc == 0 && t->n_lines && t->n_lines < p.cap_lines) {
        struct trace_line *fit = realloc(t->lines, t->n_lines * sizeof(*fit));
        if (fit)
            t->lines = fit;
    }
    if (rc) {
        trace_free(t);
        return rc == -ENOMEM ? -ENOMEM : rc < 0 ? rc : -EINVAL;
    }
    *out = t;
    return 0;
}

int trace_parse_buffer_with(const char *name, const char *buf, size_t len, const struct trace_parse_options *o,
                            struct trace **out, struct located_error *err)
{
    struct source src = { .buf = buf ? buf : "", .buf_len = buf ? len : 0 };
    return parse_source(name, &src, o, out, err);
}

int trace_parse_stream_with(const char *name, FILE *in, const struct trace_parse_options *o, struct trace **out,
                            struct located_error *err)
{
    struct source src = { .f = in, .line = malloc(TRACE_LINE_MAX + 2) };
    if (!src.line) {
        *out = NULL;
        return -ENOMEM;
    }
    int rc = parse_source(name, &src, o, out, err);
    free(src.line);
    return rc;
}

int trace_parse_file_with(const char *path, const struct trace_parse_options *o, struct trace **out,
                          struct located_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        *out = NULL;
        if (err)
            located_set(err, path, 0, 0, 0, "cannot open the trace: %s", strerror(e));
        return -e;
    }
    int rc = trace_parse_stream_with(path, f, o, out, err);
    fclose(f);
    return rc;
}
