/* conformance/replay/trace_sim.h — a trace with the simulator behind it.
 *
 * The trace format (conformance/format/) knows the syntax of the @controller
 * and @drive settings; what a controller accepts is the simulator's.  Here the
 * two meet: the parser's device checker is the simulator's own configuration
 * parser (sim_config_apply_option, sim_config_validate), so a trace is refused
 * at parse time, at the setting's column, for a setting the simulator would
 * refuse — and the replay builds its controller from the same settings.
 *
 * Every command that reads traces parses them through these. */
#ifndef CONFORMANCE_REPLAY_TRACE_SIM_H
#define CONFORMANCE_REPLAY_TRACE_SIM_H

#include "conformance/format/trace.h"
#include "sim/config/config.h"

/* trace_parse_*_with (conformance/format/trace.h) with the simulator's device
 * checks. */
int trace_parse_file(const char *path, struct trace **out, struct located_error *err);
int trace_parse_buffer(const char *name, const char *buf, size_t len, struct trace **out,
                       struct located_error *err);
int trace_parse_stream(const char *name, FILE *in, struct trace **out, struct located_error *err);

/* The simulated controller the device lines describe: sim_config_init, then
 * every @controller and @drive setting in order.  0 or -EINVAL/-ENOMEM with
 * *err filled (the parser has already checked every setting, so this fails
 * only on allocation). cfg must be freed with sim_config_free on success. */
int trace_sim_config(const struct trace *t, struct sim_config *cfg, struct located_error *err);

#endif
