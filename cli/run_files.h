/* cli/run_files.h — which trace files `scsisim run` replays: the bundled
 * suite's folder, folders searched recursively for *.trace, a --filter glob
 * and a --shard I/N slice. */
#ifndef CLI_RUN_FILES_H
#define CLI_RUN_FILES_H

#include <stddef.h>

struct run_files {
    char **paths;  /* malloc'ed, sorted within each folder given */
    size_t n, cap;
};

/* The bundled suite's folder: $SCSISIM_TRACES, else next to the executable
 * (../traces from build/, ../../traces from build/mutants/), else the
 * installed ../share/scsisim/traces.  Returns a malloc'ed path, or NULL when
 * none exists (*tried gets the places looked at, malloc'ed). */
char *run_files_suite_dir(char **tried);

/* Adds path: a file as it is, a folder as every *.trace below it (sorted;
 * hidden entries and symbolic links to folders skipped).  0, -ENOENT and
 * friends from stat/opendir, or -ENOMEM. */
int  run_files_add(struct run_files *f, const char *path);
/* Keeps the paths whose full path or file name matches any of the n globs
 * (fnmatch): repeated --filter options widen the selection. */
void run_files_filter(struct run_files *f, const char *const *globs, size_t n);
/* Keeps every n-th path starting at the index-th (1-based): --shard index/n. */
void run_files_shard(struct run_files *f, unsigned index, unsigned n);
void run_files_free(struct run_files *f);

/* The directory of the running executable (malloc'ed), or NULL. */
char *run_files_exe_dir(void);

#endif
