/* conformance/directive/table.c — the directive rows by kind, from
 * conformance/format/directive_list.h. */
#include "conformance/format/directive.h"

const struct trace_directive_ops *const trace_directive_table[TRACE_DIR_KIND_COUNT] = {
#define TRACE_DIRECTIVE(kind, word, ops) [TRACE_DIR_##kind] = &ops,
#include "conformance/format/directive_list.h"
#undef TRACE_DIRECTIVE
};
