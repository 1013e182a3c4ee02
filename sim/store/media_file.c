/* sim/store/media_file.c — see media_file.h. */
#include "sim/store/media_file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/errf.h"

/* The same rule by hand where openat2 is missing (kernels before 5.6, and
 * valgrind): one component at a time with O_NOFOLLOW, so a symbolic link
 * anywhere on the path is refused with ELOOP, as openat2 would. */
static int open_walk_no_symlinks(int dirfd, const char *path, int flags, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    char *p = buf;
    int dir = dirfd;
    if (*p == '/') {
        if ((dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            return -errno;
        while (*p == '/')
            p++;
    }
    int rc = 0;
    for (char *slash; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
        *slash = '\0';
        if (!*p || !strcmp(p, "."))
            continue;
        int next = openat(dir, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            struct stat st;
            rc = errno == ENOTDIR && fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)
                     ? -ELOOP : -errno;
            break;
        }
        if (dir != dirfd)
            close(dir);
        dir = next;
    }
    if (rc == 0) {
        int fd = openat(dir, p, flags | O_CLOEXEC | O_NOFOLLOW, mode);
        rc = fd < 0 ? -errno : fd;
    }
    if (dir != dirfd)
        close(dir);
    return rc;
}

static int open_no_symlinks(int dirfd, const char *path, int flags, mode_t mode, bool walk)
{
    if (walk)
        return open_walk_no_symlinks(dirfd, path, flags, mode);
    struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW), .mode = mode,
                            .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS)
        return open_walk_no_symlinks(dirfd, path, flags, mode);
    return fd < 0 ? -errno : (int)fd;
}

static bool is_ours(int fd)
{
    char v[8];
    return fgetxattr(fd, SIM_MEDIA_XATTR, v, sizeof v) >= 0;
}

static int mark(int fd)
{
    return fsetxattr(fd, SIM_MEDIA_XATTR, "1", 1, 0) < 0 ? -errno : 0;
}

int sim_media_file_open(const char *path, bool create, char *why, size_t len)
{
    return sim_media_file_open_how(path, create, false, why, len);
}

int sim_media_file_open_how(const char *path, bool create, bool walk, char *why, size_t len)
{
    int fd = -ENOENT;
    if (create) {
        fd = open_no_symlinks(AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL, 0600, walk);
        if (fd >= 0) {
            (void)mark(fd); /* without user xattrs the file just cannot be recognised later */
            return fd;
        }
    }
    /* O_NONBLOCK | O_NOCTTY: whatever is there (a FIFO, a terminal) is looked
     * at, not waited on or adopted, before fstat says it is a regular file;
     * both are no-ops on one. */
    if (fd == -EEXIST || fd == -ENOENT)
        fd = open_no_symlinks(AT_FDCWD, path, O_RDWR | O_NONBLOCK | O_NOCTTY, 0, walk);
    if (fd == -ELOOP || fd == -EXDEV) {
        errf(why, len, "media file %s: the path passes a symbolic link; media paths may not use symlinks", path);
        return -ELOOP;
    }
    if (fd < 0) {
        errf(why, len, "media file %s: %s", path, strerror(-fd));
        return fd;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EPERM;
    else if (!is_ours(fd))
        rc = -EPERM;
    if (rc) {
        close(fd);
        errf(why, len, "media file %s: %s", path,
             rc == -EPERM ? "exists and is not a scsisim media file (no " SIM_MEDIA_XATTR
                            " attribute); it is left alone: pass --force (media-force = on) to use it"
                          : strerror(-rc));
        return rc;
    }
    return fd;
}

int sim_media_name_check(const char *name, size_t *bad_at, char *why, size_t len)
{
    *bad_at = 0;
    if (!*name) {
        errf(why, len, "the media name is empty");
        return -EINVAL;
    }
    if (name[0] == '/') {
        errf(why, len, "'%s' is an absolute path; media files live under the media directory (--media-dir DIR "
             "or media-dir in [controller]): give a name relative to it", name);
        return -EINVAL;
    }
    for (const char *c = name; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') || n == 0) {
            *bad_at = (size_t)(c - name);
            errf(why, len, "'%s' has a '%.*s' component; a media name stays under the media directory: "
                 "give a plain relative name such as disk0.img", name, (int)n, n ? c : "/");
            return -EINVAL;
        }
        c += n;
        if (*c == '/')
            c++;
    }
    return 0;
}

int sim_media_inspect(const char *dir, const char *name, bool force, char *why, size_t len)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = -errno;
        errf(why, len, "media directory %s: %s", dir, strerror(-e));
        return e;
    }
    int fd = open_no_symlinks(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, false); /* see sim_media_file_open */
    int rc = 0;
    if (fd == -ELOOP || fd == -EXDEV) {
        errf(why, len, "media '%s' under %s passes a symbolic link; media paths may not use symlinks", name, dir);
        rc = -ELOOP;
    } else if (fd == -ENOENT) {
        rc = 0; /* created when the drive starts */
    } else if (fd < 0) {
        errf(why, len, "media '%s' under %s: %s", name, dir, strerror(-fd));
        rc = fd;
    } else {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            errf(why, len, "media '%s' under %s is not a regular file", name, dir);
            rc = -EPERM;
        } else if (!is_ours(fd)) {
            if (!force) {
                errf(why, len, "media '%s' under %s exists and is not a scsisim media file (no " SIM_MEDIA_XATTR
                     " attribute); it is left alone: pass --force (media-force = on) to use it", name, dir);
                rc = -EPERM;
            } else if ((rc = mark(fd)) < 0) {
                errf(why, len, "media '%s' under %s: cannot mark it as a scsisim media file: %s", name, dir,
                     strerror(-rc));
            }
        }
        close(fd);
    }
    close(dfd);
    return rc;
}

/* --- the private directory -------------------------------------------------------- */

static pthread_mutex_t private_lock = PTHREAD_MUTEX_INITIALIZER;
static char private_dir[PATH_MAX];
static pid_t private_owner;

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    (void)(type == FTW_DP ? rmdir(path) : unlink(path));
    return 0;
}

/* Only the process that made it removes it (a forked child exits too). */
static void remove_private(void)
{
    if (private_dir[0] && getpid() == private_owner)
        (void)nftw(private_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int make_private(char *why, size_t len)
{
    if (private_dir[0])
        return 0;
    /* The private directory's files are removed at exit, so surviving a host
     * crash means nothing for them, and on a disk a loaded machine can hold an
     * fdatasync for seconds (2.6 s measured beside `make mutants` and a build),
     * past the driver core's 1 s command deadline: a FUA WRITE then ends in a
     * controller reset.  Without TMPDIR they live in memory (/dev/shm, tmpfs),
     * where the store's syncs are still made (fault rules on them still apply)
     * but cost nothing. */
    const char *tmp = getenv("TMPDIR");
    bool given = tmp && *tmp;
    const char *base[2] = { given ? tmp : "/dev/shm", "/tmp" }; /* /tmp: a machine without /dev/shm */
    char tmpl[PATH_MAX];
    for (unsigned i = 0;; i++) {
        snprintf(tmpl, sizeof tmpl, "%s/scsisim-media-XXXXXX", base[i]);
        if (mkdtemp(tmpl)) /* mkdtemp makes it 0700 */
            break;
        if (given || i == 1) {
            int e = -errno;
            errf(why, len, "cannot make a private media directory %s: %s; set TMPDIR to a writable directory "
                 "or give a media directory (--media-dir DIR)", tmpl, strerror(-e));
            return e;
        }
    }
    snprintf(private_dir, sizeof private_dir, "%s", tmpl);
    private_owner = getpid();
    atexit(remove_private);
    return 0;
}

/* The private directory's path into out (made on first use).  0 or -errno. */
static int private_path(char *out, size_t outlen, char *why, size_t len)
{
    pthread_mutex_lock(&private_lock);
    int rc = make_private(why, len);
    if (rc == 0)
        snprintf(out, outlen, "%s", private_dir);
    pthread_mutex_unlock(&private_lock);
    return rc;
}

int sim_media_dir_resolve(const char *dir, char *out, size_t outlen, char *why, size_t len)
{
    char priv[PATH_MAX];
    if (!dir || !*dir) {
        int rc = private_path(priv, sizeof priv, why, len);
        if (rc)
            return rc;
        dir = priv;
    }
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(dir, real) || stat(real, &st) < 0) {
        int e = -errno;
        errf(why, len, "media directory %s: %s", dir, strerror(-e));
        return e;
    }
    if (!S_ISDIR(st.st_mode)) {
        errf(why, len, "media directory %s is not a directory", dir);
        return -ENOTDIR;
    }
    if (strlen(real) >= outlen) {
        errf(why, len, "media directory %s: the path is too long", dir);
        return -ENAMETOOLONG;
    }
    memcpy(out, real, strlen(real) + 1);
    return 0;
}

int sim_media_private_subdir(char *out, size_t outlen, char *why, size_t len)
{
    char priv[PATH_MAX];
    int rc = private_path(priv, sizeof priv, why, len);
    if (rc)
        return rc;
    int n = snprintf(out, outlen, "%s/trace-XXXXXX", priv);
    if (n < 0 || (size_t)n >= outlen) {
        errf(why, len, "the private media directory's path is too long for a subdirectory");
        return -ENAMETOOLONG;
    }
    if (!mkdtemp(out)) {
        int e = -errno;
        errf(why, len, "cannot make a media directory for the trace, %s: %s", out, strerror(-e));
        return e;
    }
    return 0;
}

void sim_media_private_subdir_remove(const char *dir)
{
    pthread_mutex_lock(&private_lock);
    size_t n = strlen(private_dir);
    bool ours = n && !strncmp(dir, private_dir, n) && !strncmp(dir + n, "/trace-", 7);
    pthread_mutex_unlock(&private_lock);
    if (ours)
        (void)nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}
