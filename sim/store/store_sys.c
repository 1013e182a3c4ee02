/* sim/store/store_sys.c — the store's system calls, each behind one check of
 * the failures a trace armed (store_sys.h). */
#include "sim/store/store_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int store_sys_check(struct store_sys *y, enum sim_store_file f, enum sim_store_call c)
{
    if (!y || y->arm[f][c].left == 0)
        return 0;
    y->arm[f][c].left--;
    y->taken++;
    return y->arm[f][c].err;
}

/* The wrappers: an armed failure sets errno and returns -1 as the
 * call would (the pseudo results are for reads and writes only:
 * sim_store_fail_io's caller checks). */
#define ARMED(y, f, c)                                \
    do {                                              \
        int e_ = store_sys_check((y), (f), (c));      \
        if (e_) {                                     \
            errno = e_;                               \
            return -1;                                \
        }                                             \
    } while (0)

int store_sys_fstat(struct store_sys *y, enum sim_store_file f, int fd, struct stat *st)
{
    ARMED(y, f, SIM_STORE_CALL_STAT);
    return fstat(fd, st);
}

/* A read or write armed with SIM_STORE_SHORT moves half the bytes asked,
 * rounded up (so at least one), as the kernel may; one armed with
 * SIM_STORE_EOF (reads only) finds the end of the file. */
static size_t moved(int e, size_t n)
{
    return e == SIM_STORE_SHORT ? n - n / 2 : n;
}

ssize_t store_sys_pread(struct store_sys *y, enum sim_store_file f, int fd, void *buf, size_t n, off_t off)
{
    int e = store_sys_check(y, f, SIM_STORE_CALL_READ);
    if (e == SIM_STORE_EOF)
        return 0;
    if (e > 0) {
        errno = e;
        return -1;
    }
    return pread(fd, buf, moved(e, n), off);
}

ssize_t store_sys_pwrite(struct store_sys *y, enum sim_store_file f, int fd, const void *buf, size_t n, off_t off)
{
    int e = store_sys_check(y, f, SIM_STORE_CALL_WRITE);
    if (e > 0) {
        errno = e;
        return -1;
    }
    return pwrite(fd, buf, moved(e, n), off);
}

ssize_t store_sys_write(struct store_sys *y, enum sim_store_file f, int fd, const void *buf, size_t n)
{
    int e = store_sys_check(y, f, SIM_STORE_CALL_WRITE);
    if (e > 0) {
        errno = e;
        return -1;
    }
    return write(fd, buf, moved(e, n));
}

int store_sys_fdatasync(struct store_sys *y, enum sim_store_file f, int fd)
{
    ARMED(y, f, SIM_STORE_CALL_SYNC);
    return fdatasync(fd);
}

int store_sys_ftruncate(struct store_sys *y, enum sim_store_file f, int fd, off_t len)
{
    ARMED(y, f, SIM_STORE_CALL_TRUNCATE);
    return ftruncate(fd, len);
}

int store_sys_rename(struct store_sys *y, enum sim_store_file f, const char *from, const char *to)
{
    ARMED(y, f, SIM_STORE_CALL_RENAME);
    return rename(from, to);
}

int store_sys_fallocate(struct store_sys *y, enum sim_store_file f, int fd, int mode, off_t off, off_t len)
{
    ARMED(y, f, SIM_STORE_CALL_DISCARD);
    return fallocate(fd, mode, off, len);
}

off_t store_sys_lseek(struct store_sys *y, enum sim_store_file f, int fd, off_t off, int whence)
{
    ARMED(y, f, SIM_STORE_CALL_SEEK);
    return lseek(fd, off, whence);
}

int store_sys_open(struct store_sys *y, enum sim_store_file f, const char *path, int flags, mode_t mode)
{
    ARMED(y, f, SIM_STORE_CALL_OPEN);
    return open(path, flags, mode);
}
