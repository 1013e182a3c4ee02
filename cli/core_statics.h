/* cli/core_statics.h — a loaded driver core's static data (its .data and
 * .bss), copied once and put back before each trace, so that a child process
 * replaying several traces one after another (cli/run_isolated.c) gives every
 * trace a core whose statics are as a freshly forked child's would be: a
 * counter, a cache or a flag the core keeps in a global does not carry from
 * one trace into the next.  Only the writable part of the object's own
 * segments is copied (not the RELRO part the loader made read-only). */
#ifndef CLI_CORE_STATICS_H
#define CLI_CORE_STATICS_H

#include <stddef.h>

/* Copies the writable segments of the shared object that holds address
 * `inside` (e.g. its entry-point table).  0; -ENOENT when the address is in
 * no loaded object, or it is the executable itself (nothing to do then:
 * scsisim's own core is trusted to keep no state between instances);
 * -ENOMEM. */
int core_statics_save(const void *inside);
/* Writes the copy back.  No-op before a successful core_statics_save. */
void core_statics_restore(void);
/* How many bytes are saved (for tests). */
size_t core_statics_bytes(void);

#endif
