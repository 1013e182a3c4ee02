/* conformance/format/trace_priv.h — what the trace parser's modules share and nobody
 * else needs: the parser state, the token reader, number readers and the
 * bookkeeping of open tags.
 *
 * The parser works one line at a time (trace_parse.c): the line reader hands
 * over at most TRACE_LINE_MAX bytes, checked for NUL bytes and UTF-8; the token
 * reader splits it at blanks (quotes keep blanks, '#' after a blank starts a
 * comment); each kind of line has its own module.  The first error stops the
 * parse: a later error could be a consequence of the first.
 */
#ifndef CONFORMANCE_TRACE_PRIV_H
#define CONFORMANCE_TRACE_PRIV_H

#include <stdarg.h>

#include "conformance/format/trace.h"
#include "conformance/format/trace_map.h"
#include "conformance/format/trace_print.h"

/* One token of a line: s[0..len) at column col (1-based). */
struct tp_tok {
    const char *s;
    size_t      len;
    unsigned    col;
};

/* Pending "within" per layer (H, C, W). */
struct tp_within {
    size_t   line;       /* index in t->lines, TRACE_NONE when none is pending */
    uint32_t remaining;
};

/* An @drive line and the column of its address. */
struct tp_drive {
    size_t   line;
    unsigned col;
};

struct tp {
    struct located_error *err;
    const char *name;
    struct trace *t;
    size_t   cap_lines, cap_tasks;
    /* the current line */
    const char *s;
    size_t   len;
    size_t   pos;          /* token reader position */
    unsigned lineno;
    uint64_t offset;       /* file offset of s[0] */
    bool     newline;      /* the line ended with a line feed */
    /* state */
    bool     seen_record;
    const struct trace_parse_options *o; /* never NULL (the parser's own empty options) */
    struct trace_map open;          /* layer+tag -> task index (tasks without a response) */
    struct trace_map holds;         /* layer+tag -> hold line index, until its CMD comes */
    struct trace_map marks;         /* name -> line index */
    struct tp_within within[3];
    struct tp_drive *drives;
    size_t   n_drives;
    unsigned ref_col;               /* column of a TMF's task tag argument */
    unsigned piece_col;             /* column of a DOUT's / DIN's offset= (else of its data) */
};

/* Fills p->err for column col of the current line; returns -EINVAL. */
int tp_fail(struct tp *p, unsigned col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same for another line (an earlier record, found wrong at the end). */
int tp_fail_at(struct tp *p, const struct trace_line *line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Column just after the end of the line's content (for "expected X" at the end). */
unsigned tp_end_col(const struct tp *p);

/* Token reader over the current line.  1 with *tok filled, 0 at the end of the
 * line or at a trailing comment (see tp_comment), -EINVAL on an unterminated
 * quote (with the error filled). */
int  tp_next(struct tp *p, struct tp_tok *tok);
/* The trailing comment of the line (after tp_next returned 0), or NULL. */
const char *tp_comment(const struct tp *p, size_t *len);
bool tp_tok_is(const struct tp_tok *tok, const char *word);
/* Copies a token into buf (truncated, NUL-terminated) for messages. */
const char *tp_tok_str(const struct tp_tok *tok, char *buf, size_t len);
/* "key=value": splits at the first '='; false when there is none. */
bool tp_split_kv(const struct tp_tok *tok, struct tp_tok *key, struct tp_tok *value);

/* Numbers.  Each returns 0 or fails (naming `what`) with the column of tok. */
int tp_u64(struct tp *p, const struct tp_tok *tok, const char *what, uint64_t max, uint64_t *out);
/* One hex byte: "24" or "0x24" (hex either way, as in 5/24/00). */
int tp_hex_byte(struct tp *p, const struct tp_tok *tok, const char *what, uint8_t *out);
/* Seconds "S[.F]" (at most 9 fraction digits) to nanoseconds. */
int tp_seconds(struct tp *p, const struct tp_tok *tok, const char *what, uint64_t *ns);
/* A quoted string "..." with \" and \\ escapes, into a malloc'ed string;
 * ascii_only restricts it to ' '..'~' (else any UTF-8 but control characters). */
int tp_quoted(struct tp *p, const struct tp_tok *tok, size_t start, bool ascii_only, char **out, size_t *out_len,
              size_t *end);
/* A tag: [A-Za-z0-9_][A-Za-z0-9_.-]*, at most TRACE_TAG_MAX. */
int tp_tag(struct tp *p, const struct tp_tok *tok, const char *what, char *out);
/* host:channel:target:lun with '*' wildcards. */
int tp_nexus(struct tp *p, const struct tp_tok *tok, struct trace_nexus *out);
/* A name with the tag's characters, at most TRACE_NAME_MAX (marks, features). */
int tp_name(struct tp *p, const struct tp_tok *tok, const char *what, char *out);

/* Patterns (trace_parse_data.c).  `what` names the data in messages ("CDB",
 * "DIN data").  tp_pattern_line takes tokens from the reader until the end of
 * the line or a key=value token (returned in *stopped_at, len 0 when none);
 * tp_pattern_value reads one option value whose items are separated by ','. */
enum tp_pat_rules { TP_PAT_ANY = 0, TP_PAT_CONCRETE = 1, TP_PAT_NO_REST = 2 };
int tp_pattern_line(struct tp *p, const char *what, unsigned rules, struct trace_pattern *out,
                    struct tp_tok *stopped_at);
int tp_pattern_value(struct tp *p, const struct tp_tok *value, const char *what, unsigned rules,
                     struct trace_pattern *out);
void trace_pattern_free(struct trace_pattern *pat);
/* key/asc/ascq, symbolic or numeric. */
int tp_sense_spec(struct tp *p, const struct tp_tok *tok, struct trace_sense_spec *out);

/* Lines (trace_parse_device.c, trace_parse_record.c, trace_parse_directive.c;
 * a directive's arguments through its row, conformance/directive/). */
int tp_device_line(struct tp *p, struct trace_line *line, const struct tp_tok *first);
int tp_device_finish(struct tp *p);
/* Appends key=value (token tok) to dev->settings, which has room for *cap. */
int tp_add_setting(struct tp *p, struct trace_device *dev, size_t *cap, const struct tp_tok *tok,
                   const struct tp_tok *key, const struct tp_tok *value);
/* An @host line (trace_parse_host.c): its settings, checked, into line and p->t->host. */
int tp_device_host(struct tp *p, struct trace_line *line);
int tp_device_basis(struct tp *p, struct trace_line *line, const struct tp_tok *at);
int tp_record_line(struct tp *p, struct trace_line *line, const struct tp_tok *first);
int tp_directive(struct tp *p, struct trace_record *r, const struct tp_tok *verb);
struct trace_words;
/* A word from a table into *out, with "did you mean" or the list of words on
 * failure (`what` names the word in messages). */
int tp_word(struct tp *p, const struct tp_tok *tok, const struct trace_words *w, const char *what, int *out);
/* Fails on a further token: "unexpected '...' after <after>". */
int tp_no_more(struct tp *p, const char *after);
/* The next token, which must be there: "<directive> needs an argument (e.g. <example>)". */
int tp_one_arg(struct tp *p, struct tp_tok *tok, const char *directive, const char *example);
int tp_tmf(struct tp *p, struct trace_record *r);

/* Tasks and tags (trace_tasks.c): called once a record parsed; records index
 * `line_idx` (already in t->lines). */
int tp_task_record(struct tp *p, size_t line_idx, const struct tp_tok *tag_tok);
int tp_tasks_finish(struct tp *p);
/* For the directives' task functions (conformance/directive/): */
/* The record at t->lines[line]. */
static inline struct trace_record *tp_record(struct tp *p, size_t line)
{
    return &p->t->lines[line].record;
}
/* The key of a tag at a layer in p->open and p->holds ("H:t1"). */
void tp_tag_key(char *key, size_t len, char layer, const char *tag);
/* "H (host)", "C (controller)", "W (wire)". */
const char *tp_layer_name(char layer);
/* The pending within of a layer. */
struct tp_within *tp_within_of(struct tp *p, char layer);
/* Ends (ended_by = line) every open command task whose nexus `scope` covers,
 * with the fields asked ignored; every one when scope is NULL. */
void tp_end_tasks(struct tp *p, size_t line, const struct trace_nexus *scope, bool ignore_lun, bool ignore_target,
                  bool ignore_channel);

/* Frees what a line owns (trace_free.c). */
void trace_line_free(struct trace_line *line);

#endif
