/* tests/support/iscsi_client_libiscsi.c — sessions through libiscsi (see
 * iscsi_client.h).  Its own file: libiscsi's headers and scsi/scsi.h define
 * the same names and cannot meet in one translation unit. */
#include "tests/support/iscsi_client.h"

#include <check.h>
#include <iscsi/iscsi.h>
#include <poll.h>
#include <stdio.h>

#include "base/clock.h"
#include "tests/support/proc.h"

struct iscsi_context *client_new(const char *initiator, const char *target)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator ? initiator : ISCSI_TEST_INITIATOR);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(iscsi_set_targetname(ctx, target ? target : ISCSI_TEST_IQN), 0);
    ck_assert_int_eq(iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL), 0);
    iscsi_set_timeout(ctx, 10);
    return ctx;
}

int client_login(struct iscsi_context *ctx, struct iscsi_test_server *s)
{
    return iscsi_full_connect_sync(ctx, iscsi_test_server_portal(s), 0);
}

struct iscsi_context *client_connect(struct iscsi_test_server *s)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    int r = client_login(ctx, s);
    ck_assert_msg(r == 0, "login failed: %s", iscsi_get_error(ctx));
    return ctx;
}

void client_free(struct iscsi_context *ctx)
{
    if (!ctx)
        return;
    if (iscsi_is_logged_in(ctx))
        iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
}

void client_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
}

bool client_service_until(struct iscsi_context *ctx, const int *flag, int timeout_ms)
{
    long end = (long)clock_now_ms() + timeout_ms;
    while (!*flag) {
        long left = end - (long)clock_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = { .fd = iscsi_get_fd(ctx), .events = (short)iscsi_which_events(ctx) };
        int r = poll(&pfd, 1, left > 50 ? 50 : (int)left);
        if (r < 0)
            return false;
        if (iscsi_service(ctx, r > 0 ? pfd.revents : 0) < 0)
            return false;
    }
    return true;
}

void client_service_for(struct iscsi_context *ctx, int ms)
{
    int never = 0;
    client_service_until(ctx, &never, ms);
}

bool wait_for(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    while (!cond(arg)) {
        if (clock_now_ms() >= end)
            return false;
        proc_sleep_ms(2);
    }
    return true;
}
