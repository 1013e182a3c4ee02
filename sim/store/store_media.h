/* sim/store/store_media.h — the stable storage under the cache: byte-addressed,
 * sparse, and read as zeros wherever nothing was written.
 *
 * File media: media_path, and for drives above STORE_MEDIA_SEGMENT bytes also
 * media_path.1, media_path.2, … (each STORE_MEDIA_SEGMENT bytes, the last one
 * shorter).  Segments are sparse files (ftruncate'd, holes cost nothing), so a
 * 66 TB drive works on ext4 whose files stop at 16 TiB.  The first segment is
 * created with the store; the others when first written.  Data is on stable
 * storage after store_media_sync (fdatasync of every segment written since).
 *
 * Memory media: 64 KiB chunks allocated on first non-zero write.
 * Internal to the store; errors are negative errno values.
 */
#ifndef SIM_STORE_STORE_MEDIA_H
#define SIM_STORE_STORE_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MEDIA_SEGMENT (UINT64_C(1) << 43)   /* 8 TiB per media file */
#define STORE_MEDIA_CHUNK   (UINT64_C(1) << 16)   /* 64 KiB memory chunks */
#define STORE_MEDIA_MAPPED_SCAN 16384u            /* chunks one store_media_mapped call walks */

struct store_media;
struct store_sys;

/* path NULL: memory.  bytes > 0.  Every system call on the segment files
 * goes through sys (store_sys.h; NULL: none is made to fail).  err gets a
 * message on failure. */
int  store_media_open(struct store_media **out, const char *path, uint64_t bytes, struct store_sys *sys,
                      char *err, size_t errlen);
void store_media_close(struct store_media *m);
int  store_media_read(struct store_media *m, uint64_t off, size_t len, void *buf);
int  store_media_write(struct store_media *m, uint64_t off, size_t len, const void *buf);
int  store_media_sync(struct store_media *m);
/* Deallocates [off, off+len): reads of it return zeros from now on.  File
 * media punches a hole (FALLOC_FL_PUNCH_HOLE; the file system keeps partial
 * blocks allocated and zeroed); memory media frees the chunks wholly inside
 * and zeroes the rest.  Durable after store_media_sync. */
int  store_media_discard(struct store_media *m, uint64_t off, uint64_t len);
/* Whether the byte at off is backed by storage (mapped), and in *run how many
 * bytes from off, at most len, share that state.  Memory media answers per
 * 64 KiB chunk and looks at most STORE_MEDIA_MAPPED_SCAN chunks past the first
 * (a longer run is reported in pieces), file media per file-system block
 * (SEEK_DATA/SEEK_HOLE). */
int  store_media_mapped(struct store_media *m, uint64_t off, uint64_t len, bool *mapped, uint64_t *run);
/* Heap the media uses (memory chunks, segment table). */
size_t store_media_mem_bytes(const struct store_media *m);
/* Unlinks every segment file of a drive of `bytes` bytes at path; missing
 * files are fine.  Returns the first other error. */
int  store_media_remove(const char *path, uint64_t bytes);

#endif
