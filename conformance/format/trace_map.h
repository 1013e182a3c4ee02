/* conformance/format/trace_map.h — a small string-keyed hash map (key -> size_t), for
 * the parser's open tags, pending holds and marks.  Keys are short (at most
 * TRACE_MAP_KEY_MAX bytes) and copied into the table; open addressing with
 * linear probing and backward-shift deletion, so no tombstones pile up.
 * Memory: about 88 bytes per slot, at most twice the live entries. */
#ifndef CONFORMANCE_TRACE_MAP_H
#define CONFORMANCE_TRACE_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define TRACE_MAP_KEY_MAX 72

struct trace_map_slot {
    bool   used;
    char   key[TRACE_MAP_KEY_MAX + 1];
    size_t value;
};

struct trace_map {
    struct trace_map_slot *slots;
    size_t cap;   /* a power of two, or 0 */
    size_t count;
};

void trace_map_init(struct trace_map *m);
void trace_map_free(struct trace_map *m);
/* Sets key (inserting or replacing).  0, -ENOMEM, or -ENAMETOOLONG for a key
 * longer than TRACE_MAP_KEY_MAX. */
int  trace_map_set(struct trace_map *m, const char *key, size_t value);
/* True (and *value) when key is present. */
bool trace_map_get(const struct trace_map *m, const char *key, size_t *value);
/* Removes key; false when it was absent. */
bool trace_map_del(struct trace_map *m, const char *key);
/* Iteration: slot index i from 0 while i < m->cap; skip !slots[i].used.
 * Deleting during iteration may move a later entry before i: iterate over a
 * copy of the values when deleting. */

#endif
