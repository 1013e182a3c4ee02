/* cli/core_statics.c — see cli/core_statics.h.
 *
 * The loader maps a shared object's writable PT_LOAD segment (.data, .bss and,
 * at its start, the RELRO part: .data.rel.ro and the GOT, made read-only after
 * relocation).  After the object is loaded and its entry point has run, that
 * segment is the state a freshly forked child starts from; copying it back
 * before a trace gives the trace the same start.  The RELRO pages are left
 * alone: they are read-only (a write would fault) and cannot have changed. */
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/core_statics.h"

#define SEGS_MAX 8

static struct {
    char *addr;
    size_t len;
    char *copy;
} segs[SEGS_MAX];
static size_t n_segs;

/* A plain byte copy the sanitizers do not check: a sanitized core's
 * segments hold the redzones AddressSanitizer puts between its globals, and
 * the copy must carry them as they are (memcpy would report them). */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize("address")))
#endif
static void copy_raw(char *dst, const char *src, size_t n)
{
    volatile char *d = dst; /* volatile: not turned back into a memcpy call */
    for (size_t i = 0; i < n; i++)
        d[i] = src[i];
}

struct find {
    uintptr_t inside;
    int rc; /* 1: found and saved; -errno */
};

/* Is f->inside in one of this object's loaded segments? */
static bool holds(const struct dl_phdr_info *info, uintptr_t at)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && at >= lo && at < lo + p->p_memsz)
            return true;
    }
    return false;
}

static int save_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct find *f = arg;
    if (!holds(info, f->inside))
        return 0;
    if (!info->dlpi_name || !info->dlpi_name[0]) {
        f->rc = -ENOENT; /* the executable */
        return 1;
    }
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t relro_end = 0; /* what the loader made read-only ends here (rounded down, as it does) */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_GNU_RELRO)
            relro_end = (info->dlpi_addr + p->p_vaddr + p->p_memsz) & ~(page - 1);
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;
        if (relro_end > lo && relro_end <= hi)
            lo = relro_end;
        if (hi <= lo)
            continue;
        if (n_segs == SEGS_MAX) {
            f->rc = -E2BIG;
            return 1;
        }
        char *copy = malloc(hi - lo);
        if (!copy) {
            f->rc = -ENOMEM;
            return 1;
        }
        copy_raw(copy, (const char *)lo, hi - lo);
        segs[n_segs].addr = (char *)lo;
        segs[n_segs].len = hi - lo;
        segs[n_segs].copy = copy;
        n_segs++;
    }
    f->rc = 1;
    return 1;
}

int core_statics_save(const void *inside)
{
    for (size_t i = 0; i < n_segs; i++)
        free(segs[i].copy);
    n_segs = 0;
    struct find f = { .inside = (uintptr_t)inside, .rc = -ENOENT };
    dl_iterate_phdr(save_object, &f);
    if (f.rc < 0) {
        for (size_t i = 0; i < n_segs; i++)
            free(segs[i].copy);
        n_segs = 0;
        return f.rc;
    }
    return 0;
}

void core_statics_restore(void)
{
    for (size_t i = 0; i < n_segs; i++)
        copy_raw(segs[i].addr, segs[i].copy, segs[i].len);
}

size_t core_statics_bytes(void)
{
    size_t n = 0;
    for (size_t i = 0; i < n_segs; i++)
        n += segs[i].len;
    return n;
}
