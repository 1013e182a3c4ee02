/* tests/support/trace_testutil.c — see trace_testutil.h. */
#include "tests/support/trace_testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tt_data_dir(void)
{
    /* __FILE__ is "tests/support/trace_testutil.c" as the Makefile compiles
     * it; the data is in tests/data/traces. */
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *slash = strrchr(dir, '/');
        if (slash)
            snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../data/traces");
        else
            snprintf(dir, sizeof dir, "../data/traces");
    }
    return dir;
}

const char *tt_data_path(const char *sub, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s", tt_data_dir(), sub, name);
    return buf;
}

struct trace *tt_parse(const char *text, struct located_error *err)
{
    struct trace *t = NULL;
    if (trace_parse_buffer("t.trace", text, strlen(text), &t, err))
        return NULL;
    return t;
}

const char *tt_parse_error(const char *text, size_t len, struct located_error *err)
{
    static char buf[1024];
    struct trace *t = NULL;
    int rc = trace_parse_buffer("t.trace", text, len, &t, err);
    if (rc == 0) {
        trace_free(t);
        snprintf(buf, sizeof buf, "(parsed without error)");
        return buf;
    }
    located_format(err, buf, sizeof buf);
    return buf;
}

char *tt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    size_t got;
    while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *ns = realloc(s, cap * 2);
            if (!ns) {
                free(s);
                s = NULL;
                break;
            }
            s = ns;
            cap *= 2;
        }
    }
    fclose(f);
    if (!s)
        return NULL;
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tt_list_traces(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 7 || strcmp(e->d_name + l - 6, ".trace"))
            continue;
        char **nn = realloc(names, (*n + 1) * sizeof(*nn));
        if (!nn)
            break;
        names = nn;
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names)
        qsort(names, *n, sizeof(*names), cmp_names);
    return names;
}

void tt_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- XML ---------------------------------------------------------------------------------- */

struct xml {
    const char *s;
    size_t len, pos;
    char msg[200];
    struct tt_xml_element *elems;
    size_t max, n;
};

static const char *xml_fail(struct xml *x, const char *what)
{
    snprintf(x->msg, sizeof x->msg, "%s at byte %zu", what, x->pos);
    return x->msg;
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static void skip_ws(struct xml *x)
{
    while (x->pos < x->len && strchr(" \t\r\n", x->s[x->pos]))
        x->pos++;
}

static size_t read_name(struct xml *x, char *out, size_t cap)
{
    size_t a = x->pos;
    if (x->pos >= x->len || !name_start(x->s[x->pos]))
        return 0;
    while (x->pos < x->len && name_char(x->s[x->pos]))
        x->pos++;
    size_t n = x->pos - a;
    if (out) {
        size_t c = n < cap - 1 ? n : cap - 1;
        memcpy(out, x->s + a, c);
        out[c] = '\0';
    }
    return n;
}

/* A character that XML 1.0 allows (bytes: checks UTF-8 and control characters). */
static const char *xml_char(struct xml *x)
{
    unsigned char c = (unsigned char)x->s[x->pos];
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return xml_fail(x, "control character");
    if (c < 0x80) {
        x->pos++;
        return NULL;
    }
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n || x->pos + n > x->len)
        return xml_fail(x, "invalid UTF-8");
    for (size_t k = 1; k < n; k++)
        if (((unsigned char)x->s[x->pos + k] & 0xC0) != 0x80)
            return xml_fail(x, "invalid UTF-8");
    x->pos += n;
    return NULL;
}

static const char *reference(struct xml *x)
{
    static const char *const named[] = { "amp;", "lt;", "gt;", "quot;", "apos;" };
    x->pos++; /* '&' */
    for (size_t i = 0; i < 5; i++) {
        size_t l = strlen(named[i]);
        if (x->pos + l <= x->len && !memcmp(x->s + x->pos, named[i], l)) {
            x->pos += l;
            return NULL;
        }
    }
    if (x->pos < x->len && x->s[x->pos] == '#') {
        x->pos++;
        bool hex = x->pos < x->len && x->s[x->pos] == 'x';
        x->pos += hex;
        unsigned long v = 0;
        size_t digits = 0;
        while (x->pos < x->len && x->s[x->pos] != ';') {
            char c = x->s[x->pos];
            int d = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0 || ++digits > 8)
                return xml_fail(x, "bad character reference");
            v = v * (hex ? 16 : 10) + (unsigned long)d;
            x->pos++;
        }
        if (!digits || x->pos >= x->len)
            return xml_fail(x, "bad character reference");
        x->pos++;
        if ((v < 0x20 && v != 9 && v != 10 && v != 13) || (v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE ||
            v == 0xFFFF || v > 0x10FFFF)
            return xml_fail(x, "character reference to a character XML forbids");
        return NULL;
    }
    return xml_fail(x, "unknown entity");
}

static const char *element(struct xml *x, int depth)
{
    char name[32], end[32];
    if (x->pos >= x->len || x->s[x->pos] != '<')
        return xml_fail(x, "expected '<'");
    x->pos++;
    if (!read_name(x, name, sizeof name))
        return xml_fail(x, "expected an element name");
    if (x->elems && x->n < x->max) {
        x->elems[x->n].depth = depth;
        snprintf(x->elems[x->n].name, sizeof x->elems[x->n].name, "%s", name);
    }
    x->n++;
    char seen[16][32];
    size_t nseen = 0;
    for (;;) {
        size_t before = x->pos;
        skip_ws(x);
        if (x->pos >= x->len)
            return xml_fail(x, "end of document inside a tag");
        if (x->s[x->pos] == '/' || x->s[x->pos] == '>')
            break;
        if (x->pos == before)
            return xml_fail(x, "expected a blank before an attribute");
        char attr[32];
        if (!read_name(x, attr, sizeof attr))
            return xml_fail(x, "expected an attribute name");
        for (size_t i = 0; i < nseen; i++)
            if (!strcmp(seen[i], attr))
                return xml_fail(x, "duplicate attribute");
        if (nseen < 16)
            snprintf(seen[nseen++], sizeof seen[0], "%s", attr);
        skip_ws(x);
        if (x->pos >= x->len || x->s[x->pos] != '=')
            return xml_fail(x, "expected '='");
        x->pos++;
        skip_ws(x);
        if (x->pos >= x->len || (x->s[x->pos] != '"' && x->s[x->pos] != '\''))
            return xml_fail(x, "expected a quoted attribute value");
        char q = x->s[x->pos++];
        while (x->pos < x->len && x->s[x->pos] != q) {
            const char *e = x->s[x->pos] == '<' ? xml_fail(x, "'<' in an attribute value")
                          : x->s[x->pos] == '&' ? reference(x) : xml_char(x);
            if (e)
                return e;
        }
        if (x->pos >= x->len)
            return xml_fail(x, "unterminated attribute value");
        x->pos++;
    }
    if (x->s[x->pos] == '/') {
        if (x->pos + 1 >= x->len || x->s[x->pos + 1] != '>')
            return xml_fail(x, "expected '/>'");
        x->pos += 2;
        return NULL;
    }
    x->pos++; /* '>' */
    for (;;) {
        if (x->pos >= x->len)
            return xml_fail(x, "end of document inside an element");
        char c = x->s[x->pos];
        if (c == '<') {
            if (x->pos + 1 < x->len && x->s[x->pos + 1] == '/')
                break;
            const char *e = element(x, depth + 1);
            if (e)
                return e;
        } else if (c == '&') {
            const char *e = reference(x);
            if (e)
                return e;
        } else if (c == '>' && x->pos >= 2 && x->s[x->pos - 1] == ']' && x->s[x->pos - 2] == ']') {
            return xml_fail(x, "']]>' in character data");
        } else {
            const char *e = xml_char(x);
            if (e)
                return e;
        }
    }
    x->pos += 2;
    if (!read_name(x, end, sizeof end) || strcmp(end, name))
        return xml_fail(x, "end tag does not match its start tag");
    skip_ws(x);
    if (x->pos >= x->len || x->s[x->pos] != '>')
        return xml_fail(x, "expected '>' after the end tag name");
    x->pos++;
    return NULL;
}

const char *tt_xml_check(const char *doc, size_t len, struct tt_xml_element *elems, size_t max, size_t *n_elems)
{
    static struct xml x;
    memset(&x, 0, sizeof x);
    x.s = doc;
    x.len = len;
    x.elems = elems;
    x.max = max;
    const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (len < strlen(decl) || memcmp(doc, decl, strlen(decl)))
        return xml_fail(&x, "missing XML declaration");
    x.pos = strlen(decl);
    skip_ws(&x);
    const char *e = element(&x, 0);
    if (e)
        return e;
    skip_ws(&x);
    if (x.pos != x.len)
        return xml_fail(&x, "content after the root element");
    if (n_elems)
        *n_elems = x.n;
    return NULL;
}

/* ---- JSON --------------------------------------------------------------------------------- */

struct json {
    const char *s;
    size_t len, pos;
    int depth;
    char msg[200];
};

static const char *json_fail(struct json *j, const char *what)
{
    snprintf(j->msg, sizeof j->msg, "%s at byte %zu", what, j->pos);
    return j->msg;
}

static void jws(struct json *j)
{
    while (j->pos < j->len && strchr(" \t\r\n", j->s[j->pos]))
        j->pos++;
}

static const char *jvalue(struct json *j);

static const char *jstring(struct json *j)
{
    j->pos++; /* '"' */
    while (j->pos < j->len && j->s[j->pos] != '"') {
        unsigned char c = (unsigned char)j->s[j->pos];
        if (c < 0x20)
            return json_fail(j, "control character in a string");
        if (c == '\\') {
            j->pos++;
            if (j->pos >= j->len || !strchr("\"\\/bfnrtu", j->s[j->pos]))
                return json_fail(j, "bad escape");
            if (j->s[j->pos] == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (j->pos + (size_t)k >= j->len || !strchr("0123456789abcdefABCDEF", j->s[j->pos + (size_t)k]))
                        return json_fail(j, "bad \\u escape");
                j->pos += 4;
            }
            j->pos++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            if (!n || j->pos + n > j->len)
                return json_fail(j, "invalid UTF-8");
            for (size_t k = 1; k < n; k++)
                if (((unsigned char)j->s[j->pos + k] & 0xC0) != 0x80)
                    return json_fail(j, "invalid UTF-8");
            j->pos += n;
            continue;
        }
        j->pos++;
    }
    if (j->pos >= j->len)
        return json_fail(j, "unterminated string");
    j->pos++;
    return NULL;
}

static const char *jnumber(struct json *j)
{
    size_t a = j->pos;
    if (j->s[j->pos] == '-')
        j->pos++;
    if (j->pos >= j->len || !(j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
        return json_fail(j, "bad number");
    if (j->s[j->pos] == '0' && j->pos + 1 < j->len && j->s[j->pos + 1] >= '0' && j->s[j->pos + 1] <= '9')
        return json_fail(j, "leading zero");
    while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
        j->pos++;
    if (j->pos < j->len && j->s[j->pos] == '.') {
        j->pos++;
        size_t d = j->pos;
        while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
            j->pos++;
        if (d == j->pos)
            return json_fail(j, "bad fraction");
    }
    return j->pos > a ? NULL : json_fail(j, "bad number");
}

static const char *jvalue(struct json *j)
{
    jws(j);
    if (j->pos >= j->len)
        return json_fail(j, "expected a value");
    if (++j->depth > 64)
        return json_fail(j, "nested too deep");
    const char *e = NULL;
    char c = j->s[j->pos];
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->pos++;
        jws(j);
        if (j->pos < j->len && j->s[j->pos] == close) {
            j->pos++;
        } else {
            for (;;) {
                jws(j);
                if (c == '{') {
                    if (j->pos >= j->len || j->s[j->pos] != '"')
                        return json_fail(j, "expected a key");
                    if ((e = jstring(j)))
                        return e;
                    jws(j);
                    if (j->pos >= j->len || j->s[j->pos] != ':')
                        return json_fail(j, "expected ':'");
                    j->pos++;
                }
                if ((e = jvalue(j)))
                    return e;
                jws(j);
                if (j->pos < j->len && j->s[j->pos] == ',') {
                    j->pos++;
                    continue;
                }
                if (j->pos < j->len && j->s[j->pos] == close) {
                    j->pos++;
                    break;
                }
                return json_fail(j, "expected ',' or a closing bracket");
            }
        }
    } else if (c == '"') {
        e = jstring(j);
    } else if (!strncmp(j->s + j->pos, "true", 4) || !strncmp(j->s + j->pos, "null", 4)) {
        j->pos += 4;
    } else if (!strncmp(j->s + j->pos, "false", 5)) {
        j->pos += 5;
    } else {
        e = jnumber(j);
    }
    j->depth--;
    return e;
}

const char *tt_json_check(const char *doc, size_t len)
{
    static struct json j;
    memset(&j, 0, sizeof j);
    j.s = doc;
    j.len = len;
    const char *e = jvalue(&j);
    if (e)
        return e;
    jws(&j);
    return j.pos == j.len ? NULL : json_fail(&j, "content after the value");
}

bool tt_line_fails_at(const char *line, unsigned col, const char *fragment, char *why, size_t len)
{
    char text[512];
    snprintf(text, sizeof text, "#!scsitrace 1\n%s\n", line);
    struct located_error err;
    const char *msg = tt_parse_error(text, strlen(text), &err);
    snprintf(why, len, "expected t.trace:2:%u with '%s', got: %s", col, fragment, msg);
    return err.line == 2 && err.column == col && strstr(err.message, fragment) != NULL;
}
