/* tests/test_oracle_journal.c — the durability oracle persisted beside the
 * media (`<media>.oracle`, sim/store/store_oracle.h): a store dropped without
 * an orderly stop (as a controller killed with SIGKILL leaves it) and opened
 * again on the same media judges what the first one promised; a promised
 * block damaged on the media is found; versions written back after a promise
 * are no loss; a torn journal tail is not replayed; a new media file starts
 * afresh.  And across processes: `scsisim controller` killed with SIGKILL
 * while a host is attached, restarted, answers check-media by itself. */
#include "tests/support/testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/store_fixture.h"

#define BS 512u
#define BLOCKS 4096u

static char *path;

static void setup(void)
{
    path = fixture_media_path();
}

static void teardown(void)
{
    fixture_media_cleanup(path, BLOCKS, BS);
}

static struct sim_oracle_report check(struct sim_store *s)
{
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    return r;
}

static off_t journal_size(void)
{
    char j[4200];
    snprintf(j, sizeof j, "%s.oracle", path);
    struct stat st;
    ck_assert_int_eq(stat(j, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    return st.st_size;
}

START_TEST(promises_outlive_the_store)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 10, 4, BS, 1, true);   /* FUA */
    fixture_write(s, 20, 4, BS, 2, false);
    ck_assert_int_eq(sim_store_flush(s, 20, 4), 0);
    fixture_write(s, 30, 2, BS, 3, false);  /* never flushed */
    ck_assert_int_gt(journal_size(), 32);
    sim_store_destroy(s);                   /* no orderly stop: the cache is gone */

    s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.blocks_checked, 10);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 2); /* the unflushed pair died with the first store */
    ck_assert(fixture_holds(s, 10, 4, BS, 1));
    ck_assert(fixture_holds(s, 20, 4, BS, 2));
    sim_store_destroy(s);

    /* Damage a promised block on the media: the next store sees it. */
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "\xff", 1, 22 * BS + 3), 1);
    close(fd);
    s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    r = check(s);
    ck_assert_uint_eq(r.durable_lost, 1);
    ck_assert_uint_eq(r.first_bad_lba, 22);
    sim_store_destroy(s);
}
END_TEST

START_TEST(versions_written_back_after_a_promise_are_no_loss)
{
    /* A 4 KiB cache: the second write is written back by eviction. */
    struct sim_store *s = fixture_store(BLOCKS, BS, path, 4096, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 0, 8, BS, 1, true);
    fixture_write(s, 0, 8, BS, 2, false);
    fixture_write(s, 512, 64, BS, 3, false); /* evicts the line of LBA 0 */
    sim_store_destroy(s);
    s = fixture_store(BLOCKS, BS, path, 4096, HBA_BATTERY_ABSENT, 1);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert(fixture_holds(s, 0, 8, BS, 2));
    sim_store_destroy(s);
}
END_TEST

START_TEST(a_torn_tail_is_not_replayed_and_a_new_media_starts_afresh)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 5, 1, BS, 1, true);
    sim_store_destroy(s);
    char j[4200];
    snprintf(j, sizeof j, "%s.oracle", path);
    off_t good = journal_size();
    /* A half record, then a whole record of garbage. */
    int fd = open(j, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    char junk[48];
    memset(junk, 0x5a, sizeof junk);
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.blocks_checked, 1);
    ck_assert_uint_eq(r.durable_lost, 0);
    /* Rewritten from what was replayed: the garbage is gone. */
    ck_assert_int_le(journal_size(), good);
    ck_assert_int_eq(journal_size() % 32, 0);
    sim_store_destroy(s);

    /* The media file replaced: its journal no longer applies. */
    ck_assert_int_eq(unlink(path), 0);
    s = fixture_store(BLOCKS, BS, path, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    r = check(s);
    ck_assert_uint_eq(r.blocks_checked, 0);
    ck_assert_int_eq(journal_size(), 32);
    sim_store_destroy(s);
}
END_TEST

/* ---- two processes --------------------------------------------------------------- */

static bool wait_socket(const char *p)
{
    for (int i = 0; i < 200; i++) {
        if (access(p, F_OK) == 0)
            return true;
        proc_sleep_ms(50);
    }
    return false;
}

static pid_t controller(const char *dir, const char *bus, const char *ctl)
{
    const char *argv[] = { proc_scsisim_bin(), "controller", "--socket", bus, "--ctl", ctl, "--media-dir", dir,
                           "--drive", "0:0,media=disk,capacity=1M", NULL };
    unlink(ctl); /* so that waiting for the file waits for this process */
    pid_t pid = proc_spawn(argv, -1, -1, PROC_DIE_WITH_US);
    ck_assert_msg(wait_socket(ctl), "the controller did not open %s", ctl);
    return pid;
}

START_TEST(a_controller_killed_with_sigkill_judges_itself_after_restart)
{
    char dir[256], bus[300], ctl[300], trace[300];
    proc_tmpdir(dir, sizeof dir, "orajournal");
    snprintf(bus, sizeof bus, "%s/bus", dir);
    snprintf(ctl, sizeof ctl, "%s/ctl", dir);
    snprintf(trace, sizeof trace, "%s/w.trace", dir);
    FILE *f = fopen(trace, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n@title \"promises, then a long wait to be killed in\"\n@drive 0:0 capacity=1M\n"
          "- H > - ua CMD 00 00 00 00 00 00\n- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"
          "- H > - w1 CMD 2a 08 00 00 00 10 00 00 02 00 len=1024 dir=out\n- H > - w1 DOUT 11*1024\n"
          "- H < - w1 STATUS GOOD\n"
          "- H > - w2 CMD 2a 00 00 00 00 20 00 00 04 00 len=2048 dir=out\n- H > - w2 DOUT 22*2048\n"
          "- H < - w2 STATUS GOOD\n"
          "- H > - s1 CMD 35 00 00 00 00 20 00 00 04 00\n- H < - s1 STATUS GOOD\n"
          "- H > - w3 CMD 2a 00 00 00 00 30 00 00 01 00 len=512 dir=out\n- H > - w3 DOUT 33*512\n"
          "- H < - w3 STATUS GOOD\n"
          "- H ! - - wait 30\n", f);
    fclose(f);
    pid_t c = controller(dir, bus, ctl);
    char sock_opt[320];
    snprintf(sock_opt, sizeof sock_opt, "--two-process=%s", bus);
    const char *run[] = { proc_scsisim_bin(), "run", sock_opt, trace, NULL };
    pid_t host = proc_spawn(run, -1, -1, PROC_DIE_WITH_US);
    /* Wait until the writes are done (the journal holds the promise of s1),
     * then kill the controller while the host is still attached. */
    char jpath[320];
    snprintf(jpath, sizeof jpath, "%s/disk.oracle", dir);
    bool promised = false;
    struct stat jst;
    TESTUTIL_WAIT_FOR(promised = stat(jpath, &jst) == 0 && jst.st_size >= 32 + 32 * 10);
    ck_assert_msg(promised, "the writes never reached the journal");
    proc_sleep_ms(200);
    kill(c, SIGKILL);
    ck_assert_int_eq(proc_wait(c, 20000), 128 + SIGKILL);
    kill(host, SIGKILL);
    proc_wait(host, 20000);

    c = controller(dir, bus, ctl);
    const char *cm[] = { "ctl", ctl, "check-media", "0:0", NULL };
    struct proc_result r;
    proc_scsisim(cm, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    ck_assert_msg(strstr(r.out, "\"blocks_checked\":7,\"durable_lost\":0,\"volatile_kept\":0,\"volatile_lost\":1"),
                  "%s", r.out);
    proc_result_free(&r);
    kill(c, SIGTERM);
    ck_assert_int_eq(proc_wait(c, 20000), 0);
    proc_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("oracle_journal");
    TCase *t = tcase_create("store");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, promises_outlive_the_store);
    tcase_add_test(t, versions_written_back_after_a_promise_are_no_loss);
    tcase_add_test(t, a_torn_tail_is_not_replayed_and_a_new_media_starts_afresh);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("processes");
    tcase_set_timeout(p, 120);
    tcase_add_test(p, a_controller_killed_with_sigkill_judges_itself_after_restart);
    suite_add_tcase(s, p);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
