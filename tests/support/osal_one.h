/* tests/support/osal_one.h — the fixture the osal_user DMA tests share: one
 * osal_user per test on a fake bus (osal_fixture.h) of OSAL_ONE_RAM bytes and
 * 4 vectors, in the globals F, L and OS, made by setup (check's fixture) or
 * open_with (other options) and closed by teardown.  Header-only because each
 * test program has its own globals; the helpers are static inline so a test
 * that uses only some of them still builds with -Werror. */
#ifndef TESTS_SUPPORT_OSAL_ONE_H
#define TESTS_SUPPORT_OSAL_ONE_H

#include "platform/osal_user.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"

#define OSAL_ONE_RAM (1u << 20)
#define OSAL_ONE_PAGE 4096u

static struct of_fake F;
static struct of_log L;
static struct osal *OS;

static inline void open_with(const struct osal_user_options *o)
{
    OS = of_osal_open(&F, &L, OSAL_ONE_RAM, 4, o);
}

static inline void setup(void)
{
    open_with(NULL);
}

static inline void teardown(void)
{
    of_osal_close(&F, &L, OS);
    OS = NULL;
}

/* A page-aligned DMA buffer of len bytes (the test fails without one). */
static inline struct osal_dma_buffer *alloc_page_aligned(uint64_t len)
{
    struct osal_dma_buffer *b = NULL;
    ck_assert_int_eq(osal_dma_alloc(OS, len, OSAL_ONE_PAGE, &b), 0);
    return b;
}

static inline struct osal_user_stats stats(void)
{
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    return s;
}

/* Switches OS to a fresh fake bus g and returns the one IOMMU map the switch
 * replayed there (the test fails unless there is exactly one). */
static inline struct of_call switch_bus_one_replay(struct of_fake *g)
{
    of_fake_open(g, OSAL_ONE_RAM, 4);
    ck_assert_int_eq(osal_user_set_bus(OS, g->bus), 0);
    struct of_call c;
    ck_assert_uint_eq(of_rec_count(&g->rec, 'm'), 1);
    ck_assert(of_rec_get(&g->rec, 'm', 0, &c));
    return c;
}

/* Back to the fixture's bus F, and g closed. */
static inline void switch_bus_back(struct of_fake *g)
{
    ck_assert_int_eq(osal_user_set_bus(OS, F.bus), 0);
    of_fake_close(g);
}

#endif
