/* conformance/replay/trace_sim.c — see trace_sim.h. */
#include "conformance/replay/trace_sim.h"

#include <errno.h>
#include <string.h>

#include "base/tbuf.h"

/* The parser's device checker: every setting applied to a scratch config. */
static int check_setting(void *arg, const char *setting, struct located_error *err)
{
    return sim_config_apply_untrusted(arg, setting, err) ? -EINVAL : 0;
}

static int check_end(void *arg, uint32_t *targets, uint32_t *luns, struct located_error *err)
{
    const struct sim_config *cfg = arg;
    *targets = cfg->max_targets;
    *luns = cfg->max_luns;
    return sim_config_validate(cfg, err) ? -EINVAL : 0;
}

static struct trace_parse_options sim_options(struct sim_config *scratch)
{
    sim_config_init(scratch);
    return (struct trace_parse_options){
        .arg = scratch, .check_device = check_setting, .check_device_end = check_end,
        .drive_target_max = SIM_MAX_TARGETS_LIMIT - 1, .drive_lun_max = SIM_MAX_LUNS_LIMIT - 1,
    };
}

int trace_parse_file(const char *path, struct trace **out, struct located_error *err)
{
    struct sim_config scratch;
    struct trace_parse_options o = sim_options(&scratch);
    int rc = trace_parse_file_with(path, &o, out, err);
    sim_config_free(&scratch);
    return rc;
}

int trace_parse_buffer(const char *name, const char *buf, size_t len, struct trace **out, struct located_error *err)
{
    struct sim_config scratch;
    struct trace_parse_options o = sim_options(&scratch);
    int rc = trace_parse_buffer_with(name, buf, len, &o, out, err);
    sim_config_free(&scratch);
    return rc;
}

int trace_parse_stream(const char *name, FILE *in, struct trace **out, struct located_error *err)
{
    struct sim_config scratch;
    struct trace_parse_options o = sim_options(&scratch);
    int rc = trace_parse_stream_with(name, in, &o, out, err);
    sim_config_free(&scratch);
    return rc;
}

int trace_sim_config(const struct trace *t, struct sim_config *cfg, struct located_error *err)
{
    sim_config_init(cfg);
    struct tbuf set = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_DEVICE)
            continue;
        const struct trace_device *d = &l->device;
        if (d->kind != TRACE_DEV_DRIVE && d->kind != TRACE_DEV_CONTROLLER)
            continue;
        for (size_t k = 0; rc == 0 && (k < d->n_settings || (k == 0 && d->kind == TRACE_DEV_DRIVE)); k++) {
            tbuf_reset(&set);
            if (d->kind == TRACE_DEV_DRIVE) {
                tbuf_printf(&set, "drive=%u:%u", d->target, d->lun);
                for (size_t j = 0; j < d->n_settings; j++)
                    tbuf_printf(&set, ",%s=%s", d->settings[j].key, d->settings[j].value);
                k = d->n_settings; /* one call for the whole drive */
            } else {
                tbuf_printf(&set, "%s=%s", d->settings[k].key, d->settings[k].value);
            }
            struct located_error e;
            if (set.oom) {
                rc = -ENOMEM;
            } else if (sim_config_apply_untrusted(cfg, set.s, &e)) {
                rc = -EINVAL;
                located_set(err, t->name, l->lineno, 1, 0, "%s", e.message);
            }
        }
    }
    tbuf_free(&set);
    if (rc)
        sim_config_free(cfg);
    return rc;
}
