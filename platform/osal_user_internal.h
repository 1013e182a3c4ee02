/* platform/osal_user_internal.h — what the osal_user_*.c files share: the osal
 * instance and the hooks each part offers the others.  Not for the core. */
#ifndef PLATFORM_OSAL_USER_INTERNAL_H
#define PLATFORM_OSAL_USER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>
#include <uv.h>

#include "platform/osal_user.h"
#include "platform/ptr_fifo.h"
#include "platform/range_alloc.h"

#define OSAL_PAGE     4096ull
#define OSAL_DMA_GRAN 64ull   /* DMA buffers are rounded to whole cache lines */

struct osal_qitem {
    osal_block fn;
    void *arg;
    struct osal_qitem *next;
    bool sync;      /* on the waiter's stack; done is set when it ran */
    bool done;
};

/* Items of finished async blocks, kept for the next post (osal_user_queue.c). */
struct osal_qkept {
    struct osal_qitem *first;
    unsigned n;
};

struct osal_dma_buf;   /* osal_user_dma.c */
struct osal_map_rec;   /* osal_user_dma.c */
struct osal_map_slab;  /* osal_user_dma.c */
struct osal_dma_fast;  /* osal_user_dma.c, "the pair cache" */

struct osal {
    _Atomic(struct bus *) bus;
    char name[32];
    enum osal_log_level log_level;
    osal_log_sink log_sink;
    void *log_arg;

    /* the dispatch queue */
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;           /* set by the queue thread itself (osal_on_queue) */
    pthread_t joinable;         /* the same thread, as pthread_create returned it */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;       /* sync items done; the thread started */
    pthread_mutex_t run;        /* the right to run blocks (osal_user.c, "the dispatch queue") */
    _Atomic unsigned loop_waiting; /* the queue's thread is waiting for run */
    struct osal_qitem *head, *tail;   /* blocks */
    struct osal_qitem *lhead, *ltail; /* loop-only items: run by the queue's thread alone */
    _Atomic unsigned queued;          /* items on head (changed under qlock, read without it) */
    /* Blocks an osal_queue_run_here thread's blocks queue, and the spent items
     * it reuses: touched only by the thread holding os->run that is not the
     * queue's thread, so os->run alone guards them (no qlock per command). */
    struct osal_qitem *rhead, *rtail;
    struct osal_qkept rkept;
    struct osal_qkept kept;     /* spent async items of the other lists, reused (under qlock) */
    bool started;
    _Atomic bool stopping;      /* set under qlock; read without it by a run_here thread */

    /* interrupt and timer sources: lists touched only on the queue */
    LIST_HEAD(, osal_irq) irqs;
    LIST_HEAD(, osal_timer) timers;
    _Atomic uint32_t irqs_live, timers_live;
    _Atomic uint64_t irqs_delivered;
    uint64_t queue_wakeups;     /* under qlock */

    /* DMA: buffers, IOVA space and live mappings, under dlock */
    pthread_mutex_t dlock;
    struct range_alloc ram;
    struct range_alloc iova, iova_low; /* the high and the low IOVA window (osal_user.h) */
    struct osal_dma_buf *bufs;
    struct osal_dma_buf *buf_free;     /* freed buffers' structs, reused (osal_user_dma.c) */
    struct osal_map_rec *maps;         /* live mappings (replayed by a bus switch) */
    struct osal_map_rec *standing;     /* registered buffers' standing mappings (osal_user_dma.c) */
    /* The mapping records' pool (osal_user_dma.c, "the record pool"): slabs
     * kept until osal_dma_fini, a free list, and an index of the live records
     * by their first IOVA (open addressing, at most half full). */
    struct osal_map_slab *map_slabs;
    struct osal_map_rec *map_free;
    struct osal_map_rec **map_index;
    unsigned map_index_bits;           /* the index has 1 << bits slots */
    uint32_t map_recs;                 /* records in the pool, live and free */
    uint64_t map_pool_grows;           /* slabs allocated */
    uint32_t nbufs;
    /* Mappings made and ended under dlock (and by drops of records); a pair
     * mapped and completed without it counts in fast_maps / fast_unmaps
     * instead, one atomic add each, not three (osal_dma_map_counts). */
    _Atomic uint32_t nmaps;
    _Atomic uint64_t maps_total, segs_total;
    _Atomic uint64_t fast_maps, fast_unmaps;
    uint64_t standing_made;            /* prepares of standing mappings since dropped */
    /* osal_dma_defer_begin/end: completions on defer_owner's thread wait for
     * their invalidation only at the end; until then their records (IOVA
     * range held) are on `pending`. */
    atomic_bool deferring;
    _Atomic pthread_t defer_owner;     /* stored before deferring is set */
    struct osal_map_rec *pending;
    _Atomic uint64_t deferred_total;
    uint64_t defer_mark;               /* deferred_total at defer_begin (the owner's alone) */
    uint64_t defer_syncs;
    /* The cache of free (record, IOVA range) pairs that a command's prepare
     * and complete use without dlock; NULL until the first pair (atomic). */
    struct osal_dma_fast *fast;
    atomic_bool scatter;        /* read without dlock: osal_user_set_scatter may flip it */
    atomic_bool reverse_dirs;   /* osal_user_set_reverse_directions */
};

/* osal_user_dma.c */
void osal_dma_init(struct osal *os, const struct osal_user_options *o, uint64_t ram_size);
/* Deferred completes whose IOMMU wait has not come yet (dlock held). */
uint32_t osal_dma_pending_count(const struct osal *os);
/* IOVA pages that live mappings reserve (dlock held): the free pairs of the
 * cache hold theirs but are not counted. */
uint64_t osal_dma_iova_pages_live(const struct osal *os);
/* Live mappings, mappings made and segments mapped, all told (dlock held:
 * the registered buffers' counts are summed from their list). */
void osal_dma_map_counts(const struct osal *os, uint32_t *live, uint64_t *maps, uint64_t *segs);
/* Unmaps and frees everything still live (logged), then the allocators. */
void osal_dma_fini(struct osal *os);
/* The DMA side of osal_user_set_bus: -ERANGE (nothing changed) if a live
 * buffer does not fit the new RAM; otherwise swaps os->bus, moves vaddrs and
 * replays mappings (first error returned). */
int  osal_dma_switch_bus(struct osal *os, struct bus *bus);

/* osal_user_queue.c */
/* The loop's wake-up callback and the queue's thread. */
void osal_queue_on_wake(uv_async_t *h);
void *osal_queue_thread(void *arg);
/* Frees the kept queue items (teardown). */
void osal_queue_fini(struct osal *os);
/* Takes os->run (blocks run on this thread until osal_run_leave, and
 * osal_on_queue is true); returns what to hand osal_run_leave. */
struct osal *osal_run_enter(struct osal *os);
void osal_run_leave(struct osal *os, struct osal *saved);
/* With os->run held: runs every queued block until the queue is empty.
 * Whoever holds os->run calls it before letting go (see enqueue). */
void osal_queue_run_pending(struct osal *os);
/* Whether this thread holds os->run / is the queue's own thread. */
bool osal_running_here(struct osal *os);
bool osal_on_loop_thread(struct osal *os);
/* Runs fn on the queue's thread, outside os->run (libuv handles), and waits;
 * inline on that thread; -EDEADLK from a thread holding os->run elsewhere. */
int  osal_loop_sync(struct osal *os, osal_block fn, void *arg);
/* The same without waiting. */
int  osal_loop_async(struct osal *os, osal_block fn, void *arg);

/* osal_user_src.c */
/* On the queue: re-binds every interrupt source to the current bus's fds. */
void osal_src_rebind(void *os);
/* On the queue, at shutdown: closes every source still live (logged). */
void osal_src_close_all(struct osal *os);

#endif
