/* tests/test_store_battery.c — the battery-backed cache beside file media
 * (sim/store/store_bbu.h) survives SIGKILL of the process that writes it.
 *
 * The slot protocol: a child process writes and forgets blocks in the file
 * as fast as it can, noting in memory shared with the parent what it has
 * committed and what it is doing; the parent kills it with SIGKILL at a
 * random instant, many times, and checks that the file read back holds, for
 * every block, exactly the committed version or the one being written —
 * never a torn block, an older version or a forgotten block.
 *
 * The store: a child writes through sim_store (file media, battery GOOD) and
 * is killed; a store created on the same media with the battery GOOD finds
 * every acknowledged block (the oracle: volatile_kept, nothing lost), with
 * its protection information; with the battery ABSENT or FAILED the blocks
 * are gone and the oracle counts them lost.  A durable write over a kept
 * dirty block is never undone by the replay, and a battery that becomes
 * GOOD while blocks are dirty keeps them too. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "sim/store/store_bbu.h"
#include "sim/store/store_hash.h"
#include "tests/support/store_fixture.h"

#define BS 512u
#define NBLK 4096u   /* over 1024 live slots: the file grows while it is killed */
#define MAXRUN 8u

/* What the child tells the parent, in shared memory. */
struct shared {
    _Atomic uint32_t committed[NBLK];   /* version the file holds for certain; 0: nothing */
    _Atomic uint64_t intent_lba;        /* the operation under way */
    _Atomic uint32_t intent_n, intent_v; /* v 0: a forget */
    _Atomic uint32_t busy;              /* 1 while the intent is under way */
    _Atomic uint32_t ops;
};

static void fill(uint8_t *p, uint64_t lba, uint32_t v)
{
    for (uint32_t i = 0; i < BS; i += 16) {
        memcpy(p + i, &lba, 8);
        memcpy(p + i + 8, &v, 4);
        memcpy(p + i + 12, &v, 4);
    }
}

/* The version a block read back holds; UINT32_MAX when it is not whole. */
static uint32_t version(const uint8_t *p, uint64_t lba)
{
    uint32_t v;
    memcpy(&v, p + 8, 4);
    for (uint32_t i = 0; i < BS; i += 16) {
        uint64_t l;
        uint32_t a, b;
        memcpy(&l, p + i, 8);
        memcpy(&a, p + i + 8, 4);
        memcpy(&b, p + i + 12, 4);
        if (l != lba || a != v || b != v)
            return UINT32_MAX;
    }
    return v;
}

static void child_writer(const char *media, struct shared *sh, uint64_t seed)
{
    struct store_bbu b;
    store_bbu_init(&b);
    char err[256];
    if (store_bbu_open(&b, media, BS, NBLK, err, sizeof err) != 0)
        _exit(3);
    store_bbu_set_good(&b, true);
    uint8_t data[MAXRUN * BS];
    uint8_t pi[MAXRUN * 8];
    for (uint32_t v = 1;; v++) {
        uint64_t r = store_rng_next(&seed);
        uint32_t n = 1 + (uint32_t)(r % MAXRUN);
        uint64_t lba = (r >> 8) % (NBLK - n);
        bool forget = (r >> 40) % 5 == 0;
        atomic_store(&sh->intent_lba, lba);
        atomic_store(&sh->intent_n, n);
        atomic_store(&sh->intent_v, forget ? 0 : v);
        atomic_store(&sh->busy, 1);
        if (forget) {
            store_bbu_forget(&b, lba, n);
        } else {
            for (uint32_t i = 0; i < n; i++) {
                fill(data + i * BS, lba + i, v);
                memset(pi + i * 8, (int)(v & 0xff), 8);
            }
            if (store_bbu_put(&b, lba, n, data, pi) != 0)
                _exit(4);
        }
        for (uint32_t i = 0; i < n; i++)
            atomic_store(&sh->committed[lba + i], forget ? 0 : v);
        atomic_store(&sh->busy, 0);
        atomic_fetch_add(&sh->ops, 1);
    }
}

struct seen {
    uint32_t v[NBLK];     /* 0: not recovered */
    uint32_t bad;         /* blocks recovered torn or with a wrong tuple */
};

static int collect(void *ctx, uint64_t lba, const void *data, const uint8_t *pi)
{
    struct seen *s = ctx;
    uint32_t v = version(data, lba);
    if (v == UINT32_MAX || !pi || pi[0] != (uint8_t)(v & 0xff) || s->v[lba] != 0)
        s->bad++;
    s->v[lba] = v;
    return 0;
}

START_TEST(a_kill_at_any_instant_leaves_the_old_or_the_new_version)
{
    char *media = fixture_media_path();
    int fd = open(media, O_RDWR | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* The id that ties the file to its media (the oracle journal sets it on
     * a real drive); without user attributes the inode stands in. */
    uint64_t id = 0x1234567;
    if (setxattr(media, "user.scsisim.oracle", &id, sizeof id, 0) < 0)
        ck_assert_int_eq(errno, ENOTSUP);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    static struct seen seen;
    uint64_t rng = 77;
    unsigned kills = testutil_scale(150, 10), with_ops = 0, mid_op = 0;
    uint64_t blocks_checked = 0;
    for (unsigned k = 0; k < kills; k++) {
        memset(sh, 0, sizeof *sh);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            child_writer(media, sh, 1000 + k);
        /* Four kills in five land among writes: the parent waits for the
         * first one (a progress wait, bounded only against a wedged child,
         * so a slow machine or valgrind changes nothing); the fifth may hit
         * the file's creation.  Then a random instant, 0 to 3 ms on. */
        if (k % 5 != 0) {
            struct timespec tick = { .tv_nsec = 100000 };
            for (unsigned w = 0; atomic_load(&sh->ops) == 0 && w < 600000; w++)
                nanosleep(&tick, NULL);
            ck_assert_msg(atomic_load(&sh->ops) > 0, "the writer made no progress in a minute");
        }
        struct timespec d = { .tv_nsec = (long)(store_rng_next(&rng) % 3000000u) };
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status), "the writer stopped by itself: status %d", status);
        with_ops += atomic_load(&sh->ops) > 0;
        memset(&seen, 0, sizeof seen);
        uint64_t kept = 0, discarded = 0;
        bool was_good = false;
        char err[256] = "";
        int rc = store_bbu_recover(media, BS, NBLK, true, collect, &seen, &kept, &discarded, &was_good, err,
                                   sizeof err);
        ck_assert_msg(rc == 0, "%s", err);
        ck_assert_msg(seen.bad == 0, "kill %u: %u blocks recovered torn, twice or with the wrong tuple", k, seen.bad);
        uint64_t il = atomic_load(&sh->intent_lba);
        uint32_t in = atomic_load(&sh->intent_n), iv = atomic_load(&sh->intent_v);
        bool busy = atomic_load(&sh->busy);
        mid_op += busy;
        for (uint64_t b = 0; b < NBLK; b++) {
            uint32_t want = atomic_load(&sh->committed[b]);
            bool in_flight = busy && b >= il && b < il + in;
            bool ok = seen.v[b] == want || (in_flight && seen.v[b] == iv);
            ck_assert_msg(ok, "kill %u: LBA %llu holds version %u; committed %u%s%u", k, (unsigned long long)b,
                          seen.v[b], want, in_flight ? ", being written: " : "", in_flight ? iv : 0);
            blocks_checked += want != 0;
        }
        /* As the store does after its recovery: the next writer starts on an
         * empty file (a kill before its open must not find this one's). */
        ck_assert_int_eq(store_bbu_remove(media), 0);
    }
    /* The test means something only if the kills landed among writes. */
    ck_assert_msg(with_ops >= kills * 4 / 5, "only %u of %u kills came after a write", with_ops, kills);
    fprintf(stderr, "test_store_battery: %u kills, %u mid-operation, %llu committed blocks checked\n", kills,
            mid_op, (unsigned long long)blocks_checked);
    munmap(sh, sizeof *sh);
    fixture_media_cleanup(media, 1, BS);
}
END_TEST

/* ---- the store ------------------------------------------------------------- */

#define SBLK 8192u

static void pi_fn(void *arg, uint64_t lba, const void *block, uint32_t block_size, uint8_t tuple[8])
{
    (void)arg;
    uint32_t h = store_block_hash(block, block_size);
    memcpy(tuple, &h, 4);
    uint32_t l = (uint32_t)lba;
    memcpy(tuple + 4, &l, 4);
}

static struct sim_store *open_store(const char *media, enum hba_battery battery)
{
    struct sim_store_config cfg = { .blocks = SBLK, .block_size = BS, .media_path = media, .battery = battery,
                                    .seed = 1, .pi_gen = { .fn = pi_fn } };
    struct sim_store *s = NULL;
    char err[512] = "";
    int rc = sim_store_create(&cfg, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "sim_store_create: %s", err);
    return s;
}

/* Runs fn in a child on a store over media with `battery`, then SIGKILLs
 * it once fn has returned (the child waits to be killed). */
static void kill_after(const char *media, enum hba_battery battery, void (*fn)(struct sim_store *))
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        struct sim_store *s = open_store(media, battery);
        fn(s);
        char c = 'k';
        if (write(p[1], &c, 1) != 1)
            _exit(5);
        for (;;)
            pause();
    }
    close(p[1]);
    char c = 0;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
}

/* 100 blocks durable (FUA at 0, a flush at 1000), 300 acknowledged only. */
static void writes(struct sim_store *s)
{
    fixture_write(s, 0, 50, BS, 1, true);
    fixture_write(s, 1000, 50, BS, 2, false);
    ck_assert_int_eq(sim_store_flush(s, 1000, 50), 0);
    fixture_write(s, 2000, 100, BS, 3, false);
    fixture_write(s, 4000, 200, BS, 4, false);
}

START_TEST(a_good_battery_keeps_acknowledged_blocks_through_sigkill)
{
    char *media = fixture_media_path();
    kill_after(media, HBA_BATTERY_GOOD, writes);
    struct sim_store *s = open_store(media, HBA_BATTERY_GOOD);
    struct sim_store_stats st;
    sim_store_stats(s, &st);
    ck_assert_uint_eq(st.battery_kept_at_open, 300);
    ck_assert_uint_eq(st.battery_blocks, 0);   /* written back: the file starts afresh */
    ck_assert(fixture_holds(s, 0, 50, BS, 1) && fixture_holds(s, 1000, 50, BS, 2));
    ck_assert(fixture_holds(s, 2000, 100, BS, 3) && fixture_holds(s, 4000, 200, BS, 4));
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 400);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, 300);
    /* The tuples travelled with their blocks. */
    uint8_t data[BS], tuple[8], want[8];
    ck_assert_int_eq(sim_store_read(s, 4100, 1, data), 0);
    ck_assert_int_eq(sim_store_read_pi(s, 4100, 1, tuple), 0);
    pi_fn(NULL, 4100, data, BS, want);
    ck_assert_mem_eq(tuple, want, 8);
    sim_store_destroy(s);
    fixture_media_cleanup(media, SBLK, BS);
}
END_TEST

START_TEST(without_a_good_battery_the_kept_blocks_are_discarded_and_counted_lost)
{
    enum hba_battery now = _i == 0 ? HBA_BATTERY_ABSENT : HBA_BATTERY_FAILED;
    char *media = fixture_media_path();
    kill_after(media, HBA_BATTERY_GOOD, writes);
    struct sim_store *s = open_store(media, now);
    struct sim_store_stats st;
    sim_store_stats(s, &st);
    ck_assert_uint_eq(st.battery_kept_at_open, 0);
    ck_assert_uint_eq(st.battery_discarded_at_open, 300);
    ck_assert(fixture_holds(s, 0, 50, BS, 1) && fixture_holds(s, 1000, 50, BS, 2));
    ck_assert(fixture_holds(s, 2000, 100, BS, 0));   /* never reached the media */
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 300);
    ck_assert_uint_eq(r.volatile_kept, 0);
    ck_assert_uint_eq(r.n_ranges, 2);
    ck_assert_uint_eq(r.range[0].lba, 2000);
    ck_assert(!r.range[0].durable);
    sim_store_destroy(s);
    fixture_media_cleanup(media, SBLK, BS);
}
END_TEST

/* Version 5 dirty, then version 6 with FUA: the battery must not replay 5. */
static void dirty_then_fua(struct sim_store *s)
{
    fixture_write(s, 300, 16, BS, 5, false);
    fixture_write(s, 300, 16, BS, 6, true);
    fixture_write(s, 600, 4, BS, 7, false);
}

START_TEST(a_durable_write_over_a_kept_block_is_never_undone)
{
    char *media = fixture_media_path();
    kill_after(media, HBA_BATTERY_GOOD, dirty_then_fua);
    struct sim_store *s = open_store(media, HBA_BATTERY_GOOD);
    ck_assert(fixture_holds(s, 300, 16, BS, 6));
    ck_assert(fixture_holds(s, 600, 4, BS, 7));
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, 4);
    sim_store_destroy(s);
    fixture_media_cleanup(media, SBLK, BS);
}
END_TEST

/* Written with no battery, which then becomes GOOD: the dirty blocks are
 * copied to the file at that moment. */
static void battery_arrives(struct sim_store *s)
{
    fixture_write(s, 7000, 64, BS, 8, false);
    sim_store_set_battery(s, HBA_BATTERY_GOOD);
    struct sim_store_stats st;
    sim_store_stats(s, &st);
    if (st.battery_blocks != 64)
        _exit(6);
}

/* Written with a good battery that then fails: nothing is kept. */
static void battery_fails(struct sim_store *s)
{
    fixture_write(s, 7000, 64, BS, 9, false);
    sim_store_set_battery(s, HBA_BATTERY_FAILED);
    sim_store_set_battery(s, HBA_BATTERY_GOOD);   /* and is replaced: the cache is mirrored again */
    fixture_write(s, 7100, 8, BS, 10, false);
    sim_store_set_battery(s, HBA_BATTERY_FAILED);
}

START_TEST(a_battery_that_changes_while_blocks_are_dirty)
{
    char *media = fixture_media_path();
    kill_after(media, HBA_BATTERY_ABSENT, battery_arrives);
    struct sim_store *s = open_store(media, HBA_BATTERY_GOOD);
    ck_assert(fixture_holds(s, 7000, 64, BS, 8));
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    ck_assert_uint_eq(r.volatile_kept, 64);
    ck_assert_uint_eq(r.volatile_lost, 0);
    sim_store_destroy(s);

    kill_after(media, HBA_BATTERY_GOOD, battery_fails);
    s = open_store(media, HBA_BATTERY_GOOD);
    struct sim_store_stats st;
    sim_store_stats(s, &st);
    ck_assert_uint_eq(st.battery_kept_at_open, 0);
    ck_assert(fixture_holds(s, 7000, 64, BS, 8));    /* the older, written-back version */
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 72);
    sim_store_destroy(s);
    fixture_media_cleanup(media, SBLK, BS);
}
END_TEST

START_TEST(a_cache_file_that_is_a_symlink_is_refused)
{
    char *media = fixture_media_path();
    struct sim_store *s = open_store(media, HBA_BATTERY_GOOD);
    sim_store_destroy(s);
    char path[4300];
    snprintf(path, sizeof path, "%s.cache", media);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(symlink("/etc/passwd", path), 0);
    struct sim_store_config cfg = { .blocks = SBLK, .block_size = BS, .media_path = media,
                                    .battery = HBA_BATTERY_GOOD };
    char err[512] = "";
    ck_assert_int_lt(sim_store_create(&cfg, &s, err, sizeof err), 0);
    ck_assert_msg(strstr(err, ".cache") && strstr(err, "battery-backed cache"), "%s", err);
    unlink(path);
    fixture_media_cleanup(media, SBLK, BS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_battery");
    TCase *t = tcase_create("battery");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, a_kill_at_any_instant_leaves_the_old_or_the_new_version);
    tcase_add_test(t, a_good_battery_keeps_acknowledged_blocks_through_sigkill);
    tcase_add_loop_test(t, without_a_good_battery_the_kept_blocks_are_discarded_and_counted_lost, 0, 2);
    tcase_add_test(t, a_durable_write_over_a_kept_block_is_never_undone);
    tcase_add_test(t, a_battery_that_changes_while_blocks_are_dirty);
    tcase_add_test(t, a_cache_file_that_is_a_symlink_is_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
