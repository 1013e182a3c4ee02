/* tests/fuzz/fuzz_trace_roundtrip.c — libFuzzer target: whatever the trace
 * parser accepts, the canonical printer must write as text the parser accepts
 * again, meaning the same trace, and printing that must give the same text
 * (parse → print → parse → print).  Built by `make fuzz` (clang,
 * -fsanitize=fuzzer,address), run briefly by `make fuzz-run`; docs/fuzzing.md
 * has the figures of the last long run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/trace_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void disagree(const char *what, const char *printed, size_t len, const struct located_error *err)
{
    fprintf(stderr, "printer and parser disagree: %s\n", what);
    if (err)
        fprintf(stderr, "  reparse: %u:%u: %s\n", err->line, err->column, err->message);
    fprintf(stderr, "  printed text:\n%.*s\n", (int)len, printed);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace *a = NULL, *b = NULL;
    struct located_error err;
    if (trace_parse_buffer("fuzz", (const char *)data, size, &a, &err) != 0)
        return 0; /* refused input: the parser's job is to refuse it well, which ASan watches */
    char *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (trace_print_string(a, &p1, &n1) != 0)
        abort(); /* out of memory is the only failure, and inputs are small */
    if (trace_parse_buffer("printed", p1, n1, &b, &err) != 0)
        disagree("the printed trace does not parse", p1, n1, &err);
    if (!trace_equal(a, b))
        disagree("parse(print(x)) is another trace", p1, n1, NULL);
    if (trace_print_string(b, &p2, &n2) != 0)
        abort();
    if (n1 != n2 || memcmp(p1, p2, n1))
        disagree("printing is not idempotent", p2, n2, NULL);
    free(p1);
    free(p2);
    trace_free(a);
    trace_free(b);
    return 0;
}
