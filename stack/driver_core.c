/* stack/driver_core.c — loading a driver core (see stack/driver_core.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "stack/driver_core.h"

const struct scsisim_driver_core *stack_builtin_core(void)
{
    return scsisim_driver_core();
}

/* The entry points, by name, for the check that none is missing. */
#define ENTRY(f) { #f, offsetof(struct scsisim_driver_core, f) }
static const struct {
    const char *name;
    size_t off;
} entries[] = {
    ENTRY(create), ENTRY(start), ENTRY(stop), ENTRY(destroy), ENTRY(constraints), ENTRY(process_task),
    ENTRY(run_task), ENTRY(poll), ENTRY(task_mgmt), ENTRY(reset), ENTRY(reset_controller), ENTRY(recover),
    ENTRY(discover), ENTRY(disc_result_free),    ENTRY(get_stats),
};

int stack_driver_core_load(const char *path, const struct scsisim_driver_core **out, char *err, size_t errlen)
{
    *out = NULL;
    /* dlopen searches the library path for a bare name; a path given on the
     * command line means that file. */
    char buf[4096];
    if (!strchr(path, '/') && strlen(path) + 3 <= sizeof buf) {
        memcpy(buf, "./", 2);
        memcpy(buf + 2, path, strlen(path) + 1);
        path = buf;
    }
    dlerror();
    /* RTLD_LOCAL: the core's own symbols stay its own; RTLD_NOW: an osal call
     * the executable does not provide fails here, not in the middle of a trace. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        errf(err, errlen, "%s: cannot load it as a driver core: %s (a core is a shared object built with "
             "cc -shared -fPIC; see docs/porting.md)", path, why ? why : "dlopen failed");
        return -ENOENT;
    }
    dlerror();
    scsisim_driver_core_fn entry;
    void *sym = dlsym(h, SCSISIM_DRIVER_CORE_SYMBOL);
    if (!sym) {
        errf(err, errlen, "%s: missing symbol %s: a driver core exports it (core/driver_core_abi.h)", path,
             SCSISIM_DRIVER_CORE_SYMBOL);
        dlclose(h);
        return -ENOSYS;
    }
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    const struct scsisim_driver_core *t = entry();
    if (!t) {
        errf(err, errlen, "%s: %s() returned NULL: the core offers no table", path, SCSISIM_DRIVER_CORE_SYMBOL);
        dlclose(h);
        return -EPROTO;
    }
    if (t->abi_version != SCSISIM_DRIVER_CORE_ABI_VERSION) {
        /* Name what the last bump changed: the author of an old core learns
         * what to handle, not only that a rebuild is due. */
        errf(err, errlen, "%s: wrong driver-core ABI version %u; this scsisim speaks version %u (version 2 added "
             "drv_task.attr, DRV_TMF_QUERY_TASK and drv_core_stats.busy_retries: core/driver_core_abi.h): "
             "rebuild the core against this scsisim's headers (pkg-config --cflags scsisim)", path,
             (unsigned)t->abi_version, SCSISIM_DRIVER_CORE_ABI_VERSION);
        dlclose(h);
        return -EPROTO;
    }
    if (t->table_size < sizeof *t) {
        errf(err, errlen, "%s: its entry-point table is %u bytes, version %u has %zu: rebuild the core against "
             "this scsisim's headers", path, (unsigned)t->table_size, SCSISIM_DRIVER_CORE_ABI_VERSION, sizeof *t);
        dlclose(h);
        return -EPROTO;
    }
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)t + entries[i].off, sizeof fn);
        if (!fn) {
            errf(err, errlen, "%s: missing entry point '%s' in its %s table (every one is required; "
                 "core/driver_core_abi.h)", path, entries[i].name, SCSISIM_DRIVER_CORE_SYMBOL);
            dlclose(h);
            return -EPROTO;
        }
    }
    *out = t; /* the handle stays open for the life of the process */
    return 0;
}

static _Atomic(const struct scsisim_driver_core *) default_core;
static _Atomic(const char *) default_path;

void stack_driver_core_set_default(const struct scsisim_driver_core *core, const char *path)
{
    atomic_store(&default_core, core);
    /* A copy, kept for the life of the process like the core itself. */
    char *copy = core && path ? strdup(path) : NULL;
    free((char *)atomic_exchange(&default_path, copy));
}

const struct scsisim_driver_core *stack_driver_core_default(void)
{
    const struct scsisim_driver_core *c = atomic_load(&default_core);
    return c ? c : stack_builtin_core();
}

const char *stack_driver_core_default_path(void)
{
    return atomic_load(&default_path);
}
