/* conformance/format/trace_map.c — see trace_map.h. */
#include "conformance/format/trace_map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void trace_map_init(struct trace_map *m)
{
    memset(m, 0, sizeof(*m));
}

void trace_map_free(struct trace_map *m)
{
    free(m->slots);
    trace_map_init(m);
}

/* FNV-1a: keys are short, distribution is all that matters. */
static size_t hash_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return (size_t)(h ^ (h >> 32));
}

static size_t find_slot(const struct trace_map *m, const char *key, bool *found)
{
    size_t mask = m->cap - 1, i = hash_key(key) & mask;
    while (m->slots[i].used) {
        if (!strcmp(m->slots[i].key, key)) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

static int grow(struct trace_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(struct trace_map_slot))
        return -ENOMEM;
    struct trace_map_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    struct trace_map old = *m;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].used)
            continue;
        bool found;
        size_t j = find_slot(m, old.slots[i].key, &found);
        m->slots[j] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int trace_map_set(struct trace_map *m, const char *key, size_t value)
{
    size_t klen = strlen(key);
    if (klen > TRACE_MAP_KEY_MAX)
        return -ENAMETOOLONG;
    if ((m->count + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    bool found;
    size_t i = find_slot(m, key, &found);
    if (!found) {
        m->slots[i].used = true;
        memcpy(m->slots[i].key, key, klen + 1);
        m->count++;
    }
    m->slots[i].value = value;
    return 0;
}

bool trace_map_get(const struct trace_map *m, const char *key, size_t *value)
{
    if (!m->cap)
        return false;
    bool found;
    size_t i = find_slot(m, key, &found);
    if (found && value)
        *value = m->slots[i].value;
    return found;
}

bool trace_map_del(struct trace_map *m, const char *key)
{
    if (!m->cap)
        return false;
    bool found;
    size_t i = find_slot(m, key, &found);
    if (!found)
        return false;
    /* Backward-shift: move later members of the probe run into the hole. */
    size_t mask = m->cap - 1, hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].used)
            break;
        size_t home = hash_key(m->slots[j].key) & mask;
        /* j may move to hole when home is not cyclically within (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].used = false;
    m->count--;
    return true;
}
