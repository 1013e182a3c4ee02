/* conformance/report/report_escape.c — see report_priv.h. */
#include "conformance/report/report_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

#define REPLACEMENT "\xEF\xBF\xBD"

void report_xml_escape(struct tbuf *b, const char *str, bool attribute)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0) {
            tbuf_puts(b, REPLACEMENT);
            s++;
            continue;
        }
        if (n > 1) {
            /* U+FFFE and U+FFFF are not XML characters */
            if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
                tbuf_puts(b, REPLACEMENT);
            else
                tbuf_put(b, (const char *)s, n);
            s += n;
            continue;
        }
        switch (*s) {
        case '&': tbuf_puts(b, "&amp;"); break;
        case '<': tbuf_puts(b, "&lt;"); break;
        case '>': tbuf_puts(b, "&gt;"); break;
        case '"': tbuf_puts(b, "&quot;"); break;
        case '\'': tbuf_puts(b, "&apos;"); break;
        /* In attributes, white space would be normalized to blanks: keep it as references. */
        case '\n': tbuf_puts(b, attribute ? "&#10;" : "\n"); break;
        case '\t': tbuf_puts(b, attribute ? "&#9;" : "\t"); break;
        case '\r': tbuf_puts(b, "&#13;"); break;
        default:
            if (*s < 0x20 || *s == 0x7F)
                tbuf_puts(b, REPLACEMENT);
            else
                tbuf_putc(b, (char)*s);
        }
        s++;
    }
}

/* JSON and YAML double-quoted strings escape alike; they differ only in how
 * an invalid UTF-8 byte and a control character are spelled. */
struct quote_style {
    const char *bad_utf8;     /* replacement for a byte that is not UTF-8 */
    const char *control_fmt;  /* printf format for other control bytes */
};

static void quoted_string(struct tbuf *b, const char *str, const struct quote_style *st)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    tbuf_putc(b, '"');
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0) {
            tbuf_puts(b, st->bad_utf8);
            s++;
            continue;
        }
        if (n > 1) {
            tbuf_put(b, (const char *)s, n);
            s += n;
            continue;
        }
        switch (*s) {
        case '"': tbuf_puts(b, "\\\""); break;
        case '\\': tbuf_puts(b, "\\\\"); break;
        case '\n': tbuf_puts(b, "\\n"); break;
        case '\t': tbuf_puts(b, "\\t"); break;
        case '\r': tbuf_puts(b, "\\r"); break;
        default:
            if (*s < 0x20 || *s == 0x7F)
                tbuf_printf(b, st->control_fmt, *s);
            else
                tbuf_putc(b, (char)*s);
        }
        s++;
    }
    tbuf_putc(b, '"');
}

void report_json_string(struct tbuf *b, const char *str)
{
    static const struct quote_style json = { "\\ufffd", "\\u%04x" };
    quoted_string(b, str, &json);
}

void report_yaml_string(struct tbuf *b, const char *str)
{
    static const struct quote_style yaml = { "\\uFFFD", "\\x%02X" };
    quoted_string(b, str, &yaml);
}

void report_seconds(struct tbuf *b, uint64_t ns)
{
    tbuf_printf(b, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, ns % 1000000000u / 1000u);
}

int report_flush(struct tbuf *b, FILE *out)
{
    if (b->oom)
        return -ENOMEM;
    if (b->len && fwrite(b->s, 1, b->len, out) != b->len)
        return -EIO;
    tbuf_reset(b);
    return ferror(out) ? -EIO : 0;
}
