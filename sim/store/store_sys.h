/* sim/store/store_sys.h — every system call the store makes on its files
 * (media segments, the oracle's journal, the battery-backed copy) goes
 * through here, so one place can make the next N calls of a kind fail with
 * an errno: the fault engine's io-error action (docs/faults.md), which lets a
 * trace judge what the drive reports when its media or journal fails.
 *
 * Each wrapper behaves as the call it wraps (-1 and errno on failure), and
 * first consults the store's armed failures for (file, call).  A NULL
 * struct store_sys arms nothing (the store's own unit tests call the parts
 * alone).  Allocation failures are not reached this way. */
#ifndef SIM_STORE_STORE_SYS_H
#define SIM_STORE_STORE_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sim/store/store.h"

struct store_sys {
    struct { uint32_t left; int err; } arm[SIM_STORE_FILES][SIM_STORE_CALLS];
    uint64_t taken;   /* armed failures consumed so far (sim_store_injected) */
};

/* 0 when the call may go ahead; else the armed errno (one failure consumed). */
int store_sys_check(struct store_sys *y, enum sim_store_file f, enum sim_store_call c);

int     store_sys_fstat(struct store_sys *y, enum sim_store_file f, int fd, struct stat *st);
ssize_t store_sys_pread(struct store_sys *y, enum sim_store_file f, int fd, void *buf, size_t n, off_t off);
ssize_t store_sys_pwrite(struct store_sys *y, enum sim_store_file f, int fd, const void *buf, size_t n, off_t off);
ssize_t store_sys_write(struct store_sys *y, enum sim_store_file f, int fd, const void *buf, size_t n);
int     store_sys_fdatasync(struct store_sys *y, enum sim_store_file f, int fd);
int     store_sys_ftruncate(struct store_sys *y, enum sim_store_file f, int fd, off_t len);
int     store_sys_rename(struct store_sys *y, enum sim_store_file f, const char *from, const char *to);
int     store_sys_fallocate(struct store_sys *y, enum sim_store_file f, int fd, int mode, off_t off, off_t len);
off_t   store_sys_lseek(struct store_sys *y, enum sim_store_file f, int fd, off_t off, int whence);
/* open(2) as the journal and the battery file use it. */
int     store_sys_open(struct store_sys *y, enum sim_store_file f, const char *path, int flags, mode_t mode);

#endif
