/* tests/test_config.c — configuration defaults, every key from a file and from
 * the command line, every error with its exact place, validation, and
 * print → load round trips. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config/config.h"

/* Writes text to a temporary file and loads it over cfg. */
static int load_text(struct sim_config *cfg, const char *text, struct located_error *err)
{
    char path[] = "/tmp/scsisim-test-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    int rc = sim_config_load_file(cfg, path, err);
    if (rc)
        ck_assert_str_eq(err->file, path);
    unlink(path);
    return rc;
}

/* Field-by-field equality (lus_are_default is bookkeeping, not configuration). */
static void assert_lu_equal(const struct sim_lu_config *a, const struct sim_lu_config *b)
{
    ck_assert_uint_eq(a->target, b->target);
    ck_assert_uint_eq(a->lun, b->lun);
    ck_assert_uint_eq(a->blocks, b->blocks);
    ck_assert_uint_eq(a->block_size, b->block_size);
    ck_assert_str_eq(a->vendor, b->vendor);
    ck_assert_str_eq(a->product, b->product);
    ck_assert_str_eq(a->revision, b->revision);
    ck_assert_str_eq(a->serial, b->serial);
    ck_assert_int_eq(a->write_cache, b->write_cache);
    ck_assert_int_eq(a->battery, b->battery);
    ck_assert_uint_eq(a->ready_ms, b->ready_ms);
    ck_assert_int_eq(a->write_protect, b->write_protect);
    ck_assert_int_eq(!a->media_path, !b->media_path);
    if (a->media_path)
        ck_assert_str_eq(a->media_path, b->media_path);
    ck_assert_uint_eq(a->cache_bytes, b->cache_bytes);
}

static void assert_config_equal(const struct sim_config *a, const struct sim_config *b)
{
    ck_assert_uint_eq(a->max_targets, b->max_targets);
    ck_assert_uint_eq(a->max_luns, b->max_luns);
    ck_assert_uint_eq(a->max_io_queues, b->max_io_queues);
    ck_assert_uint_eq(a->max_queue_entries, b->max_queue_entries);
    ck_assert_uint_eq(a->vectors, b->vectors);
    ck_assert_uint_eq(a->max_sges, b->max_sges);
    ck_assert_uint_eq(a->max_sgl_depth, b->max_sgl_depth);
    ck_assert_uint_eq(a->addr_bits, b->addr_bits);
    ck_assert_uint_eq(a->max_xfer, b->max_xfer);
    ck_assert_int_eq(a->iommu_policy, b->iommu_policy);
    ck_assert_uint_eq(a->host_ram_bytes, b->host_ram_bytes);
    ck_assert_int_eq(a->poll, b->poll);
    ck_assert_int_eq(a->reorder, b->reorder);
    ck_assert_uint_eq(a->init_ms, b->init_ms);
    ck_assert_uint_eq(a->seed, b->seed);
    ck_assert_uint_eq(a->lu_count, b->lu_count);
    for (size_t i = 0; i < a->lu_count; i++)
        assert_lu_equal(&a->lus[i], &b->lus[i]);
}

/* Prints cfg, loads the text over fresh defaults, checks both are equal. */
static void assert_round_trip(const struct sim_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_config_print(cfg, f), 0);
    fclose(f);
    struct sim_config back;
    struct located_error err;
    sim_config_init(&back);
    int rc = load_text(&back, text, &err);
    if (rc)
        ck_abort_msg("reloading the printed configuration failed at %u:%u: %s\n%s", err.line, err.column,
                     err.message, text);
    assert_config_equal(cfg, &back);
    ck_assert_int_eq(sim_config_validate(&back, &err), 0);
    sim_config_free(&back);
    free(text);
}

/* --- defaults and the drive list ---------------------------------------------------- */

START_TEST(defaults_match_the_header)
{
    struct sim_config c;
    sim_config_init(&c);
    ck_assert_uint_eq(c.max_targets, 16);
    ck_assert_uint_eq(c.max_luns, 8);
    ck_assert_uint_eq(c.max_io_queues, 8);
    ck_assert_uint_eq(c.max_queue_entries, 1024);
    ck_assert_uint_eq(c.vectors, 9);
    ck_assert_uint_eq(c.max_sges, 128);
    ck_assert_uint_eq(c.max_sgl_depth, 8);
    ck_assert_uint_eq(c.addr_bits, 64);
    ck_assert_uint_eq(c.max_xfer, 512 * 1024);
    ck_assert_int_eq(c.iommu_policy, HBA_IOMMU_POLICY_ABORT);
    ck_assert_uint_eq(c.host_ram_bytes, 256ull << 20);
    ck_assert(!c.poll);
    ck_assert(c.reorder);
    ck_assert_uint_eq(c.init_ms, 20);
    ck_assert_uint_eq(c.lu_count, 1);
    ck_assert(c.lus_are_default);
    const struct sim_lu_config *lu = &c.lus[0];
    ck_assert_uint_eq(lu->target, 0);
    ck_assert_uint_eq(lu->lun, 0);
    ck_assert_uint_eq(lu->block_size, 512);
    ck_assert_uint_eq(lu->blocks * lu->block_size, 512ull << 20);
    ck_assert_str_eq(lu->vendor, "SCSISIM");
    ck_assert_str_eq(lu->product, "SIM DISK");
    ck_assert_str_eq(lu->revision, "0001");
    ck_assert_str_eq(lu->serial, "");
    ck_assert(lu->write_cache);
    ck_assert_int_eq(lu->battery, HBA_BATTERY_ABSENT);
    ck_assert_uint_eq(lu->ready_ms, 0);
    ck_assert(!lu->write_protect);
    ck_assert_ptr_null(lu->media_path);
    ck_assert_uint_eq(lu->cache_bytes, 16ull << 20);
    struct located_error err;
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    sim_config_free(&c);
}
END_TEST

START_TEST(drive_list_add_find_clear_copy)
{
    struct sim_config c, copy;
    sim_config_init(&c);
    struct sim_lu_config *lu = sim_config_lu(&c, 3, 1);
    ck_assert_ptr_nonnull(lu);
    ck_assert(!c.lus_are_default);
    lu->media_path = strdup("/tmp/x.img");
    ck_assert_uint_eq(c.lu_count, 2);
    ck_assert_ptr_eq(sim_config_lu(&c, 3, 1), sim_config_find_lu(&c, 3, 1));
    ck_assert_uint_eq(c.lu_count, 2);
    ck_assert_ptr_null(sim_config_find_lu(&c, 3, 2));

    ck_assert_int_eq(sim_config_copy(&copy, &c), 0);
    ck_assert_ptr_ne(copy.lus, c.lus);
    ck_assert_ptr_ne(copy.lus[1].media_path, c.lus[1].media_path);
    snprintf(copy.lus[1].vendor, sizeof copy.lus[1].vendor, "OTHER");
    ck_assert_str_eq(c.lus[1].vendor, "SCSISIM");
    assert_lu_equal(&copy.lus[0], &c.lus[0]);

    sim_config_clear_lus(&c);
    ck_assert_uint_eq(c.lu_count, 0);
    ck_assert_ptr_null(sim_config_find_lu(&c, 0, 0));
    sim_config_free(&c);
    sim_config_free(&c); /* twice is harmless */
    sim_config_free(&copy);
}
END_TEST

/* --- every key ----------------------------------------------------------------------- */

START_TEST(every_key_is_settable_from_a_file)
{
    const char *text =
        "# every key, none at its default\n"
        "[controller]\n"
        "max-targets = 32\n"
        "max-luns = 4\n"
        "max-io-queues = 3\n"
        "max-queue-entries = 0x100   # hexadecimal works too\n"
        "vectors = 4\n"
        "max-sges = 129\n"
        "max-sgl-depth = 2\n"
        "addr-bits = 32\n"
        "max-xfer = 1M\n"
        "iommu-policy = drop\n"
        "host-ram = 1G\n"
        "poll = yes\n"
        "reorder = off\n"
        "init-time = 1s\n"
        "seed = 12345678901234\n"
        "media-dir = /tmp\n"
        "media-max = 66T\n"
        "media-force = on\n"
        "\n"
        "[drive 31:3]\n"
        "  capacity = 66T\n"
        "\tblock-size = 4096\n"
        "vendor = ACME\n"
        "product = \"Big \\\"Disk\\\"\"\n"
        "revision = 2.1\n"
        "serial = SN-0042\n"
        "write-cache = off\n"
        "battery = good\n"
        "ready-time = 500ms\n"
        "write-protect = on\n"
        "media = ld#0.img\n"
        "cache-size = 64M\n"
        "[drive 1:0]\n"
        "blocks = 1000\n"
        "battery = FAILED\n";
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_msg(load_text(&c, text, &err) == 0, "%u:%u: %s", err.line, err.column, err.message);
    ck_assert_uint_eq(c.max_targets, 32);
    ck_assert_uint_eq(c.max_luns, 4);
    ck_assert_uint_eq(c.max_io_queues, 3);
    ck_assert_uint_eq(c.max_queue_entries, 256);
    ck_assert_uint_eq(c.vectors, 4);
    ck_assert_uint_eq(c.max_sges, 129);
    ck_assert_uint_eq(c.max_sgl_depth, 2);
    ck_assert_uint_eq(c.addr_bits, 32);
    ck_assert_uint_eq(c.max_xfer, 1u << 20);
    ck_assert_int_eq(c.iommu_policy, HBA_IOMMU_POLICY_DROP);
    ck_assert_uint_eq(c.host_ram_bytes, 1ull << 30);
    ck_assert(c.poll);
    ck_assert(!c.reorder);
    ck_assert_uint_eq(c.init_ms, 1000);
    ck_assert_uint_eq(c.seed, 12345678901234ull);
    /* The file's drives replaced the default one. */
    ck_assert_uint_eq(c.lu_count, 2);
    ck_assert_ptr_null(sim_config_find_lu(&c, 0, 0));
    const struct sim_lu_config *lu = sim_config_find_lu(&c, 31, 3);
    ck_assert_ptr_nonnull(lu);
    ck_assert_uint_eq(lu->block_size, 4096);
    ck_assert_uint_eq(lu->blocks, (66ull << 40) / 4096);
    ck_assert_str_eq(lu->vendor, "ACME");
    ck_assert_str_eq(lu->product, "Big \"Disk\"");
    ck_assert_str_eq(lu->revision, "2.1");
    ck_assert_str_eq(lu->serial, "SN-0042");
    ck_assert(!lu->write_cache);
    ck_assert_int_eq(lu->battery, HBA_BATTERY_GOOD);
    ck_assert_uint_eq(lu->ready_ms, 500);
    ck_assert(lu->write_protect);
    ck_assert_str_eq(lu->media_path, "ld#0.img");
    ck_assert_str_eq(c.media_dir, "/tmp");
    ck_assert_uint_eq(c.media_max, 66ull << 40);
    ck_assert(c.media_force);
    ck_assert_uint_eq(lu->cache_bytes, 64ull << 20);
    lu = sim_config_find_lu(&c, 1, 0);
    ck_assert_ptr_nonnull(lu);
    ck_assert_uint_eq(lu->blocks, 1000);
    ck_assert_uint_eq(lu->block_size, 512);
    ck_assert_int_eq(lu->battery, HBA_BATTERY_FAILED);
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    assert_round_trip(&c);
    sim_config_free(&c);
}
END_TEST

START_TEST(value_spellings)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(load_text(&c,
                               "[controller]\nhost-ram = 2GiB\nmax-xfer=64kb\npoll=TRUE\ninit-time=7\n"
                               "[drive 0:0]\ncapacity = 1048576\nvendor = \"\"\nmedia = \"\"\nproduct = A  # c\n",
                               &err),
                     0);
    ck_assert_uint_eq(c.host_ram_bytes, 2ull << 30);
    ck_assert_uint_eq(c.max_xfer, 64u << 10);
    ck_assert(c.poll);
    ck_assert_uint_eq(c.init_ms, 7);
    ck_assert_uint_eq(c.lus[0].blocks, 2048);
    ck_assert_str_eq(c.lus[0].vendor, "");
    ck_assert_ptr_null(c.lus[0].media_path);
    ck_assert_str_eq(c.lus[0].product, "A");
    sim_config_free(&c);
}
END_TEST

START_TEST(block_size_alone_keeps_the_capacity_in_bytes)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(load_text(&c, "[drive 0:0]\nblock-size = 4096\n", &err), 0);
    ck_assert_uint_eq(c.lus[0].block_size, 4096);
    ck_assert_uint_eq(c.lus[0].blocks, (512ull << 20) / 4096);
    /* Capacity before block-size is resolved with the final block size. */
    ck_assert_int_eq(load_text(&c, "[drive 2:0]\ncapacity = 8K\nblock-size = 4096\n", &err), 0);
    ck_assert_uint_eq(sim_config_find_lu(&c, 2, 0)->blocks, 2);
    sim_config_free(&c);
}
END_TEST

START_TEST(later_sources_change_existing_drives)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(load_text(&c, "[drive 1:0]\nvendor = FIRST\n", &err), 0);
    /* A second file adds drives without clearing the first file's. */
    ck_assert_int_eq(load_text(&c, "[drive 1:0]\nproduct = P\n[drive 2:0]\n", &err), 0);
    ck_assert_uint_eq(c.lu_count, 2);
    ck_assert_str_eq(sim_config_find_lu(&c, 1, 0)->vendor, "FIRST");
    ck_assert_str_eq(sim_config_find_lu(&c, 1, 0)->product, "P");
    /* Limits may be raised later in the same file. */
    ck_assert_int_eq(load_text(&c, "[drive 20:0]\n[controller]\nmax-targets = 21\n", &err), 0);
    ck_assert_uint_eq(c.max_targets, 21);
    sim_config_free(&c);
}
END_TEST

/* --- command-line settings ---------------------------------------------------------- */

START_TEST(options_set_controller_keys_and_drives)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(sim_config_apply_option(&c, "max-targets=32", &err), 0);
    ck_assert_uint_eq(c.max_targets, 32);
    ck_assert_int_eq(sim_config_apply_option(&c, "iommu-policy=fatal", &err), 0);
    ck_assert_int_eq(c.iommu_policy, HBA_IOMMU_POLICY_FATAL);
    ck_assert(c.lus_are_default);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=1:0,capacity=1G,block-size=4096,battery=good", &err), 0);
    ck_assert_uint_eq(c.lu_count, 1);
    const struct sim_lu_config *lu = sim_config_find_lu(&c, 1, 0);
    ck_assert_ptr_nonnull(lu);
    ck_assert_uint_eq(lu->blocks, 262144);
    ck_assert_uint_eq(lu->block_size, 4096);
    ck_assert_int_eq(lu->battery, HBA_BATTERY_GOOD);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=2:0", &err), 0);
    ck_assert_uint_eq(c.lu_count, 2);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=1:0,product=\"A, B\",media=m.img", &err), 0);
    lu = sim_config_find_lu(&c, 1, 0);
    ck_assert_str_eq(lu->product, "A, B");
    ck_assert_str_eq(lu->media_path, "m.img");
    ck_assert_uint_eq(lu->blocks, 262144);
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    assert_round_trip(&c);
    sim_config_free(&c);
}
END_TEST

struct option_error {
    const char *setting;
    unsigned column;
    const char *message; /* a part of it */
};

START_TEST(option_errors_name_the_column)
{
    static const struct option_error cases[] = {
        { "max-targets=abc", 13, "not a number" },
        { "max-targets=999", 13, "out of range" },
        { "max-targets=3,4", 14, "unexpected ',4'" },
        { "max-target=3", 1, "did you mean 'max-targets'" },
        { "vendor=X", 1, "is a drive key" },
        { "nokey", 6, "expected KEY=VALUE" },
        { "=3", 1, "expected KEY=VALUE" },
        { "drive=1:0,capacity=1X", 21, "suffix 'X'" },
        { "drive=1:0,capasity=1G", 11, "did you mean 'capacity'" },
        { "drive=1:0,max-luns=2", 11, "is a controller key" },
        { "drive=1:0,capacity=1G,capacity=2G", 23, "given twice" },
        { "drive=1:0,capacity=1G,blocks=2", 30, "either capacity or blocks" },
        { "drive=1:0,block-size=4096,capacity=6K", 36, "not a multiple of the block size 4096" },
        { "drive=a:0", 7, "drive address T:L" },
        { "drive=1:0,", 11, "expected KEY=VALUE after ','" },
        { "drive=1:0,vendor=\"X", 18, "no closing" },
        { "drive=1:0,vendor=\"X\"Y", 21, "after the closing quote" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sim_config c;
        struct located_error err;
        sim_config_init(&c);
        ck_assert_msg(sim_config_apply_option(&c, cases[i].setting, &err) == -EINVAL, "'%s' was accepted",
                      cases[i].setting);
        ck_assert_msg(err.column == cases[i].column, "'%s': column %u, expected %u (%s)", cases[i].setting,
                      err.column, cases[i].column, err.message);
        ck_assert_msg(strstr(err.message, cases[i].message), "'%s': message '%s' lacks '%s'", cases[i].setting,
                      err.message, cases[i].message);
        ck_assert_str_eq(err.file, "");
        ck_assert_uint_eq(err.line, 0);
        /* A failed setting changes nothing: the default drive is still there. */
        ck_assert_uint_eq(c.lu_count, 1);
        ck_assert(c.lus_are_default);
        ck_assert_uint_eq(c.max_targets, 16);
        ck_assert_uint_eq(c.lus[0].blocks, 1048576);
        sim_config_free(&c);
    }
}
END_TEST

/* --- file errors ---------------------------------------------------------------------- */

struct file_error {
    const char *text;
    unsigned line, column;
    const char *message;
};

static const struct file_error file_errors[] = {
    /* unknown keys and sections */
    { "[controller]\nmax-target = 3\n", 2, 1, "did you mean 'max-targets'?" },
    { "[controller]\nfrobnicate = 3\n", 2, 1, "unknown key 'frobnicate' in [controller]; docs/config.md" },
    { "[drive 0:0]\nvender = X\n", 2, 1, "did you mean 'vendor'?" },
    { "[drive 0:0]\nmax-luns = 2\n", 2, 1, "is a controller key" },
    { "[controller]\nbattery = good\n", 2, 1, "is a drive key" },
    { "max-luns = 2\n", 1, 1, "outside a section" },
    { "[controler]\n", 1, 2, "did you mean [controller]?" },
    { "[drive0:0]\n", 1, 2, "did you mean [drive T:L]" },
    { "[disks]\n", 1, 2, "unknown section [disks]" },
    { "[controller\n", 1, 12, "missing ']'" },
    { "[drive 0:0   \n", 1, 11, "missing ']'" },
    { "[controller] x\n", 1, 14, "after the section header" },
    { "[controller]\n[controller]\n", 2, 2, "appears twice (first at line 1)" },
    { "[controller]\nseed\n", 2, 5, "expected '='" },
    { "[controller]\n= 3\n", 2, 1, "expected a key" },
    { "[controller]\nseed = 1\n\nseed = 2\n", 4, 1, "already set in this section (line 2)" },
    /* numbers */
    { "[controller]\nmax-luns = abc\n", 2, 12, "not a number" },
    { "[controller]\nmax-luns =\n", 2, 11, "needs a value" },
    { "[controller]\nmax-targets = 3x\n", 2, 16, "unexpected 'x'" },
    { "[controller]\nmax-targets = 300\n", 2, 15, "out of range; expected an integer in 1..256" },
    { "[controller]\naddr-bits = 31\n", 2, 13, "out of range" },
    { "[controller]\nseed = 99999999999999999999999\n", 2, 8, "overflows" },
    { "[controller]\nhost-ram = 256X\n", 2, 15, "unknown size suffix 'X'" },
    { "[controller]\nhost-ram = 256MX\n", 2, 15, "unknown size suffix 'MX'" },
    { "[controller]\nhost-ram = 99999999999P\n", 2, 12, "overflows 64 bits" },
    { "[controller]\nhost-ram = 2T\n", 2, 12, "out of range" },
    { "[controller]\nhost-ram = 1048577\n", 2, 12, "not a multiple of 4K" },
    { "[controller]\nmax-xfer = 4G\n", 2, 12, "out of range" },
    { "[controller]\ninit-time = 5h\n", 2, 14, "unknown time unit 'h'" },
    { "[controller]\ninit-time = 61s\n", 2, 13, "out of range" },
    { "[controller]\npoll = maybe\n", 2, 8, "not a boolean" },
    { "[controller]\niommu-policy = ignore\n", 2, 16, "use abort, drop or fatal" },
    /* drives */
    { "[drive 0:0]\n\n[drive 0:0]\n", 3, 8, "drive 0:0 is defined twice (first at line 1)" },
    { "[drive 16:0]\n", 1, 8, "target 16 is outside max-targets = 16" },
    { "[controller]\nmax-luns = 2\n[drive 1:2]\n", 3, 10, "LUN 2 is outside max-luns = 2" },
    { "[drive x:0]\n", 1, 8, "drive address T:L" },
    { "[drive 1:0:0]\n", 1, 11, "after the address" },
    { "[drive 70000:0]\n", 1, 8, "above 65535" },
    { "[drive 0:0]\nvendor = ACMECORPORATION\n", 2, 10, "15 characters; at most 8 fit" },
    { "[drive 0:0]\nproduct = 12345678901234567\n", 2, 11, "at most 16 fit" },
    { "[drive 0:0]\nrevision = 12345\n", 2, 12, "at most 4 fit" },
    { "[drive 0:0]\nserial = 123456789012345678901\n", 2, 10, "at most 20 fit" },
    { "[drive 0:0]\nvendor = \"A\tB\"\n", 2, 12, "not printable ASCII" },
    { "[drive 0:0]\nvendor = \"ACME\n", 2, 10, "no closing '\"'" },
    { "[drive 0:0]\nvendor = \"ACME\" x\n", 2, 17, "after the closing quote" },
    { "[drive 0:0]\nblock-size = 1024\n", 2, 14, "use 512 or 4096" },
    { "[drive 0:0]\nblock-size = 4096\ncapacity = 6K\n", 3, 12, "not a multiple of the block size 4096" },
    { "[drive 0:0]\ncapacity = 6K\nblock-size = 4096\n", 2, 12, "not a multiple of the block size 4096" },
    { "[drive 0:0]\ncapacity = 1000\n", 2, 12, "not a multiple of the block size 512" },
    { "[drive 0:0]\ncapacity = 0\n", 2, 12, "greater than 0" },
    { "[drive 0:0]\nblocks = 0\n", 2, 10, "greater than 0" },
    { "[drive 0:0]\ncapacity = 1G\nblocks = 3\n", 3, 10, "either capacity or blocks" },
    { "[drive 0:0]\nblock-size = 4096\nblocks = 4503599627370496\n", 3, 10, "overflow" },
    { "[drive 0:0]\nbattery = ok\n", 2, 11, "use absent, good or failed" },
    { "[drive 0:0]\nready-time = 601s\n", 2, 14, "out of range" },
    { "[drive 0:0]\nwrite-cache = 2\n", 2, 15, "not a boolean" },
    { "[drive 0:0]\ncache-size = 1K\n", 2, 14, "out of range" },
    { "[drive 0:0]\nvendor = A\0B\n", 2, 11, "NUL byte" },
};

START_TEST(file_errors_name_line_and_column)
{
    const struct file_error *e = &file_errors[_i];
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    /* One test case has an embedded NUL: write the bytes up to the final "\n". */
    char path[] = "/tmp/scsisim-test-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(e->text);
    if (strstr(e->message, "NUL"))
        len = strlen(e->text) + 1 + strlen(e->text + strlen(e->text) + 1);
    ck_assert_int_eq(write(fd, e->text, len), (ssize_t)len);
    close(fd);
    int rc = sim_config_load_file(&c, path, &err);
    unlink(path);
    ck_assert_msg(rc == -EINVAL, "case %d was accepted", _i);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(err.line == e->line && err.column == e->column, "case %d: at %u:%u, expected %u:%u (%s)", _i,
                  err.line, err.column, e->line, e->column, err.message);
    ck_assert_msg(strstr(err.message, e->message), "case %d: message '%s' lacks '%s'", _i, err.message,
                  e->message);
    /* A failed load changes nothing. */
    ck_assert(c.lus_are_default);
    ck_assert_uint_eq(c.lu_count, 1);
    ck_assert_uint_eq(c.max_luns, 8);
    sim_config_free(&c);
}
END_TEST

START_TEST(block_size_change_that_breaks_the_capacity)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=0:0,blocks=3", &err), 0);
    ck_assert_int_eq(load_text(&c, "# 3 blocks of 512 are not whole 4K blocks\n[drive 0:0]\nblock-size = 4096\n", &err),
                     -EINVAL);
    ck_assert_uint_eq(err.line, 3);
    ck_assert_uint_eq(err.column, 14);
    ck_assert_ptr_nonnull(strstr(err.message, "set capacity or blocks too"));
    sim_config_free(&c);
}
END_TEST

START_TEST(missing_file_is_reported)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(sim_config_load_file(&c, "/nonexistent/scsisim.conf", &err), -ENOENT);
    ck_assert_str_eq(err.file, "/nonexistent/scsisim.conf");
    ck_assert_ptr_nonnull(strstr(err.message, "cannot open"));
    char msg[600];
    located_format(&err, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "/nonexistent/scsisim.conf: error: cannot open"));
    sim_config_free(&c);
}
END_TEST

START_TEST(errors_format_with_their_place)
{
    struct located_error e = { .file = "a.conf", .line = 3, .column = 7, .message = "bad" };
    char msg[600];
    located_format(&e, msg, sizeof msg);
    ck_assert_str_eq(msg, "a.conf:3:7: error: bad");
    e.file[0] = '\0';
    e.line = 0;
    located_format(&e, msg, sizeof msg);
    ck_assert_str_eq(msg, "column 7: error: bad");
    e.column = 0;
    located_format(&e, msg, sizeof msg);
    ck_assert_str_eq(msg, "error: bad");
}
END_TEST

/* --- validation ------------------------------------------------------------------------- */

static void expect_invalid(struct sim_config *c, const char *part)
{
    struct located_error err;
    ck_assert_int_eq(sim_config_validate(c, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, part), "message '%s' lacks '%s'", err.message, part);
}

START_TEST(validate_catches_hand_built_mistakes)
{
    struct sim_config c;
    sim_config_init(&c);
    c.max_targets = 0;
    expect_invalid(&c, "max-targets = 0 is out of range");
    c.max_targets = 16;
    c.host_ram_bytes = (1ull << 20) + 1;
    expect_invalid(&c, "host-ram");
    c.host_ram_bytes = 1ull << 30;
    c.iommu_policy = (enum hba_iommu_policy)7;
    expect_invalid(&c, "not a policy");
    c.iommu_policy = HBA_IOMMU_POLICY_DROP;

    sim_config_lu(&c, 16, 0);
    expect_invalid(&c, "drive 16:0: target 16 is outside max-targets");
    c.lus[1].target = 1;
    c.lus[1].lun = 8;
    expect_invalid(&c, "LUN 8 is outside max-luns");
    c.lus[1].lun = 0;
    c.lus[1].block_size = 1000;
    expect_invalid(&c, "block-size 1000");
    c.lus[1].block_size = 4096;
    c.lus[1].blocks = 0;
    expect_invalid(&c, "capacity is 0");
    c.lus[1].blocks = UINT64_MAX / 1024;
    expect_invalid(&c, "overflow");
    c.lus[1].blocks = 1;
    memset(c.lus[1].vendor, 'A', sizeof c.lus[1].vendor);
    expect_invalid(&c, "vendor is not terminated");
    snprintf(c.lus[1].vendor, sizeof c.lus[1].vendor, "A\x01");
    expect_invalid(&c, "printable ASCII");
    snprintf(c.lus[1].vendor, sizeof c.lus[1].vendor, "OK");
    c.lus[1].battery = (enum hba_battery)5;
    expect_invalid(&c, "not a battery state");
    c.lus[1].battery = HBA_BATTERY_GOOD;
    c.lus[1].ready_ms = 600001;
    expect_invalid(&c, "ready-time");
    c.lus[1].ready_ms = 0;
    c.lus[1].lun = 0;
    c.lus[1].target = 0; /* same as drive 0:0 */
    expect_invalid(&c, "defined twice");
    c.lus[1].target = 1;
    struct located_error err;
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    /* No drives at all is a valid (empty) controller. */
    sim_config_clear_lus(&c);
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    sim_config_free(&c);
}
END_TEST

/* --- round trips ------------------------------------------------------------------------- */

START_TEST(print_then_load_is_the_identity)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    assert_round_trip(&c); /* the defaults */

    c.max_xfer = 0xFFFFF000u;
    c.host_ram_bytes = (3ull << 30) + 4096;
    c.seed = UINT64_MAX;
    c.init_ms = 0;
    c.max_sgl_depth = 0;
    struct sim_lu_config *lu = sim_config_lu(&c, 7, 5);
    ck_assert_ptr_nonnull(lu);
    lu->blocks = 3;
    lu->block_size = 512;
    snprintf(lu->product, sizeof lu->product, "q\"uo\\te # x");
    snprintf(lu->vendor, sizeof lu->vendor, " pad ");
    lu->media_path = strdup("with space/and#hash,comma.img");
    lu = sim_config_lu(&c, 0, 7);
    lu->block_size = 4096;
    lu->blocks = UINT64_MAX / 4096;
    ck_assert_int_eq(sim_config_validate(&c, &err), 0);
    assert_round_trip(&c);
    sim_config_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_match_the_header);
    tcase_add_test(tc, drive_list_add_find_clear_copy);
    tcase_add_test(tc, every_key_is_settable_from_a_file);
    tcase_add_test(tc, value_spellings);
    tcase_add_test(tc, block_size_alone_keeps_the_capacity_in_bytes);
    tcase_add_test(tc, later_sources_change_existing_drives);
    tcase_add_test(tc, options_set_controller_keys_and_drives);
    tcase_add_test(tc, option_errors_name_the_column);
    tcase_add_loop_test(tc, file_errors_name_line_and_column, 0,
                        (int)(sizeof file_errors / sizeof file_errors[0]));
    tcase_add_test(tc, block_size_change_that_breaks_the_capacity);
    tcase_add_test(tc, missing_file_is_reported);
    tcase_add_test(tc, errors_format_with_their_place);
    tcase_add_test(tc, validate_catches_hand_built_mistakes);
    tcase_add_test(tc, print_then_load_is_the_identity);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
