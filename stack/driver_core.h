/* stack/driver_core.h — choosing the driver core a stack runs: scsisim's own
 * (linked in, called through the same table) or one loaded from a shared
 * object at run time (core/driver_core_abi.h).
 *
 * The choice is process-wide: the command line loads a core once
 * (stack_driver_core_load) and makes it the default
 * (stack_driver_core_set_default); every stack opened afterwards
 * (stack_options_init copies the default into stack_options.core) runs it.
 * A loaded core stays loaded until the process ends. */
#ifndef STACK_DRIVER_CORE_H
#define STACK_DRIVER_CORE_H

#include <stddef.h>

#include "core/driver_core_abi.h"

/* scsisim's own core (core/), linked into this program. */
const struct scsisim_driver_core *stack_builtin_core(void);

/* Loads the driver core at path (dlopen, then its scsisim_driver_core entry
 * point) and checks its table: ABI version, size, every entry point present.
 * 0 with *out set, or -ENOENT (not found / not a shared object: dlopen's own
 * words), -ENOSYS (no scsisim_driver_core symbol), -EPROTO (another ABI
 * version, a short table or a NULL entry point); err then says which, naming
 * path, in a sentence that ends with what to do. */
int stack_driver_core_load(const char *path, const struct scsisim_driver_core **out, char *err, size_t errlen);

/* The core stacks use unless their options name another; NULL = the builtin. */
void stack_driver_core_set_default(const struct scsisim_driver_core *core, const char *path);
const struct scsisim_driver_core *stack_driver_core_default(void);
/* The path the default was loaded from, or NULL for the builtin. */
const char *stack_driver_core_default_path(void);

#endif
