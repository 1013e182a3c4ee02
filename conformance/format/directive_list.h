/* conformance/format/directive_list.h — every harness directive of the trace
 * format (docs/trace-format.md, "Directives"), one row each:
 *
 *   TRACE_DIRECTIVE(KIND, "word", ops)
 *
 * KIND becomes TRACE_DIR_KIND of enum trace_directive_kind (trace.h), "word"
 * is what a trace writes (trace_directive_words), ops the directive's
 * struct trace_directive_ops (directive.h): how it is parsed, printed,
 * compared, freed, what it means for tasks, what it needs and what a replay
 * does.  The functions live in conformance/directive/, one file per family.
 * The order of the rows is the order of the enum (the parsed form), so new
 * rows go at the end.  Adding a directive: docs/trace-format.md, "Adding a
 * directive".
 *
 * No include guard: the includer defines TRACE_DIRECTIVE and undefines it. */
TRACE_DIRECTIVE(POWER_LOSS,  "power-loss",  trace_dir_power_loss)
TRACE_DIRECTIVE(POWER_ON,    "power-on",    trace_dir_power_on)
TRACE_DIRECTIVE(RESET,       "reset",       trace_dir_reset)
TRACE_DIRECTIVE(UA,          "ua",          trace_dir_ua)
TRACE_DIRECTIVE(INJECT,      "inject",      trace_dir_inject)
TRACE_DIRECTIVE(HOLD,        "hold",        trace_dir_hold)
TRACE_DIRECTIVE(RELEASE,     "release",     trace_dir_release)
TRACE_DIRECTIVE(CHECK_MEDIA, "check-media", trace_dir_check_media)
TRACE_DIRECTIVE(WITHIN,      "within",      trace_dir_within)
TRACE_DIRECTIVE(MARK,        "mark",        trace_dir_mark)
TRACE_DIRECTIVE(WAIT,        "wait",        trace_dir_wait)
TRACE_DIRECTIVE(FAULT,       "fault",       trace_dir_fault)
TRACE_DIRECTIVE(ROGUE,       "rogue",       trace_dir_rogue)
TRACE_DIRECTIVE(DISCOVER,    "discover",    trace_dir_discover)
TRACE_DIRECTIVE(SET,         "set",         trace_dir_set)
TRACE_DIRECTIVE(STATS,       "stats",       trace_dir_stats)
TRACE_DIRECTIVE(EVENTS,      "events",      trace_dir_events)
TRACE_DIRECTIVE(PAUSE,       "pause",       trace_dir_pause)
