/* sim/store/media_file.h — media files are untrusted names: how one is opened,
 * recognised as ours, and placed under the media directory.
 *
 * Traces and configuration files come from the field, so a media path in one
 * must not reach a file the user did not hand over:
 *   - a media name is relative, has no ".." component and is resolved under
 *     the media directory (media-dir / --media-dir; default: a private
 *     temporary directory, mode 0700, removed when the process that made it
 *     exits);
 *   - no component of the path may be a symbolic link (openat2 with
 *     RESOLVE_NO_SYMLINKS, or, where openat2 is missing, a walk a component
 *     at a time with O_NOFOLLOW; after the media directory itself is made
 *     canonical);
 *   - a media file of ours carries the extended attribute SIM_MEDIA_XATTR,
 *     set when scsisim creates it (mode 0600, O_EXCL).  An existing file
 *     without it is never extended or overwritten unless force is given
 *     (media-force / --force), which then marks it;
 *   - file media above the media-max size (default SIM_MEDIA_MAX_DEFAULT)
 *     is refused unless media-max is raised.
 * On a file system without user extended attributes a file scsisim created
 * cannot be recognised later, so reusing it needs --force. */
#ifndef SIM_STORE_MEDIA_FILE_H
#define SIM_STORE_MEDIA_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MEDIA_XATTR       "user.scsisim.media"
#define SIM_MEDIA_MAX_DEFAULT (UINT64_C(4) << 40)   /* 4 TiB of sparse file */

/* Opens (create: or creates, 0600 and marked) the media file at path, which
 * must hold no symbolic link.  An existing file must be a regular file marked
 * as ours.  Returns the descriptor, or -errno with why filled: -ELOOP (a
 * symlink), -EPERM (not ours), -ENOENT (missing and !create), others. */
int sim_media_file_open(const char *path, bool create, char *why, size_t len);
/* The same; walk = true opens as on a kernel without openat2 (before 5.6,
 * or under valgrind: ENOSYS), one component at a time with O_NOFOLLOW.  The
 * store asks for it when an io-error rule arms errno=ENOSYS on the media's
 * open, so a trace can judge that path too. */
int sim_media_file_open_how(const char *path, bool create, bool walk, char *why, size_t len);

/* A media name's form: non-empty, relative, no "." or ".." component.  0, or
 * -EINVAL with why filled and *bad_at the byte offset of the fault. */
int sim_media_name_check(const char *name, size_t *bad_at, char *why, size_t len);

/* What opening dir/name would find, without creating anything: 0 when it is
 * missing or ours (or force), else -ELOOP (a symlink on the way), -EPERM (an
 * existing file that is not ours), -ENOTDIR / -errno; why filled.  With force
 * an unmarked regular file is marked as ours. */
int sim_media_inspect(const char *dir, const char *name, bool force, char *why, size_t len);

/* The media directory to use: dir made canonical (realpath) into out, or with
 * dir NULL or "" a private temporary directory made on first use (by the
 * first caller in a process: children forked afterwards share it, and only
 * that process removes it, at its exit).  0 or -errno with why filled. */
int sim_media_dir_resolve(const char *dir, char *out, size_t outlen, char *why, size_t len);

/* A new, empty directory under the private media directory (made first if
 * need be) for one trace's controller: controllers that run at once (traces
 * replayed side by side) then never share a file whose name both use.  0 or
 * -errno with why filled. */
int sim_media_private_subdir(char *out, size_t outlen, char *why, size_t len);
/* Removes, with its files, a directory sim_media_private_subdir made (and
 * nothing else: any other path is left alone). */
void sim_media_private_subdir_remove(const char *dir);

#endif
